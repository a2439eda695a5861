/** The authorization-code flow with PKCE against a fake token endpoint and a fake clock. */
import { beforeEach, describe, expect, it, vi } from "vitest";
import { OidcAuth, OidcError, PENDING_KEY, REFRESH_MARGIN_MS, RETRY_MS, TOKENS_KEY, type OidcEnvironment } from "../../src/auth/oidc";
import { s256Challenge } from "../../src/auth/pkce";
import { SignInRequired } from "../../src/auth/session";
import { MemoryStore } from "../../src/auth/storage";
import type { OidcAuthConfig } from "../../src/config";

const config: OidcAuthConfig = {
  mode: "oidc",
  authorizeUrl: "https://hub.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
  tokenUrl: "https://hub.auth.eu-west-1.amazoncognito.com/oauth2/token",
  logoutUrl: "https://hub.auth.eu-west-1.amazoncognito.com/logout",
  clientId: "client-123",
  scopes: ["openid", "email", "profile"],
  redirectUri: "https://d111.cloudfront.net/",
};

function jwt(claims: object): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "RS256" })}.${encode(claims)}.sig`;
}

interface Call {
  url: string;
  body: URLSearchParams;
  headers: Record<string, string>;
}

class Harness {
  now = Date.parse("2030-01-01T00:00:00Z");
  storage = new MemoryStore();
  navigations: string[] = [];
  replaced: string[] = [];
  calls: Call[] = [];
  timers: { at: number; task: () => void; id: number }[] = [];
  answers: ((call: Call) => { status: number; body: unknown } | Error)[] = [];
  private nextId = 1;

  env(): OidcEnvironment {
    return {
      fetch: async (url, init) => {
        const call = { url: String(url), body: new URLSearchParams(String(init?.body ?? "")), headers: init?.headers as Record<string, string> };
        this.calls.push(call);
        const answer = this.answers.shift();
        if (!answer) throw new Error(`unexpected fetch ${url}`);
        const result = answer(call);
        if (result instanceof Error) throw result;
        return new Response(JSON.stringify(result.body), { status: result.status, headers: { "Content-Type": "application/json" } });
      },
      storage: this.storage,
      crypto: globalThis.crypto,
      now: () => this.now,
      navigate: (url) => this.navigations.push(url),
      replaceUrl: (url) => this.replaced.push(url),
      setTimer: (task, ms) => {
        const id = this.nextId++;
        this.timers.push({ at: this.now + ms, task, id });
        return id;
      },
      clearTimer: (handle) => {
        this.timers = this.timers.filter((timer) => timer.id !== handle);
      },
    };
  }

  answer(status: number, body: unknown): void {
    this.answers.push(() => ({ status, body }));
  }

  /** Moves the clock and runs the timers that come due. */
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= this.now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      due.task();
      await flush();
    }
  }
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

let harness: Harness;
beforeEach(() => {
  harness = new Harness();
});

async function signedIn(tokens: Record<string, unknown> = {}) {
  const auth = new OidcAuth(config, harness.env());
  await auth.beginSignIn();
  const authorize = new URL(harness.navigations[0]!);
  harness.answer(200, { access_token: "access-1", id_token: jwt({ sub: "alice", nonce: authorize.searchParams.get("nonce") }), refresh_token: "refresh-1", expires_in: 3600, token_type: "Bearer", ...tokens });
  await auth.completeSignIn(new URL(`https://d111.cloudfront.net/?code=the-code&state=${authorize.searchParams.get("state")}`));
  return auth;
}

describe("sign-in", () => {
  it("redirects to the authorize endpoint with PKCE S256, state and nonce", async () => {
    const auth = new OidcAuth(config, harness.env());
    await auth.beginSignIn();
    const url = new URL(harness.navigations[0]!);
    expect(`${url.origin}${url.pathname}`).toBe(config.authorizeUrl);
    const parameters = Object.fromEntries(url.searchParams);
    expect(parameters).toMatchObject({ response_type: "code", client_id: "client-123", redirect_uri: "https://d111.cloudfront.net/", scope: "openid email profile", code_challenge_method: "S256" });
    expect(parameters.state).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(parameters.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const pending = JSON.parse(harness.storage.getItem(PENDING_KEY)!);
    expect(pending.state).toBe(parameters.state);
    expect(parameters.code_challenge).toBe(await s256Challenge(pending.verifier));
    expect(url.searchParams.has("code_verifier")).toBe(false); // the verifier stays in the tab
  });

  it("exchanges the code with the verifier, stores the tokens and cleans the address bar", async () => {
    const auth = await signedIn();
    const exchange = harness.calls[0]!;
    expect(exchange.url).toBe(config.tokenUrl);
    expect(exchange.headers["Content-Type"]).toBe("application/x-www-form-urlencoded");
    const verifier = exchange.body.get("code_verifier")!;
    expect(Object.fromEntries(exchange.body)).toEqual({
      grant_type: "authorization_code",
      code: "the-code",
      redirect_uri: "https://d111.cloudfront.net/",
      client_id: "client-123",
      code_verifier: verifier,
    });
    expect(exchange.body.has("client_secret")).toBe(false);
    expect(harness.replaced).toEqual(["/"]);
    expect(harness.storage.getItem(PENDING_KEY)).toBeNull();
    expect(await auth.getToken()).toBe("access-1");
    expect(JSON.parse(harness.storage.getItem(TOKENS_KEY)!)).toMatchObject({ accessToken: "access-1", refreshToken: "refresh-1", expiresAt: harness.now + 3_600_000 });
    expect(auth.isCallback(new URL("https://d111.cloudfront.net/"))).toBe(false);
  });

  it("recognizes the callback only at the redirect URI, with a state", () => {
    const auth = new OidcAuth(config, harness.env());
    expect(auth.isCallback(new URL("https://d111.cloudfront.net/?code=c&state=s"))).toBe(true);
    expect(auth.isCallback(new URL("https://d111.cloudfront.net/?error=access_denied&state=s"))).toBe(true);
    expect(auth.isCallback(new URL("https://d111.cloudfront.net/?code=c"))).toBe(false);
    expect(auth.isCallback(new URL("https://evil.example/?code=c&state=s"))).toBe(false);
  });

  it("refuses a callback whose state this tab did not issue (CSRF), and one used twice", async () => {
    const auth = new OidcAuth(config, harness.env());
    await auth.beginSignIn();
    await expect(auth.completeSignIn(new URL("https://d111.cloudfront.net/?code=c&state=forged"))).rejects.toMatchObject({ code: "state_mismatch" });
    expect(harness.calls).toHaveLength(0);
    expect(harness.replaced).toEqual(["/"]); // the code left the address bar anyway
    await expect(auth.completeSignIn(new URL("https://d111.cloudfront.net/?code=c&state=forged"))).rejects.toBeInstanceOf(OidcError);
  });

  it("refuses a sign-in that took longer than ten minutes", async () => {
    const auth = new OidcAuth(config, harness.env());
    await auth.beginSignIn();
    const state = new URL(harness.navigations[0]!).searchParams.get("state");
    harness.now += 11 * 60_000;
    await expect(auth.completeSignIn(new URL(`https://d111.cloudfront.net/?code=c&state=${state}`))).rejects.toMatchObject({ code: "expired" });
  });

  it("reports the issuer's error (the user cancelled)", async () => {
    const auth = new OidcAuth(config, harness.env());
    await auth.beginSignIn();
    const callback = new URL("https://d111.cloudfront.net/?error=access_denied&error_description=User+cancelled&state=x");
    await expect(auth.completeSignIn(callback)).rejects.toMatchObject({ code: "access_denied", message: "User cancelled" });
  });

  it("refuses an ID token whose nonce is not this sign-in's", async () => {
    const auth = new OidcAuth(config, harness.env());
    await auth.beginSignIn();
    const state = new URL(harness.navigations[0]!).searchParams.get("state");
    harness.answer(200, { access_token: "a", id_token: jwt({ nonce: "replayed" }), expires_in: 60 });
    await expect(auth.completeSignIn(new URL(`https://d111.cloudfront.net/?code=c&state=${state}`))).rejects.toMatchObject({ code: "nonce_mismatch" });
    expect(auth.signedIn).toBe(false);
  });

  it("reports a refused code exchange with the endpoint's error", async () => {
    const auth = new OidcAuth(config, harness.env());
    await auth.beginSignIn();
    const state = new URL(harness.navigations[0]!).searchParams.get("state");
    harness.answer(400, { error: "invalid_grant", error_description: "code expired" });
    await expect(auth.completeSignIn(new URL(`https://d111.cloudfront.net/?code=c&state=${state}`))).rejects.toMatchObject({ code: "invalid_grant", message: "code expired" });
  });
});

describe("tokens", () => {
  it("without tokens, getToken asks for a sign-in", async () => {
    const auth = new OidcAuth(config, harness.env());
    await expect(auth.getToken()).rejects.toBeInstanceOf(SignInRequired);
  });

  it("refresh on a timer before expiry, keeping the refresh token when none comes back", async () => {
    const auth = await signedIn();
    harness.answer(200, { access_token: "access-2", expires_in: 3600 });
    await harness.advance(3_600_000 - REFRESH_MARGIN_MS - 1);
    expect(harness.calls).toHaveLength(1);
    await harness.advance(1);
    expect(harness.calls).toHaveLength(2);
    expect(Object.fromEntries(harness.calls[1]!.body)).toEqual({ grant_type: "refresh_token", refresh_token: "refresh-1", client_id: "client-123" });
    expect(await auth.getToken()).toBe("access-2");
    expect(auth.current?.refreshToken).toBe("refresh-1");
    expect(auth.current?.idToken).toBeDefined(); // kept for the sign-out hint
  });

  it("getToken refreshes first when the token is close to expiry, once for concurrent callers", async () => {
    const auth = await signedIn({ expires_in: 300 });
    auth.dispose(); // no timer: getToken alone
    harness.now += 300_000 - REFRESH_MARGIN_MS + 1;
    harness.answer(200, { access_token: "access-2", refresh_token: "refresh-2", expires_in: 300 });
    const [a, b] = await Promise.all([auth.getToken(), auth.getToken()]);
    expect([a, b]).toEqual(["access-2", "access-2"]);
    expect(harness.calls).toHaveLength(2);
    expect(auth.current?.refreshToken).toBe("refresh-2"); // rotated
  });

  it("short lifetimes refresh at half-life", async () => {
    await signedIn({ expires_in: 60 });
    harness.answer(200, { access_token: "access-2", expires_in: 60 });
    await harness.advance(29_999);
    expect(harness.calls).toHaveLength(1);
    await harness.advance(1);
    expect(harness.calls).toHaveLength(2);
  });

  it("a refused refresh token ends the session and tells the app", async () => {
    const auth = await signedIn();
    const ended = vi.fn();
    auth.onSignedOut(ended);
    harness.answer(400, { error: "invalid_grant", error_description: "Refresh Token has been revoked" });
    await harness.advance(3_600_000 - REFRESH_MARGIN_MS);
    expect(ended).toHaveBeenCalledWith(expect.any(SignInRequired));
    expect(auth.signedIn).toBe(false);
    expect(harness.storage.getItem(TOKENS_KEY)).toBeNull();
    await expect(auth.getToken()).rejects.toBeInstanceOf(SignInRequired);
  });

  it("an unreachable issuer: the current token while it lasts, retries meanwhile", async () => {
    const auth = await signedIn();
    harness.answers.push(() => new TypeError("Failed to fetch"));
    await harness.advance(3_600_000 - REFRESH_MARGIN_MS);
    expect(harness.calls).toHaveLength(2);
    harness.answers.push(() => new TypeError("Failed to fetch"));
    expect(await auth.getToken()).toBe("access-1"); // still valid for two minutes
    harness.answer(200, { access_token: "access-2", expires_in: 3600 });
    await harness.advance(RETRY_MS);
    expect(await auth.getToken()).toBe("access-2");
  });

  it("invalidate (the hub refused the token) makes the next getToken refresh", async () => {
    const auth = await signedIn();
    auth.invalidate();
    harness.answer(200, { access_token: "access-2", expires_in: 3600 });
    expect(await auth.getToken()).toBe("access-2");
  });

  it("survive a reload through sessionStorage", async () => {
    await signedIn();
    const reloaded = new OidcAuth(config, harness.env());
    expect(reloaded.signedIn).toBe(true);
    expect(await reloaded.getToken()).toBe("access-1");
  });

  it("ignore a broken stored record", () => {
    harness.storage.setItem(TOKENS_KEY, "{not json");
    expect(new OidcAuth(config, harness.env()).signedIn).toBe(false);
    expect(harness.storage.getItem(TOKENS_KEY)).toBeNull();
  });

  it("refuse a token response without an access token or of another type", async () => {
    for (const body of [{ id_token: "x" }, { access_token: "a", token_type: "mac" }]) {
      harness = new Harness();
      const auth = new OidcAuth(config, harness.env());
      await auth.beginSignIn();
      const state = new URL(harness.navigations[0]!).searchParams.get("state");
      harness.answer(200, body);
      await expect(auth.completeSignIn(new URL(`https://d111.cloudfront.net/?code=c&state=${state}`))).rejects.toMatchObject({ code: "invalid_response" });
    }
  });

  it("take the expiry from the JWT when expires_in is missing", async () => {
    const exp = Math.floor(harness.now / 1000) + 900;
    const auth = await signedIn({ access_token: jwt({ exp }), expires_in: undefined });
    expect(auth.current?.expiresAt).toBe(exp * 1000);
  });
});

describe("sign-out", () => {
  it("forgets the tokens and goes to the logout endpoint with Cognito's and OIDC's parameters", async () => {
    const auth = await signedIn();
    const idToken = auth.current!.idToken!;
    auth.signOut();
    expect(harness.storage.getItem(TOKENS_KEY)).toBeNull();
    const url = new URL(harness.navigations.at(-1)!);
    expect(`${url.origin}${url.pathname}`).toBe(config.logoutUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: "client-123",
      logout_uri: "https://d111.cloudfront.net/",
      post_logout_redirect_uri: "https://d111.cloudfront.net/",
      id_token_hint: idToken,
    });
    expect(harness.timers).toHaveLength(0);
  });
});
