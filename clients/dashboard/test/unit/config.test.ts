import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config";

const page = "http://127.0.0.1:8000/";

describe("config.json", () => {
  it("local: the stack's URLs and token sign-in", () => {
    expect(parseConfig({ wsUrl: "ws://127.0.0.1:8000/ws", restUrl: "http://127.0.0.1:8000/api/admin/realtime/", auth: { mode: "token" } }, page)).toEqual({
      wsUrl: "ws://127.0.0.1:8000/ws",
      restUrl: "http://127.0.0.1:8000/api/admin/realtime",
      auth: { mode: "token" },
    });
  });

  it("resolves relative URLs against the page (the dev server's proxy), http(s) → ws(s)", () => {
    const config = parseConfig({ wsUrl: "/ws", restUrl: "/api/admin/realtime", auth: { mode: "token" } }, "https://d111.cloudfront.net/index.html");
    expect(config.wsUrl).toBe("wss://d111.cloudfront.net/ws");
    expect(config.restUrl).toBe("https://d111.cloudfront.net/api/admin/realtime");
  });

  it("deployed: the OIDC endpoints, as the CDK stack writes them", () => {
    const auth = {
      mode: "oidc",
      authorizeUrl: "https://hub.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
      tokenUrl: "https://hub.auth.eu-west-1.amazoncognito.com/oauth2/token",
      logoutUrl: "https://hub.auth.eu-west-1.amazoncognito.com/logout",
      clientId: "abc",
      scopes: ["openid", "email"],
      redirectUri: "https://d111.cloudfront.net/",
    };
    const config = parseConfig({ wsUrl: "wss://x.execute-api.eu-west-1.amazonaws.com/prod", restUrl: "https://y.execute-api.eu-west-1.amazonaws.com/prod/api/admin/realtime", auth }, page);
    expect(config.auth).toEqual(auth);
  });

  it.each([
    [{ restUrl: "http://h/api", auth: { mode: "token" } }, "wsUrl"],
    [{ wsUrl: "ftp://h/ws", restUrl: "http://h/api", auth: { mode: "token" } }, "wsUrl"],
    [{ wsUrl: "ws://h/ws", restUrl: "http://h/api", auth: { mode: "magic" } }, "auth.mode"],
    [{ wsUrl: "ws://h/ws", restUrl: "http://h/api", auth: { mode: "oidc", authorizeUrl: "http://idp.example/a", tokenUrl: "https://i/t", logoutUrl: "https://i/l", clientId: "c", scopes: ["openid"], redirectUri: "https://d/" } }, "https"],
    [{ wsUrl: "ws://h/ws", restUrl: "http://h/api", auth: { mode: "oidc", authorizeUrl: "https://i/a", tokenUrl: "https://i/t", logoutUrl: "https://i/l", clientId: "c", scopes: [], redirectUri: "https://d/" } }, "scopes"],
    [[], "object"],
  ])("refuses %j (%s)", (raw, what) => {
    expect(() => parseConfig(raw, page)).toThrow(ConfigError);
    expect(() => parseConfig(raw, page)).toThrow(what);
  });

  it("is fetched next to the page, never from a cache", async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const fetcher = (async (url: URL, init?: RequestInit) => {
      seen.push({ url: String(url), init });
      return new Response(JSON.stringify({ wsUrl: "/ws", restUrl: "/api", auth: { mode: "token" } }));
    }) as unknown as typeof fetch;
    await loadConfig(fetcher, "https://d111.cloudfront.net/dash/index.html");
    expect(seen[0]?.url).toBe("https://d111.cloudfront.net/dash/config.json");
    expect(seen[0]?.init?.cache).toBe("no-store");
    const failing = (async () => new Response("nope", { status: 404 })) as unknown as typeof fetch;
    await expect(loadConfig(failing, page)).rejects.toThrow("answered 404");
  });
});
