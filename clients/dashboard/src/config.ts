/** config.json, fetched at start from the page's own origin: where the hub is and how to sign
 * in. Locally the emulator generates it; deployed, the CDK stack does (from its outputs). */

export interface TokenAuthConfig {
  /** Paste a token (locally: the `#token=` link `make dev` prints, or `make -s token`). */
  mode: "token";
}

export interface OidcAuthConfig {
  /** The authorization-code flow with PKCE (S256) against Cognito's managed sign-in or any
   * OIDC issuer. */
  mode: "oidc";
  authorizeUrl: string;
  tokenUrl: string;
  logoutUrl: string;
  clientId: string;
  scopes: string[];
  redirectUri: string;
}

export type AuthConfig = TokenAuthConfig | OidcAuthConfig;

export interface DashboardConfig {
  /** The WebSocket URL, without the token (`ws://127.0.0.1:8000/ws`, `wss://…/prod`). */
  wsUrl: string;
  /** The REST base URL (`…/api/admin/realtime`). */
  restUrl: string;
  auth: AuthConfig;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Checks and normalizes config.json: URLs may be relative to the page; the WebSocket URL
 * may be given as http(s) (it becomes ws(s)). */
export function parseConfig(raw: unknown, pageUrl: string): DashboardConfig {
  const config = object(raw, "config.json");
  const wsUrl = url(config.wsUrl, "wsUrl", pageUrl);
  if (wsUrl.protocol === "http:") wsUrl.protocol = "ws:";
  if (wsUrl.protocol === "https:") wsUrl.protocol = "wss:";
  if (wsUrl.protocol !== "ws:" && wsUrl.protocol !== "wss:") throw new ConfigError("wsUrl must be a ws:// or wss:// URL");
  const restUrl = url(config.restUrl, "restUrl", pageUrl);
  if (restUrl.protocol !== "http:" && restUrl.protocol !== "https:") throw new ConfigError("restUrl must be an http(s) URL");
  const auth = object(config.auth, "auth");
  let parsed: AuthConfig;
  if (auth.mode === "token") {
    parsed = { mode: "token" };
  } else if (auth.mode === "oidc") {
    const scopes = auth.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => typeof scope === "string" && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))) {
      throw new ConfigError("auth.scopes must be a non-empty list of scope names");
    }
    parsed = {
      mode: "oidc",
      authorizeUrl: secureUrl(auth.authorizeUrl, "auth.authorizeUrl"),
      tokenUrl: secureUrl(auth.tokenUrl, "auth.tokenUrl"),
      logoutUrl: secureUrl(auth.logoutUrl, "auth.logoutUrl"),
      clientId: text(auth.clientId, "auth.clientId"),
      scopes: [...(scopes as string[])],
      redirectUri: secureUrl(auth.redirectUri, "auth.redirectUri"),
    };
  } else {
    throw new ConfigError('auth.mode must be "token" or "oidc"');
  }
  return { wsUrl: wsUrl.toString(), restUrl: restUrl.toString().replace(/\/+$/, ""), auth: parsed };
}

/** Fetches and parses config.json next to the page (never from a cache). */
export async function loadConfig(fetcher: typeof fetch = fetch, pageUrl = location.href): Promise<DashboardConfig> {
  const address = new URL("config.json", pageUrl);
  let response: Response;
  try {
    response = await fetcher(address, { cache: "no-store", credentials: "same-origin" });
  } catch (error) {
    throw new ConfigError(`could not fetch ${address.pathname}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new ConfigError(`${address.pathname} answered ${response.status}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ConfigError(`${address.pathname} is not JSON`);
  }
  return parseConfig(body, pageUrl);
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new ConfigError(`${what} must be a non-empty string`);
  return value;
}

function url(value: unknown, what: string, base: string): URL {
  try {
    return new URL(text(value, what), base);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${what} is not a URL`);
  }
}

/** Sign-in URLs: absolute, https (http only on this machine's loopback, for tests). */
function secureUrl(value: unknown, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(text(value, what));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${what} must be an absolute URL`);
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && LOOPBACK.has(parsed.hostname))) {
    throw new ConfigError(`${what} must be an https URL`);
  }
  return parsed.toString();
}
