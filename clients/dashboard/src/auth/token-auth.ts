/** Local sign-in: a token handed over in the URL fragment (`#token=…`, which browsers never
 * send to a server), or pasted into the sign-in form. It is kept in sessionStorage and
 * removed from the address bar at once. */
import { looksLikeJwt } from "./jwt";
import { SignInRequired, type AuthSession } from "./session";
import type { KeyValueStore } from "./storage";

export const TOKEN_KEY = "realtime-dashboard.token";

export interface AddressBar {
  readonly hash: string;
  readonly pathname: string;
  readonly search: string;
}

export interface HistoryLike {
  readonly state: unknown;
  replaceState(state: unknown, unused: string, url: string): void;
}

export class TokenAuth implements AuthSession {
  readonly mode = "token" as const;

  constructor(private readonly storage: KeyValueStore) {}

  /** Takes `#token=` out of the address bar into storage (a new token replaces the stored one). */
  static fromLocation(location: AddressBar, history: HistoryLike, storage: KeyValueStore): TokenAuth {
    const auth = new TokenAuth(storage);
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
    const token = fragment.get("token");
    if (token !== null) {
      fragment.delete("token");
      const rest = fragment.toString();
      history.replaceState(history.state, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
      if (token.trim()) auth.store(token.trim());
    }
    return auth;
  }

  get token(): string | undefined {
    return this.storage.getItem(TOKEN_KEY) ?? undefined;
  }

  /** A pasted token (surrounding whitespace and a leading `Bearer ` are forgiven). */
  signIn(input: string): void {
    const token = input.trim().replace(/^Bearer\s+/i, "");
    if (!looksLikeJwt(token)) throw new SignInRequired("failed", "That is not a JWT (three base64url parts separated by dots).");
    this.store(token);
  }

  async getToken(): Promise<string> {
    const token = this.token;
    if (!token) throw new SignInRequired("none", "No token: paste one to sign in.");
    return token;
  }

  signOut(): void {
    this.storage.removeItem(TOKEN_KEY);
  }

  invalidate(): void {
    this.storage.removeItem(TOKEN_KEY);
  }

  private store(token: string): void {
    this.storage.setItem(TOKEN_KEY, token);
  }
}
