/** What the dashboard needs from a sign-in mode: a token for the SDK's `getToken` (and REST),
 * and a way out. Both modes keep tokens in the tab's sessionStorage and send them only as
 * the SDK does: the WebSocket's `?token=` and REST's `Authorization` header. */
import type { MeResponse } from "@realtime-hub/client";

export type SignInReason = "none" | "expired" | "forbidden" | "failed";

/** No usable token: show the sign-in form (with why). */
export class SignInRequired extends Error {
  override name = "SignInRequired";
  constructor(
    readonly reason: SignInReason,
    message: string,
  ) {
    super(message);
  }
}

export interface AuthSession {
  readonly mode: "token" | "oidc";
  /** A valid token (refreshed first when it nears expiry); rejects with SignInRequired. */
  getToken(): Promise<string>;
  /** Forget the tokens (and, with OIDC, end the issuer's session). */
  signOut(): void;
  /** The current token was refused by the hub: forget it without leaving the page. */
  invalidate(): void;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** `GET {restUrl}/me`: who the token is (200), or SignInRequired (401: expired, wrongly signed…). */
export async function whoAmI(restUrl: string, token: string, fetcher: Fetch = (input, init) => fetch(input, init)): Promise<MeResponse> {
  const response = await fetcher(`${restUrl}/me`, {
    headers: { Authorization: `Bearer ${token}` },
    cache: "no-store",
    credentials: "omit",
  });
  if (response.status === 401) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new SignInRequired("expired", body.message ? `The token was refused: ${body.message}` : "The token is expired or invalid.");
  }
  if (!response.ok) throw new Error(`GET /me answered ${response.status}`);
  return (await response.json()) as MeResponse;
}
