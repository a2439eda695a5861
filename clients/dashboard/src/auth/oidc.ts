/** Deployed sign-in: the OAuth 2.0 authorization-code flow with PKCE (S256) in the browser,
 * against Cognito's managed sign-in or any OIDC issuer (the endpoints come from config.json).
 *
 * - No client secret (a public client); the code verifier never leaves the tab before the
 *   token request, and `state` (CSRF) and `nonce` (the ID token's replay) are checked.
 * - Tokens live in memory and in the tab's sessionStorage (a reload keeps the session,
 *   closing the tab ends it), and are refreshed with the refresh token before they expire:
 *   on a timer, and whenever `getToken` finds them close to expiry (the SDK asks before every
 *   connect and before its own refresh on the open connection).
 * - The access token goes to the hub (Cognito's carries `client_id`, which the hub checks as
 *   the audience); the ID token serves only as `id_token_hint` when signing out.
 */
import type { OidcAuthConfig } from "../config";
import { expiresAt, readClaims } from "./jwt";
import { createPkce, randomToken } from "./pkce";
import { SignInRequired, type AuthSession, type Fetch } from "./session";
import type { KeyValueStore } from "./storage";

export const TOKENS_KEY = "realtime-dashboard.oidc.tokens";
export const PENDING_KEY = "realtime-dashboard.oidc.pending";
/** A sign-in that has not come back within this long is void. */
export const PENDING_MAX_AGE_MS = 10 * 60_000;
/** Refresh this long before expiry (at most half the lifetime): before the SDK's own margin
 * (60 s), so the token it asks for is always a fresh one. */
export const REFRESH_MARGIN_MS = 120_000;
/** After a failed refresh that may succeed later (network, 5xx). */
export const RETRY_MS = 15_000;
/** When the token endpoint gives no `expires_in` and the token no `exp`. */
const DEFAULT_LIFETIME_MS = 3_600_000;
/** Token endpoint errors after which only a new sign-in helps. */
const TERMINAL_ERRORS = new Set(["invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"]);

export interface OidcTokens {
  accessToken: string;
  idToken?: string;
  refreshToken?: string;
  /** ms since the epoch */
  expiresAt: number;
  obtainedAt: number;
}

interface Pending {
  state: string;
  verifier: string;
  nonce: string;
  createdAt: number;
}

export interface OidcEnvironment {
  fetch: Fetch;
  storage: KeyValueStore;
  crypto: Crypto;
  now: () => number;
  /** Leaves the page (to the issuer's sign-in or sign-out). */
  navigate: (url: string) => void;
  /** Rewrites the address bar (removes `code` and `state`). */
  replaceUrl: (url: string) => void;
  setTimer: (task: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
}

export function browserEnvironment(storage: KeyValueStore): OidcEnvironment {
  return {
    fetch: (input, init) => fetch(input, init),
    storage,
    crypto: globalThis.crypto,
    now: () => Date.now(),
    navigate: (url) => location.assign(url),
    replaceUrl: (url) => history.replaceState(history.state, "", url),
    setTimer: (task, ms) => setTimeout(task, ms),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

/** The issuer refused (an `error` from the authorization or token endpoint), or the callback
 * does not match the sign-in this tab started. */
export class OidcError extends Error {
  override name = "OidcError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class OidcAuth implements AuthSession {
  readonly mode = "oidc" as const;
  private tokens: OidcTokens | undefined;
  private refreshing: Promise<OidcTokens> | undefined;
  private timer: unknown;
  private readonly signedOutListeners = new Set<(reason: SignInRequired) => void>();

  constructor(
    private readonly config: OidcAuthConfig,
    private readonly env: OidcEnvironment,
  ) {
    this.tokens = this.load();
    this.schedule();
  }

  /** Tokens are held (the access token may need a refresh first). */
  get signedIn(): boolean {
    return this.tokens !== undefined;
  }

  get current(): Readonly<OidcTokens> | undefined {
    return this.tokens;
  }

  /** Called when the session ends by itself (the refresh token was refused or is missing). */
  onSignedOut(listener: (reason: SignInRequired) => void): () => void {
    this.signedOutListeners.add(listener);
    return () => this.signedOutListeners.delete(listener);
  }

  /** Goes to the issuer's sign-in page; it comes back to `redirectUri` with a code. */
  async beginSignIn(): Promise<void> {
    const pkce = await createPkce(this.env.crypto);
    const pending: Pending = {
      state: randomToken(16, this.env.crypto),
      verifier: pkce.verifier,
      nonce: randomToken(16, this.env.crypto),
      createdAt: this.env.now(),
    };
    this.env.storage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(this.config.authorizeUrl);
    const parameters = {
      response_type: "code",
      client_id: this.config.clientId,
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes.join(" "),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: pkce.challenge,
      code_challenge_method: pkce.method,
    };
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    this.env.navigate(url.toString());
  }

  /** The issuer sending the browser back: `redirectUri` with `state` and a `code` or an `error`. */
  isCallback(url: URL): boolean {
    const redirect = new URL(this.config.redirectUri);
    const parameters = url.searchParams;
    return (
      url.origin === redirect.origin &&
      url.pathname === redirect.pathname &&
      parameters.has("state") &&
      (parameters.has("code") || parameters.has("error"))
    );
  }

  /** Exchanges the callback's code for tokens. The address bar loses `code` and `state`
   * whatever happens (a code is single-use). */
  async completeSignIn(url: URL): Promise<void> {
    const saved = this.env.storage.getItem(PENDING_KEY);
    this.env.storage.removeItem(PENDING_KEY);
    const clean = new URL(url);
    for (const name of ["code", "state", "error", "error_description", "error_uri", "session_state", "iss"]) {
      clean.searchParams.delete(name);
    }
    this.env.replaceUrl(`${clean.pathname}${clean.search}${clean.hash}`);

    const error = url.searchParams.get("error");
    if (error) throw new OidcError(error, url.searchParams.get("error_description") || `the sign-in was refused (${error})`);
    const pending = parsePending(saved);
    if (!pending || pending.state !== url.searchParams.get("state")) {
      throw new OidcError("state_mismatch", "This sign-in was not started from this tab (or was already used): sign in again.");
    }
    if (this.env.now() - pending.createdAt > PENDING_MAX_AGE_MS) {
      throw new OidcError("expired", "The sign-in took too long: sign in again.");
    }
    const tokens = await this.tokenRequest({
      grant_type: "authorization_code",
      code: url.searchParams.get("code") ?? "",
      redirect_uri: this.config.redirectUri,
      client_id: this.config.clientId,
      code_verifier: pending.verifier,
    });
    if (tokens.idToken !== undefined) {
      const nonce = readClaims(tokens.idToken)?.nonce;
      if (nonce !== undefined && nonce !== pending.nonce) throw new OidcError("nonce_mismatch", "The ID token was not issued for this sign-in.");
    }
    this.save(tokens);
  }

  async getToken(): Promise<string> {
    const tokens = this.tokens;
    if (!tokens) throw new SignInRequired("none", "Sign in to continue.");
    if (this.env.now() < refreshDue(tokens)) return tokens.accessToken;
    try {
      return (await this.refresh()).accessToken;
    } catch (error) {
      if (error instanceof SignInRequired) throw error;
      // The issuer is unreachable for now: the current token still works until it expires.
      if (this.env.now() < tokens.expiresAt) return tokens.accessToken;
      throw error;
    }
  }

  /** One refresh at a time: concurrent callers share it. */
  refresh(): Promise<OidcTokens> {
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  signOut(): void {
    const idToken = this.tokens?.idToken;
    this.forget();
    const url = new URL(this.config.logoutUrl);
    url.searchParams.set("client_id", this.config.clientId);
    url.searchParams.set("logout_uri", this.config.redirectUri); // Cognito's name
    url.searchParams.set("post_logout_redirect_uri", this.config.redirectUri); // OIDC RP-initiated logout's
    if (idToken !== undefined) url.searchParams.set("id_token_hint", idToken);
    this.env.navigate(url.toString());
  }

  /** The hub refused the access token: the next `getToken` refreshes it first. */
  invalidate(): void {
    if (!this.tokens) return;
    this.save({ ...this.tokens, expiresAt: Math.min(this.tokens.expiresAt, this.env.now()) });
  }

  dispose(): void {
    this.env.clearTimer(this.timer);
    this.timer = undefined;
    this.signedOutListeners.clear();
  }

  private async refreshOnce(): Promise<OidcTokens> {
    const tokens = this.tokens;
    if (!tokens?.refreshToken) {
      throw this.end(new SignInRequired("expired", "The session expired: sign in again."));
    }
    try {
      const next = await this.tokenRequest(
        { grant_type: "refresh_token", refresh_token: tokens.refreshToken, client_id: this.config.clientId },
        tokens,
      );
      if (this.tokens?.refreshToken !== tokens.refreshToken) return next; // signed out meanwhile
      this.save(next);
      return next;
    } catch (error) {
      if (error instanceof OidcError && TERMINAL_ERRORS.has(error.code)) {
        throw this.end(new SignInRequired("expired", `The session ended (${error.message}): sign in again.`));
      }
      this.schedule(RETRY_MS);
      throw error;
    }
  }

  private async tokenRequest(parameters: Record<string, string>, previous?: OidcTokens): Promise<OidcTokens> {
    let response: Response;
    try {
      response = await this.env.fetch(this.config.tokenUrl, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: new URLSearchParams(parameters).toString(),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      throw new OidcError("network", `The sign-in service could not be reached (${(error as Error).message}).`);
    }
    const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!response.ok) {
      const code = typeof body?.error === "string" ? body.error : `http_${response.status}`;
      const description = typeof body?.error_description === "string" ? body.error_description : `the token endpoint answered ${response.status}`;
      throw new OidcError(code, description);
    }
    const accessToken = body?.access_token;
    if (typeof accessToken !== "string" || accessToken === "") throw new OidcError("invalid_response", "The token endpoint sent no access token.");
    const tokenType = body?.token_type;
    if (typeof tokenType === "string" && tokenType.toLowerCase() !== "bearer") {
      throw new OidcError("invalid_response", `Unexpected token type ${tokenType}.`);
    }
    const now = this.env.now();
    const expiresIn = body?.expires_in;
    const expiry =
      typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0
        ? now + expiresIn * 1000
        : (expiresAt(accessToken) ?? now + DEFAULT_LIFETIME_MS);
    const idToken = typeof body?.id_token === "string" ? body.id_token : previous?.idToken;
    // Cognito does not rotate refresh tokens unless configured to: keep the one we have.
    const refreshToken = typeof body?.refresh_token === "string" ? body.refresh_token : previous?.refreshToken;
    return {
      accessToken,
      expiresAt: expiry,
      obtainedAt: now,
      ...(idToken !== undefined ? { idToken } : {}),
      ...(refreshToken !== undefined ? { refreshToken } : {}),
    };
  }

  private save(tokens: OidcTokens): void {
    this.tokens = tokens;
    this.env.storage.setItem(TOKENS_KEY, JSON.stringify(tokens));
    this.schedule();
  }

  private load(): OidcTokens | undefined {
    try {
      const saved = JSON.parse(this.env.storage.getItem(TOKENS_KEY) ?? "null") as Partial<OidcTokens> | null;
      if (saved && typeof saved.accessToken === "string" && typeof saved.expiresAt === "number" && typeof saved.obtainedAt === "number") {
        return saved as OidcTokens;
      }
    } catch {
      // unreadable: as if signed out
    }
    this.env.storage.removeItem(TOKENS_KEY);
    return undefined;
  }

  /** The refresh timer: before expiry, or `delayMs` from now. */
  private schedule(delayMs?: number): void {
    this.env.clearTimer(this.timer);
    this.timer = undefined;
    const tokens = this.tokens;
    if (!tokens?.refreshToken) return;
    const delay = delayMs ?? Math.max(0, refreshDue(tokens) - this.env.now());
    this.timer = this.env.setTimer(() => {
      this.timer = undefined;
      this.refresh().catch(() => {}); // failures reschedule themselves or end the session
    }, delay);
  }

  private forget(): void {
    this.tokens = undefined;
    this.env.storage.removeItem(TOKENS_KEY);
    this.env.storage.removeItem(PENDING_KEY);
    this.env.clearTimer(this.timer);
    this.timer = undefined;
  }

  private end(reason: SignInRequired): SignInRequired {
    this.forget();
    for (const listener of [...this.signedOutListeners]) listener(reason);
    return reason;
  }
}

function refreshDue(tokens: OidcTokens): number {
  const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
  return tokens.expiresAt - Math.min(REFRESH_MARGIN_MS, lifetime / 2);
}

function parsePending(saved: string | null): Pending | undefined {
  try {
    const pending = JSON.parse(saved ?? "null") as Partial<Pending> | null;
    if (pending && typeof pending.state === "string" && typeof pending.verifier === "string" && typeof pending.nonce === "string" && typeof pending.createdAt === "number") {
      return pending as Pending;
    }
  } catch {
    // a broken record: no sign-in pending
  }
  return undefined;
}
