import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HUB_METHODS, HubConnectionBuilder, HubConnectionState, toWebSocketUrl } from "../../src/signalr.js";
import { FakeWebSocket, envelope, flush } from "./fakes.js";

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => vi.useRealTimers());

async function started(build = (builder: HubConnectionBuilder) => builder.withAutomaticReconnect()) {
  const accessTokenFactory = vi.fn(() => "t");
  const connection = build(new HubConnectionBuilder().withUrl("https://hub.test/prod", { accessTokenFactory, WebSocket: FakeWebSocket })).build();
  expect(connection.state).toBe(HubConnectionState.Disconnected);
  const start = connection.start();
  expect(connection.state).toBe(HubConnectionState.Connecting);
  await flush();
  const socket = FakeWebSocket.last;
  socket.open();
  await start;
  return { connection, socket, accessTokenFactory };
}

describe("SignalR façade", () => {
  it("turns http(s) into ws(s) and joins admins on start, as the hub's OnConnectedAsync did", async () => {
    expect(toWebSocketUrl("http://a/b")).toBe("ws://a/b");
    expect(toWebSocketUrl("HTTPS://a/b")).toBe("wss://a/b");
    expect(toWebSocketUrl("wss://a/b")).toBe("wss://a/b");
    const { connection, socket, accessTokenFactory } = await started();
    expect(socket.url).toBe("wss://hub.test/prod?token=t");
    expect(accessTokenFactory).toHaveBeenCalled();
    expect(connection.state).toBe(HubConnectionState.Connected);
    expect(socket.lastFrame("subscribe")).toMatchObject({ group: "admins" });
    await connection.stop();
  });

  it("maps every original hub method", async () => {
    const { connection, socket } = await started();
    const last = () => socket.sent.at(-1)!;
    const expectations: [string, unknown[], Record<string, unknown>][] = [
      ["BroadcastPlatformStatus", [{ status: "healthy" }], { type: "PlatformStatus", group: "admins" }],
      ["BroadcastAnalyticsUpdate", [{ metrics: { cpu: 1 } }], { type: "AnalyticsUpdate", group: "analytics" }],
      ["BroadcastUserCountUpdate", [{ totalUsers: 2, activeUsers: 1 }], { type: "UserCountUpdate", group: "analytics" }],
      ["BroadcastGenerationMetrics", [{ totalGenerations: 3 }], { type: "GenerationMetrics", group: "analytics" }],
      ["BroadcastRevenueUpdate", [{ totalRevenue: 1, currency: "EUR" }], { type: "RevenueUpdate", group: "analytics" }],
      ["NotifyUserAction", [{ userId: "u", action: "login" }], { type: "UserAction", group: "user-activity" }],
      ["NotifyRoleAssignment", [{ userId: "u", role: "r", change: "assigned" }], { type: "RoleAssignment", group: "user-activity" }],
      ["NotifySystemEvent", [{ eventType: "deploy", message: "m" }], { type: "SystemEvent", group: "admins" }],
      ["SendSystemAlert", [{ title: "a", message: "b" }], { type: "Alert", group: "alerts", data: { title: "a", message: "b" } }],
      ["SendWarning", ["Disk", "91%"], { type: "Alert", data: { title: "Disk", message: "91%", severity: "warning" } }],
      ["senderror", [{ title: "a", message: "b" }], { type: "Alert", data: { title: "a", message: "b", severity: "error" } }],
      ["SendSuccess", [{ title: "a", message: "b" }], { type: "Alert", data: { severity: "success" } }],
      ["SendPerformanceAlert", [{ metric: "p99", value: 2, threshold: 1 }], { type: "PerformanceAlert", group: "alerts" }],
      ["SendTestMessage", ["hello"], { type: "TestMessage", group: "admins", data: { message: "hello" } }],
    ];
    for (const [method, args, frame] of expectations) {
      const result = connection.invoke(method, ...args);
      expect(last(), method).toMatchObject({ action: "publish", ...frame });
      socket.reply("publish", { type: "Published", eventType: frame.type as string, id: "i", group: "g", seq: 1, recipients: 0 });
      await expect(result).resolves.toMatchObject({ eventType: frame.type });
    }

    const stats = connection.invoke("GetPlatformStats");
    socket.reply("getPlatformStats", { type: "PlatformStats", data: { connections: 1, groups: {}, latest: {} } });
    await expect(stats).resolves.toEqual({ connections: 1, groups: {}, latest: {} });
    const count = connection.invoke("GetConnectionCount");
    socket.reply("getConnectionCount", { type: "ConnectionCount", data: { connections: 1, groups: {} } });
    await expect(count).resolves.toEqual({ connections: 1, groups: {} });

    for (const [method, group] of [
      ["SubscribeToUserActivity", "user-activity"],
      ["SubscribeToAnalytics", "analytics"],
      ["SubscribeToAlerts", "alerts"],
    ] as const) {
      const joined = connection.invoke(method);
      socket.subscribed(group, 0);
      await expect(joined).resolves.toBeUndefined();
    }
    for (const [method, group] of [
      ["UnsubscribeFromUserActivity", "user-activity"],
      ["UnsubscribeFromAnalytics", "analytics"],
      ["UnsubscribeFromAlerts", "alerts"],
    ] as const) {
      await connection.invoke(method);
      expect(last()).toMatchObject({ action: "unsubscribe", group });
    }
    expect(HUB_METHODS).toHaveLength(expectations.length + 8);
    await connection.stop();
  });

  it("rejects an unknown method clearly, and any method before start", async () => {
    const connection = new HubConnectionBuilder().withUrl("http://hub.test/x", { WebSocket: FakeWebSocket }).build();
    await expect(connection.invoke("GetPlatformStats")).rejects.toThrow("not in the 'Connected' State");
    const { connection: live } = await started();
    await expect(live.invoke("DeleteEverything")).rejects.toMatchObject({
      code: "UnknownMethod",
      message: expect.stringContaining("no method 'DeleteEverything'"),
    });
    await live.stop();
  });

  it("on/off by event type, case-insensitively, with the event's data; groups rejoined after a reconnect", async () => {
    const { connection, socket } = await started();
    const alerts = vi.fn();
    connection.on("alert", alerts);
    connection.on("Alert", alerts); // the same handler twice: called once
    const joined = connection.invoke("SubscribeToAlerts");
    socket.subscribed("admins", 0);
    socket.subscribed("alerts", 0);
    await joined;
    socket.receive(envelope("alerts", 1));
    expect(alerts).toHaveBeenCalledTimes(1);
    expect(alerts).toHaveBeenCalledWith({ title: "t1", message: "m" });

    const reconnecting = vi.fn();
    const reconnected = vi.fn();
    connection.onreconnecting(reconnecting);
    connection.onreconnected(reconnected);
    socket.drop();
    expect(connection.state).toBe(HubConnectionState.Reconnecting);
    expect(reconnecting).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    const next = FakeWebSocket.last;
    next.open();
    expect(reconnected).toHaveBeenCalledTimes(1);
    expect(next.frames("subscribe").map((frame) => [frame.group, frame.since])).toEqual([
      ["admins", 0],
      ["alerts", 1],
    ]);
    next.subscribed("alerts", 2, "e1", true);
    next.receive(envelope("alerts", 2)); // missed while away: replayed
    expect(alerts).toHaveBeenCalledTimes(2);
    connection.off("ALERT", alerts);
    next.receive(envelope("alerts", 3));
    expect(alerts).toHaveBeenCalledTimes(2);

    const closed = vi.fn();
    connection.onclose(closed);
    await connection.stop();
    expect(connection.state).toBe(HubConnectionState.Disconnected);
    expect(closed).toHaveBeenCalledWith(undefined);
  });

  it("withAutomaticReconnect([delays]) gives up like SignalR, then onclose", async () => {
    const { connection, socket } = await started((builder) => builder.withAutomaticReconnect([0, 100]));
    const closed = vi.fn();
    connection.onclose(closed);
    socket.drop();
    await flush();
    FakeWebSocket.last.refuse();
    await vi.advanceTimersByTimeAsync(100);
    FakeWebSocket.last.refuse();
    await flush();
    expect(connection.state).toBe(HubConnectionState.Disconnected);
    expect(closed).toHaveBeenCalledWith(expect.objectContaining({ code: "ReconnectGaveUp" }));
  });
});
