import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULTS, RealtimeClient } from "../../src/index.js";
import { backoffDelay } from "../../src/backoff.js";
import { FakeWebSocket, connected, envelope, fakeFetch, flush, jwt, makeClient } from "./fakes.js";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2030-01-01T00:00:00Z")); // whole seconds: JWT `exp` is in seconds
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  Reflect.deleteProperty(globalThis, "addEventListener");
  Reflect.deleteProperty(globalThis, "removeEventListener");
});

const me = (canConnect = true) => ({
  status: 200,
  body: { userId: "alice", roles: canConnect ? ["admin"] : [], expiresAt: "2030-01-01T00:00:00Z", canConnect, canPublish: canConnect, groups: [] },
});

describe("backoff", () => {
  it("is capped exponential with full jitter (defaults: 1 s, doubling, 30 s cap)", () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffDelay(attempt, DEFAULTS.backoff, top))).toEqual([
      999, 1999, 3999, 7999, 15999, 29999, 29999, 29999,
    ]);
    expect(backoffDelay(3, DEFAULTS.backoff, () => 0)).toBe(0);
    expect(backoffDelay(1, { initialDelayMs: 100, maxDelayMs: 150 }, () => 0.5)).toBe(75);
  });

  it("spaces failed attempts by the schedule and starts over once connected", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const { client, states } = makeClient();
    const socket = await connected(client);
    socket.receive({ type: "Pong" });
    socket.drop();
    const opened = () => FakeWebSocket.instances.length;
    for (const [index, delay] of [500, 1000, 2000, 4000].entries()) {
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(opened()).toBe(index + 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(opened()).toBe(index + 2);
      FakeWebSocket.last.refuse(); // no status, no restUrl: transient
    }
    await vi.advanceTimersByTimeAsync(8_000);
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: "Pong" });
    FakeWebSocket.last.drop();
    await vi.advanceTimersByTimeAsync(500);
    expect(opened()).toBe(7);
    expect(states).toEqual(["connecting", "connected", "reconnecting", "connected", "reconnecting"]);
    client.close();
  });
});

describe("terminal refusals", () => {
  it("a 403 handshake → connect() rejects, disconnected with the reason", async () => {
    const { client, states } = makeClient();
    const done = client.connect();
    await flush();
    FakeWebSocket.last.refuse(403);
    await expect(done).rejects.toMatchObject({ code: "Forbidden" });
    expect(client.state).toBe("disconnected");
    expect(client.disconnectReason?.code).toBe("Forbidden");
    expect(states).toEqual(["connecting", "disconnected"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("no status (a browser): GET /me with a fresh token tells 401 → Unauthorized", async () => {
    const fetch = fakeFetch(() => ({ status: 401, body: { code: "Unauthorized", message: "the token has expired" } }));
    const { client, getToken } = makeClient({ restUrl: "http://hub.test/api", fetch });
    const done = client.connect();
    await flush();
    FakeWebSocket.last.refuse();
    await expect(done).rejects.toMatchObject({ code: "Unauthorized", message: "the token has expired" });
    expect(getToken).toHaveBeenCalledTimes(2); // the probe asks for a fresh token
    expect(fetch.mock.calls[0]![1].headers.Authorization).toBe("Bearer token-2");
  });

  it("canConnect:false → Forbidden; canConnect:true → keep retrying", async () => {
    let allowed = true;
    const fetch = fakeFetch(() => me(allowed));
    const { client } = makeClient({ restUrl: "http://hub.test/api", fetch });
    const done = client.connect();
    const outcome = expect(done).rejects.toMatchObject({ code: "Forbidden" });
    await flush();
    FakeWebSocket.last.refuse();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeWebSocket.instances).toHaveLength(2); // the token was fine: retried
    allowed = false;
    FakeWebSocket.last.refuse(); // the second failure in a row probes again
    await outcome;
    expect(client.state).toBe("disconnected");
  });

  it("without restUrl, two 401 handshakes in a row (Node's ws reports them) → Unauthorized", async () => {
    const { client } = makeClient();
    const done = client.connect();
    const outcome = expect(done).rejects.toMatchObject({ code: "Unauthorized" });
    await flush();
    FakeWebSocket.last.refuse(401);
    await vi.advanceTimersByTimeAsync(1_000);
    FakeWebSocket.last.refuse(401);
    await outcome;
  });
});

describe("token refresh", () => {
  it("sends a fresh token with `refresh` before the current one expires, without reconnecting", async () => {
    FakeWebSocket.autoPong = true;
    let ttl = 300;
    const getToken = vi.fn(async () => jwt(ttl));
    const { client, states } = makeClient({ getToken });
    const socket = await connected(client);
    await vi.advanceTimersByTimeAsync(239_000); // due 60 s before expiry
    expect(socket.frames("refresh")).toHaveLength(0);
    ttl = 600;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(getToken).toHaveBeenCalledTimes(2);
    const refresh = socket.lastFrame("refresh");
    expect(refresh.token).toBe(await getToken.mock.results[1]!.value);
    const expiresAt = new Date(Date.now() + 600_000).toISOString();
    socket.reply("refresh", { type: "Refreshed", expiresAt });
    await flush();
    // the next refresh is due 60 s before the new expiry
    await vi.advanceTimersByTimeAsync(539_000);
    expect(socket.frames("refresh")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.frames("refresh")).toHaveLength(2);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(states).toEqual(["connecting", "connected"]);
    client.close();
  });

  it("a short-lived token is refreshed at half its lifetime", async () => {
    const getToken = vi.fn(async () => jwt(20));
    const { client } = makeClient({ getToken });
    const socket = await connected(client);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(socket.frames("refresh")).toHaveLength(1);
    client.close();
  });

  it("a refused refresh → reconnect with a fresh token; a request refused for expiry goes again", async () => {
    FakeWebSocket.autoPong = true;
    const getToken = vi.fn(async () => jwt(120));
    const { client } = makeClient({ getToken });
    const socket = await connected(client);
    await vi.advanceTimersByTimeAsync(60_000);
    socket.reply("refresh", { type: "Error", code: "Forbidden", message: "no" });
    await flush();
    expect(socket.closedWith?.code).toBe(4000);
    await flush();
    const next = FakeWebSocket.last;
    expect(next).not.toBe(socket);
    next.open();
    const stats = client.getPlatformStats();
    next.reply("getPlatformStats", { type: "Error", code: "Unauthorized", message: "this connection's token has expired" });
    await flush();
    const third = FakeWebSocket.last;
    third.open();
    expect(third.frames("getPlatformStats")).toHaveLength(1);
    third.reply("getPlatformStats", { type: "PlatformStats", data: { connections: 1, groups: {}, latest: {} } });
    await expect(stats).resolves.toMatchObject({ connections: 1 });
    expect(getToken.mock.calls.length).toBeGreaterThanOrEqual(4);
    client.close();
  });
});

describe("liveness", () => {
  it("pings every 30 s; no pong within 10 s → reconnect and resume", async () => {
    const { client } = makeClient();
    client.subscribe("alerts");
    const socket = await connected(client);
    socket.subscribed("alerts", 0);
    socket.receive(envelope("alerts", 1));
    await vi.advanceTimersByTimeAsync(30_000);
    socket.reply("ping", { type: "Pong" });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(socket.frames("ping")).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(socket.closedWith?.code).toBe(4000);
    await flush();
    const next = FakeWebSocket.last;
    next.open();
    expect(next.lastFrame("subscribe")).toMatchObject({ since: 1, epoch: "e1" });
    client.close();
  });

  it("reconnects before API Gateway's 2-hour limit", async () => {
    FakeWebSocket.autoPong = true;
    const { client } = makeClient();
    const socket = await connected(client);
    await vi.advanceTimersByTimeAsync(109 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.closedWith?.code).toBe(4000);
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(2);
    client.close();
  });

  it("after a sleep past the idle limit, the first tick reconnects at once", async () => {
    FakeWebSocket.autoPong = true;
    const { client } = makeClient();
    const socket = await connected(client);
    await vi.advanceTimersByTimeAsync(60_000);
    vi.setSystemTime(Date.now() + 3_600_000); // the machine slept an hour: no timer ran
    await vi.advanceTimersByTimeAsync(30_000);
    expect(socket.closedWith).toEqual({ code: 4000, reason: "the machine slept past API Gateway's idle limit" });
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(2);
    client.close();
  });

  it("browser wake-ups (online, visible, pageshow) retry at once instead of waiting for the backoff", async () => {
    const listeners = new Map<string, () => void>();
    Object.assign(globalThis, {
      addEventListener: (type: string, listener: () => void) => listeners.set(type, listener),
      removeEventListener: (type: string) => listeners.delete(type),
    });
    vi.spyOn(Math, "random").mockReturnValue(0.99);
    const { client } = makeClient();
    const socket = await connected(client);
    expect([...listeners.keys()].sort()).toEqual(["online", "pageshow"]);
    socket.drop();
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(1);
    listeners.get("online")!();
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.last.open();
    listeners.get("pageshow")!(); // connected: a liveness check
    expect(FakeWebSocket.last.frames("ping")).toHaveLength(1);
    client.close();
    expect(listeners.size).toBe(0);
  });
});

describe("close()", () => {
  it("leaves no timer, no socket, no subscription, no position, and rejects what waits", async () => {
    const fetch = fakeFetch(() => me());
    const client = new RealtimeClient({
      url: "ws://hub.test/ws",
      getToken: async () => jwt(3_600),
      WebSocket: FakeWebSocket,
      restUrl: "http://hub.test/api",
      fetch,
    });
    const sub = client.subscribe("alerts");
    const ended = vi.fn();
    sub.on("unsubscribed", ended);
    const socket = await connected(client);
    socket.subscribed("alerts", 0);
    socket.receive(envelope("alerts", 1));
    socket.receive(envelope("alerts", 3)); // a gap timer
    const pending = client.getPlatformStats();
    const rejected = expect(pending).rejects.toMatchObject({ code: "Disconnected" });
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    client.close();
    await rejected;
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.readyState).toBe(3);
    expect(client.state).toBe("disconnected");
    expect(ended).toHaveBeenCalledTimes(1);
    expect(sub.state).toBe("unsubscribed");
    expect(sub.position).toBeUndefined();
    // connect() again starts from scratch: nothing to resubscribe
    const again = await connected(client);
    expect(again.frames("subscribe")).toEqual([]);
    client.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("while reconnecting: the pending retry is cancelled", async () => {
    const { client } = makeClient();
    const socket = await connected(client);
    socket.drop();
    expect(vi.getTimerCount()).toBe(1);
    client.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});
