/** Reconnect delays: capped exponential backoff with full jitter (a uniformly random delay
 * below the cap), so a fleet of dashboards dropped at once does not come back at once. */
export interface BackoffOptions {
  /** The cap of the first retry's delay, then doubled per failed attempt. Default 1,000 ms. */
  initialDelayMs?: number;
  /** The largest cap. Default 30,000 ms. */
  maxDelayMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialDelayMs: 1_000, maxDelayMs: 30_000 };

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: Required<BackoffOptions>, random = Math.random): number {
  const cap = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
