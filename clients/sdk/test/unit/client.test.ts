import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RealtimeError, ResetContext } from "../../src/index.js";
import { FakeWebSocket, connected, envelope, fakeFetch, flush, makeClient } from "./fakes.js";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2030-01-01T00:00:00Z")); // whole seconds: JWT `exp` is in seconds
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("connecting", () => {
  it("resolves once open, with the token from getToken in the URL", async () => {
    const { client, getToken, states } = makeClient();
    const socket = await connected(client);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(socket.token).toBe("token-1");
    expect(socket.url.startsWith("ws://hub.test/ws?token=")).toBe(true);
    expect(states).toEqual(["connecting", "connected"]);
    client.close();
  });

  it("subscribes before and after connect, and resumes every group with since/epoch after a drop", async () => {
    const { client, getToken, states } = makeClient();
    const got: number[] = [];
    const alerts = client.subscribe("alerts", (event) => got.push(event.seq));
    const socket = await connected(client);
    expect(socket.lastFrame("subscribe")).toMatchObject({ action: "subscribe", group: "alerts" });
    expect(socket.lastFrame("subscribe")).not.toHaveProperty("since");
    socket.subscribed("alerts", 4);
    client.subscribe("analytics");
    expect(socket.lastFrame("subscribe")).toMatchObject({ group: "analytics" });
    socket.subscribed("analytics", 0);
    socket.receive(envelope("alerts", 5));
    expect(alerts.position).toEqual({ seq: 5, epoch: "e1" });

    socket.drop(1001);
    expect(states).toEqual(["connecting", "connected", "reconnecting"]);
    await vi.advanceTimersByTimeAsync(1_000);
    const next = FakeWebSocket.last;
    expect(next).not.toBe(socket);
    expect(getToken).toHaveBeenCalledTimes(2); // a fresh token for every connect
    expect(next.token).toBe("token-2");
    next.open();
    expect(states.at(-1)).toBe("connected");
    expect(next.frames("subscribe")).toEqual([
      expect.objectContaining({ group: "alerts", since: 5, epoch: "e1" }),
      expect.objectContaining({ group: "analytics", since: 0, epoch: "e1" }),
    ]);
    next.subscribed("alerts", 7, "e1", true);
    next.receive(envelope("alerts", 6));
    next.receive(envelope("alerts", 7));
    expect(got).toEqual([5, 6, 7]);
    client.close();
  });
});

describe("ordering", () => {
  async function subscribedTo(group: string, seq: number, options = {}) {
    const made = makeClient(options);
    const got: number[] = [];
    const resets: ResetContext[] = [];
    const sub = made.client.subscribe(group, (event) => got.push(event.seq));
    sub.on("reset", (context) => resets.push(context));
    const socket = await connected(made.client);
    socket.subscribed(group, seq);
    return { ...made, socket, got, resets, sub };
  }

  it("drops duplicates", async () => {
    const { client, socket, got } = await subscribedTo("alerts", 0);
    for (const seq of [1, 1, 2, 1, 2, 3, 3]) socket.receive(envelope("alerts", seq));
    expect(got).toEqual([1, 2, 3]);
    client.close();
  });

  it("holds out-of-order messages back and delivers them in order", async () => {
    const { client, socket, got } = await subscribedTo("alerts", 0);
    socket.receive(envelope("alerts", 1));
    socket.receive(envelope("alerts", 3));
    socket.receive(envelope("alerts", 4));
    expect(got).toEqual([1]);
    await vi.advanceTimersByTimeAsync(500);
    socket.receive(envelope("alerts", 2));
    expect(got).toEqual([1, 2, 3, 4]);
    client.close();
  });

  it("drops envelopes at or below the Subscribed seq that raced the reply", async () => {
    const { client, getToken: _t } = makeClient();
    const got: number[] = [];
    client.subscribe("alerts", (event) => got.push(event.seq));
    const socket = await connected(client);
    socket.receive(envelope("alerts", 9)); // published between the membership and the reply
    socket.subscribed("alerts", 8);
    socket.receive(envelope("alerts", 10));
    expect(got).toEqual([9, 10]);
    client.close();
  });

  it("fills a gap from REST history before delivering later messages", async () => {
    const fetch = fakeFetch((url, headers) => {
      expect(headers.Authorization).toBe("Bearer token-1");
      if (url.pathname === "/api/me") return { status: 200, body: { userId: "alice", roles: ["admin"], expiresAt: "", canConnect: true, canPublish: true, groups: [] } };
      expect(url.pathname).toBe("/api/groups/alerts/history");
      const after = Number(url.searchParams.get("after"));
      const limit = Number(url.searchParams.get("limit"));
      const items = [];
      for (let seq = after + 1; seq <= Math.min(after + limit, 10); seq++) items.push(envelope("alerts", seq));
      return { status: 200, body: { items, next: null } };
    });
    const { client, socket, got, resets } = await subscribedTo("alerts", 0, { restUrl: "http://hub.test/api", fetch });
    socket.receive(envelope("alerts", 1));
    socket.receive(envelope("alerts", 5));
    await vi.advanceTimersByTimeAsync(999);
    expect(got).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(got).toEqual([1, 2, 3, 4, 5]);
    const history = fetch.mock.calls.map((call) => call[0]).filter((url) => url.includes("/history"));
    expect(history).toEqual(["http://hub.test/api/groups/alerts/history?after=1&limit=3"]);
    socket.receive(envelope("alerts", 3)); // the late original: a duplicate now
    socket.receive(envelope("alerts", 6));
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(resets).toEqual([]);
    client.close();
  });

  it("resets when no history covers a gap (no restUrl), then delivers live", async () => {
    const { client, socket, got, resets } = await subscribedTo("alerts", 0);
    socket.receive(envelope("alerts", 1));
    socket.receive(envelope("alerts", 4));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(resets).toEqual([{ reason: "gap", previous: { seq: 1, epoch: "e1" }, position: { seq: 3, epoch: "e1" } }]);
    expect(got).toEqual([1, 4]);
    client.close();
  });

  it("resets on an epoch change and goes on in the new sequence", async () => {
    const { client, socket, got, resets } = await subscribedTo("alerts", 0);
    socket.receive(envelope("alerts", 1));
    socket.receive(envelope("alerts", 1, "e2"));
    socket.receive(envelope("alerts", 2, "e2"));
    expect(resets[0]).toMatchObject({ reason: "epoch", position: { seq: 0, epoch: "e2" } });
    expect(got).toEqual([1, 1, 2]);
    client.close();
  });
});

describe("resume outcomes", () => {
  async function resumed(options = {}) {
    const made = makeClient(options);
    const got: number[] = [];
    const resets: ResetContext[] = [];
    const contexts: unknown[] = [];
    const sub = made.client.subscribe("alerts", (event) => got.push(event.seq));
    sub.on("reset", (context) => resets.push(context));
    sub.on("subscribed", (context) => contexts.push(context));
    const first = await connected(made.client);
    first.subscribed("alerts", 0);
    first.receive(envelope("alerts", 1));
    first.receive(envelope("alerts", 2));
    first.drop();
    await vi.advanceTimersByTimeAsync(1_000);
    const socket = FakeWebSocket.last;
    socket.open();
    return { ...made, socket, got, resets, contexts, sub };
  }

  it("recovered:false without restUrl → reset, then live from the new position", async () => {
    const { client, socket, got, resets, contexts } = await resumed();
    socket.subscribed("alerts", 9, "e1", false);
    socket.receive(envelope("alerts", 10));
    expect(resets).toEqual([{ reason: "unrecovered", previous: { seq: 2, epoch: "e1" }, position: { seq: 9, epoch: "e1" } }]);
    expect(contexts.at(-1)).toEqual({ seq: 9, epoch: "e1", recovered: false, wasRecovering: true });
    expect(got).toEqual([1, 2, 10]);
    client.close();
  });

  it("recovered:false with restUrl → the gap comes from history, no reset", async () => {
    const fetch = fakeFetch((url) => {
      const after = Number(url.searchParams.get("after"));
      return { status: 200, body: { items: [3, 4, 5].filter((s) => s > after).map((s) => envelope("alerts", s)), next: null } };
    });
    const { client, socket, got, resets, contexts } = await resumed({ restUrl: "http://hub.test/api", fetch });
    socket.subscribed("alerts", 5, "e1", false);
    socket.receive(envelope("alerts", 6));
    await flush();
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(resets).toEqual([]);
    expect(contexts.at(-1)).toEqual({ seq: 5, epoch: "e1", recovered: true, wasRecovering: true });
    client.close();
  });

  it("recovered:false and history no longer holds the gap → reset", async () => {
    const fetch = fakeFetch(() => ({ status: 200, body: { items: [envelope("alerts", 7)], next: null } }));
    const { client, socket, got, resets } = await resumed({ restUrl: "http://hub.test/api", fetch });
    socket.subscribed("alerts", 8, "e1", false);
    await flush();
    expect(resets).toMatchObject([{ reason: "unrecovered", position: { seq: 8 } }]);
    socket.receive(envelope("alerts", 9));
    expect(got).toEqual([1, 2, 9]);
    client.close();
  });

  it("a new epoch on resume → reset", async () => {
    const { client, socket, resets } = await resumed();
    socket.subscribed("alerts", 3, "e2", false);
    expect(resets).toMatchObject([{ reason: "epoch", position: { seq: 3, epoch: "e2" } }]);
    client.close();
  });

  it("RecoveryFailed → subscribe afresh, reset, live", async () => {
    const { client, socket, got, resets } = await resumed();
    socket.subscribed("alerts", 6, "e1", true);
    socket.receive(envelope("alerts", 3));
    socket.receive({ type: "Error", code: "RecoveryFailed", message: "history expired", group: "alerts" });
    const again = socket.frames("subscribe").at(-1)!;
    expect(again).not.toHaveProperty("since");
    socket.subscribed("alerts", 12);
    socket.receive(envelope("alerts", 13));
    expect(resets).toMatchObject([{ reason: "recoveryFailed", previous: { seq: 3 }, position: { seq: 12 } }]);
    expect(got).toEqual([1, 2, 3, 13]);
    client.close();
  });

  it("a replay stopped by the replay budget (RateLimited with group) resumes after retryAfter", async () => {
    const { client, socket, got } = await resumed();
    socket.subscribed("alerts", 6, "e1", true);
    socket.receive(envelope("alerts", 3));
    socket.receive({ type: "Error", code: "RateLimited", message: "budget", group: "alerts", retryAfter: 2 });
    const before = socket.frames("subscribe").length;
    await vi.advanceTimersByTimeAsync(1_999);
    expect(socket.frames("subscribe")).toHaveLength(before);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.lastFrame("subscribe")).toMatchObject({ group: "alerts", since: 3, epoch: "e1" });
    socket.subscribed("alerts", 6, "e1", true);
    for (const seq of [4, 5, 6]) socket.receive(envelope("alerts", seq));
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    client.close();
  });
});

describe("resuming after unsubscribe (resumeFrom)", () => {
  it("a widget paused then resumed gets exactly what the group published meanwhile", async () => {
    const { client } = makeClient();
    const got: number[] = [];
    const socket = await connected(client);
    const first = client.subscribe("alerts", (event) => got.push(event.seq));
    socket.subscribed("alerts", 3);
    socket.receive(envelope("alerts", 4));
    const paused = first.position!;
    first.unsubscribe();
    expect(socket.lastFrame("unsubscribe")).toMatchObject({ group: "alerts" });
    const contexts: unknown[] = [];
    const again = client.subscribe("alerts", (event) => got.push(event.seq), { resumeFrom: paused });
    again.on("subscribed", (context) => contexts.push(context));
    expect(socket.lastFrame("subscribe")).toMatchObject({ group: "alerts", since: 4, epoch: "e1" });
    socket.subscribed("alerts", 6, "e1", true);
    for (const seq of [4, 5, 6, 7]) socket.receive(envelope("alerts", seq)); // 4: already seen
    expect(got).toEqual([4, 5, 6, 7]);
    expect(contexts).toEqual([{ seq: 6, epoch: "e1", recovered: true, wasRecovering: true }]);
    client.close();
  });

  it("resumes on connect when subscribed before it; recovered:false without history → reset", async () => {
    const { client } = makeClient();
    const resets: ResetContext[] = [];
    const sub = client.subscribe("alerts", undefined, { resumeFrom: { seq: 10, epoch: "e1" } });
    sub.on("reset", (context) => resets.push(context));
    const socket = await connected(client);
    expect(socket.lastFrame("subscribe")).toMatchObject({ group: "alerts", since: 10, epoch: "e1" });
    socket.subscribed("alerts", 2000, "e1", false);
    expect(resets).toEqual([{ reason: "unrecovered", previous: { seq: 10, epoch: "e1" }, position: { seq: 2000, epoch: "e1" } }]);
    client.close();
  });

  it("is ignored when the group already has a handle, and refuses a malformed position", async () => {
    const { client } = makeClient();
    const socket = await connected(client);
    client.subscribe("alerts");
    socket.subscribed("alerts", 8);
    client.subscribe("alerts", undefined, { resumeFrom: { seq: 1, epoch: "e1" } });
    expect(socket.frames("subscribe")).toHaveLength(1);
    expect(() => client.subscribe("analytics", undefined, { resumeFrom: { seq: -1, epoch: "e1" } })).toThrow(TypeError);
    client.close();
  });
});

describe("handlers", () => {
  it("a handler registered twice is called once", async () => {
    const { client } = makeClient();
    const handler = vi.fn();
    const typed = vi.fn();
    const a = client.subscribe("alerts", handler);
    const b = client.subscribe("alerts", handler);
    a.on("message", handler);
    client.onEvent("Alert", typed);
    client.onEvent("Alert", typed);
    const socket = await connected(client);
    expect(socket.frames("subscribe")).toHaveLength(1);
    socket.subscribed("alerts", 0);
    socket.receive(envelope("alerts", 1));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(typed).toHaveBeenCalledTimes(1);
    expect(typed).toHaveBeenCalledWith({ title: "t1", message: "m" }, expect.objectContaining({ seq: 1 }));
    a.unsubscribe();
    expect(socket.frames("unsubscribe")).toHaveLength(0); // b still holds the group
    socket.receive(envelope("alerts", 2));
    expect(handler).toHaveBeenCalledTimes(2);
    b.unsubscribe();
    expect(socket.lastFrame("unsubscribe")).toMatchObject({ group: "alerts" });
    socket.receive(envelope("alerts", 3));
    expect(handler).toHaveBeenCalledTimes(2);
    client.close();
  });

  it("onEvent is typed per event type and covers every subscribed group", async () => {
    const { client } = makeClient();
    const severities: string[] = [];
    const off = client.onEvent("Alert", (data, event) => {
      severities.push(data.severity ?? "info");
      expect(event.type).toBe("Alert");
    });
    client.subscribe("alerts");
    client.subscribe("ops");
    const socket = await connected(client);
    socket.subscribed("alerts", 0);
    socket.subscribed("ops", 0);
    socket.receive(envelope("alerts", 1, "e1", "Alert", { title: "a", message: "b", severity: "warning" }));
    socket.receive(envelope("ops", 1, "e1", "Alert", { title: "a", message: "b" }));
    socket.receive(envelope("nowhere", 1)); // not subscribed (e.g. the auto-joined admins)
    expect(severities).toEqual(["warning", "info"]);
    off();
    socket.receive(envelope("alerts", 2));
    expect(severities).toHaveLength(2);
    client.close();
  });

  it("a throwing handler does not stop delivery; the error is reported", async () => {
    const { client } = makeClient();
    const errors: RealtimeError[] = [];
    client.on("error", (error) => errors.push(error));
    const later = vi.fn();
    client.subscribe("alerts", () => {
      throw new Error("boom");
    });
    client.subscribe("alerts", later);
    const socket = await connected(client);
    socket.subscribed("alerts", 0);
    socket.receive(envelope("alerts", 1));
    expect(later).toHaveBeenCalledTimes(1);
    expect(errors[0]?.message).toBe("boom");
    client.close();
  });
});

describe("requests", () => {
  it("correlate by requestId and resolve with typed data", async () => {
    const { client } = makeClient();
    const socket = await connected(client);
    const stats = client.getPlatformStats();
    const count = client.getConnectionCount();
    socket.receive({ type: "ConnectionCount", requestId: socket.lastFrame("getConnectionCount").requestId, data: { connections: 2, groups: {} } });
    socket.reply("getPlatformStats", { type: "PlatformStats", data: { connections: 3, groups: { alerts: 1 }, latest: {} } });
    await expect(stats).resolves.toEqual({ connections: 3, groups: { alerts: 1 }, latest: {} });
    await expect(count).resolves.toEqual({ connections: 2, groups: {} });
    const presence = client.getPresence("alerts");
    socket.reply("getPresence", { type: "Presence", data: { group: "alerts", connections: 1, users: 1, lastSeq: 4, epoch: "e1" } });
    await expect(presence).resolves.toMatchObject({ lastSeq: 4 });
    client.close();
  });

  it("reject with the server's code and message", async () => {
    const { client } = makeClient();
    const socket = await connected(client);
    const published = client.publish({ type: "Alert", data: { title: "x", message: "y" } }, { idempotencyKey: "k1" });
    expect(socket.lastFrame("publish")).toMatchObject({ group: "alerts", type: "Alert", idempotencyKey: "k1" });
    socket.reply("publish", {
      type: "Error",
      code: "ValidationError",
      message: "invalid data for Alert",
      errors: [{ loc: ["data", "title"], msg: "too long", type: "string_too_long" }],
    });
    await expect(published).rejects.toMatchObject({ code: "ValidationError", message: "invalid data for Alert", errors: [{ loc: ["data", "title"] }] });
    client.close();
  });

  it("time out (default 10 s)", async () => {
    const { client } = makeClient();
    await connected(client);
    const stats = client.getPlatformStats();
    const outcome = expect(stats).rejects.toMatchObject({ code: "Timeout" });
    await vi.advanceTimersByTimeAsync(10_000);
    await outcome;
    client.close();
  });

  it("RateLimited: sent again after retryAfter", async () => {
    const { client } = makeClient();
    const socket = await connected(client);
    const stats = client.getPlatformStats();
    socket.reply("getPlatformStats", { type: "Error", code: "RateLimited", message: "slow down", retryAfter: 0.5 });
    expect(socket.frames("getPlatformStats")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.frames("getPlatformStats")).toHaveLength(2);
    socket.reply("getPlatformStats", { type: "PlatformStats", data: { connections: 1, groups: {}, latest: {} } });
    await expect(stats).resolves.toMatchObject({ connections: 1 });
    client.close();
  });

  it("wait in a bounded queue while reconnecting; reads in flight are sent again, unkeyed publishes are not", async () => {
    const { client } = makeClient({ maxQueuedRequests: 2 });
    const socket = await connected(client);
    const inFlightRead = client.getConnectionCount();
    const inFlightPublish = client.publish({ type: "TestMessage", data: { message: "hi" } });
    const lost = expect(inFlightPublish).rejects.toMatchObject({ code: "ConnectionLost" });
    socket.drop();
    await lost;
    const queued = client.getPlatformStats();
    await expect(client.getPresence("alerts")).rejects.toMatchObject({ code: "QueueFull" });
    await vi.advanceTimersByTimeAsync(1_000);
    const next = FakeWebSocket.last;
    next.open();
    expect(next.sent.map((frame) => frame.action)).toEqual(["getConnectionCount", "getPlatformStats"]);
    next.reply("getConnectionCount", { type: "ConnectionCount", data: { connections: 1, groups: {} } });
    next.reply("getPlatformStats", { type: "PlatformStats", data: { connections: 1, groups: {}, latest: {} } });
    await expect(inFlightRead).resolves.toMatchObject({ connections: 1 });
    await expect(queued).resolves.toMatchObject({ connections: 1 });
    client.close();
  });

  it("reject at once when not connected", async () => {
    const { client } = makeClient();
    await expect(client.getPlatformStats()).rejects.toMatchObject({ code: "Disconnected" });
  });
});
