import { describe, expect, it } from "vitest";
import { SignInRequired, whoAmI } from "../../src/auth/session";
import { MemoryStore } from "../../src/auth/storage";
import { TOKEN_KEY, TokenAuth, type HistoryLike } from "../../src/auth/token-auth";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

function history() {
  const calls: string[] = [];
  const fake: HistoryLike = { state: { kept: true }, replaceState: (_state, _unused, url) => calls.push(url) };
  return { fake, calls };
}

describe("token sign-in (local)", () => {
  it("takes the token from the fragment into sessionStorage and out of the address bar", async () => {
    const storage = new MemoryStore();
    const { fake, calls } = history();
    const auth = TokenAuth.fromLocation({ hash: `#token=${JWT}`, pathname: "/", search: "?view=wall" }, fake, storage);
    expect(calls).toEqual(["/?view=wall"]);
    expect(storage.getItem(TOKEN_KEY)).toBe(JWT);
    expect(await auth.getToken()).toBe(JWT);
  });

  it("keeps other fragment parameters", () => {
    const { fake, calls } = history();
    TokenAuth.fromLocation({ hash: `#token=${JWT}&panel=alerts`, pathname: "/", search: "" }, fake, new MemoryStore());
    expect(calls).toEqual(["/#panel=alerts"]);
  });

  it("without a fragment: the stored token, or none (the sign-in form)", async () => {
    const storage = new MemoryStore();
    const { fake, calls } = history();
    const empty = TokenAuth.fromLocation({ hash: "", pathname: "/", search: "" }, fake, storage);
    expect(calls).toEqual([]);
    await expect(empty.getToken()).rejects.toBeInstanceOf(SignInRequired);
    storage.setItem(TOKEN_KEY, JWT);
    expect(await TokenAuth.fromLocation({ hash: "", pathname: "/", search: "" }, fake, storage).getToken()).toBe(JWT);
  });

  it("accepts a pasted JWT (with whitespace or Bearer), refuses anything else", async () => {
    const auth = new TokenAuth(new MemoryStore());
    auth.signIn(`  Bearer ${JWT}\n`);
    expect(await auth.getToken()).toBe(JWT);
    expect(() => auth.signIn("not a token")).toThrow(SignInRequired);
    auth.signOut();
    await expect(auth.getToken()).rejects.toBeInstanceOf(SignInRequired);
  });
});

describe("GET /me", () => {
  const fetcher = (status: number, body: unknown) => async (url: string, init?: RequestInit) => {
    expect(url).toBe("http://hub.test/api/me");
    expect((init?.headers as Record<string, string>).Authorization).toBe(`Bearer ${JWT}`);
    return new Response(JSON.stringify(body), { status });
  };

  it("200: who the token is", async () => {
    const me = { userId: "alice", roles: ["admin"], expiresAt: "2030-01-01T00:00:00Z", canConnect: true, canPublish: true, groups: ["alerts"] };
    expect(await whoAmI("http://hub.test/api", JWT, fetcher(200, me))).toEqual(me);
  });

  it("401: sign in again, with the hub's reason", async () => {
    await expect(whoAmI("http://hub.test/api", JWT, fetcher(401, { code: "Unauthorized", message: "token expired" }))).rejects.toMatchObject({
      reason: "expired",
      message: "The token was refused: token expired",
    });
  });

  it("other failures are not refusals", async () => {
    await expect(whoAmI("http://hub.test/api", JWT, fetcher(503, {}))).rejects.not.toBeInstanceOf(SignInRequired);
  });
});
