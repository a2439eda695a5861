/** The dashboard's engine against a scripted server (a fake WebSocket): the snapshot on
 * connect, live routing, pause/resume from the position, and a reload from the snapshot
 * after a `reset`. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { immediate } from "../../src/lib/frame";
import { Dashboard } from "../../src/model/dashboard";

type Frame = Record<string, unknown>;

class ScriptedSocket {
  static sockets: ScriptedSocket[] = [];
  readyState = 0;
  binaryType = "blob";
  sent: Frame[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {
    ScriptedSocket.sockets.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Frame);
  }
  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: Frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
  last(action: string, group?: string): Frame {
    const frame = this.sent.filter((sent) => sent.action === action && (group === undefined || sent.group === group)).at(-1);
    if (!frame) throw new Error(`no ${action} ${group ?? ""}: ${JSON.stringify(this.sent)}`);
    return frame;
  }
  subscribed(group: string, seq: number, recovered?: boolean) {
    this.receive({ type: "Subscribed", group, seq, epoch: "e1", requestId: this.last("subscribe", group).requestId, ...(recovered === undefined ? {} : { recovered }) });
  }
  stats(latest: Record<string, Frame>) {
    this.receive({ type: "PlatformStats", requestId: this.last("getPlatformStats").requestId, data: { connections: 1, groups: { admins: 1, alerts: 1, analytics: 1, "user-activity": 1 }, latest } });
  }
}

const envelope = (group: string, seq: number, type: string, data: Frame) => ({ type, group, id: `${group}-${seq}`, seq, epoch: "e1", ts: new Date(Date.UTC(2030, 0, 1, 0, 0, seq)).toISOString(), data });

const flush = async () => {
  for (let round = 0; round < 5; round++) await vi.advanceTimersByTimeAsync(50); // past the snapshot's coalescing (150 ms)
};

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  ScriptedSocket.sockets = [];
});

async function started() {
  vi.useFakeTimers();
  // The SDK binds fetch when it is made: mocked first.
  vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("no network in unit tests"));
  vi.spyOn(console, "warn").mockImplementation(() => {});
  const refused = vi.fn();
  const dashboard = new Dashboard({
    wsUrl: "ws://hub.test/ws",
    restUrl: "http://hub.test/api", // fetch fails (mocked): history fills fail, so gaps reset
    getToken: async () => "token",
    onRefused: refused,
    WebSocket: ScriptedSocket as never,
    scheduler: immediate,
  });
  dashboard.start();
  await flush();
  const socket = ScriptedSocket.sockets.at(-1)!;
  socket.open();
  for (const group of ["analytics", "admins", "alerts", "user-activity"]) socket.subscribed(group, 10);
  await flush();
  return { dashboard, socket, refused };
}

describe("the dashboard engine", () => {
  it("draws every widget from the snapshot once connected, then routes live events by type", async () => {
    const { dashboard, socket } = await started();
    socket.stats({
      UserCountUpdate: envelope("analytics", 9, "UserCountUpdate", { totalUsers: 100, activeUsers: 7 }),
      Alert: envelope("alerts", 10, "Alert", { title: "old", message: "m", severity: "critical" }),
      PlatformStatus: envelope("admins", 10, "PlatformStatus", { status: "down" }),
    });
    await flush();
    expect(dashboard.analytics.get().users?.data.totalUsers).toBe(100);
    expect(dashboard.alerts.get().items.map((item) => item.title)).toEqual(["old"]);
    expect(dashboard.toasts.get().toasts).toEqual([]); // a snapshot does not toast
    expect(dashboard.system.get().platform?.status).toBe("down");
    expect(dashboard.connection.get().snapshotAt).toBeDefined();
    socket.receive(envelope("analytics", 11, "UserCountUpdate", { totalUsers: 120, activeUsers: 9 }));
    socket.receive(envelope("user-activity", 11, "UserAction", { userId: "u-1", action: "login" }));
    expect(dashboard.analytics.get().users?.data.totalUsers).toBe(120);
    expect(dashboard.activity.get().items).toHaveLength(1);
    dashboard.dispose();
  });

  it("pause leaves the group; resume subscribes again from where it stopped", async () => {
    const { dashboard, socket } = await started();
    socket.stats({});
    socket.receive(envelope("alerts", 11, "Alert", { title: "a11", message: "m" }));
    dashboard.pause("alert-center");
    expect(socket.last("unsubscribe", "alerts")).toMatchObject({ group: "alerts" });
    expect(dashboard.feeds["alert-center"].view.get()).toMatchObject({ paused: true, state: "paused" });
    dashboard.route(envelope("admins", 99, "Alert", { title: "elsewhere", message: "m" }), false); // ignored while paused
    dashboard.resume("alert-center");
    expect(socket.last("subscribe", "alerts")).toMatchObject({ since: 11, epoch: "e1" });
    socket.subscribed("alerts", 13, true);
    socket.receive(envelope("alerts", 12, "Alert", { title: "a12", message: "m" }));
    socket.receive(envelope("alerts", 13, "Alert", { title: "a13", message: "m" }));
    await flush();
    expect(dashboard.alerts.get().items.map((item) => item.title)).toEqual(["a13", "a12", "a11"]);
    dashboard.dispose();
  });

  it("a reset (recovered:false, history unavailable) reloads the panel from getPlatformStats", async () => {
    const { dashboard, socket } = await started();
    socket.stats({});
    await flush();
    socket.drop();
    await vi.advanceTimersByTimeAsync(1_100);
    const next = ScriptedSocket.sockets.at(-1)!;
    expect(next).not.toBe(socket);
    next.open();
    for (const group of ["analytics", "admins", "user-activity"]) next.subscribed(group, 10, true);
    next.subscribed("alerts", 5_000, false); // far ahead: the replay limit
    await flush();
    expect(dashboard.feeds["alert-center"].view.get().reloadedAt).toBeDefined();
    next.stats({ Alert: envelope("alerts", 5_000, "Alert", { title: "latest after the gap", message: "m" }) });
    await flush();
    expect(dashboard.alerts.get().items.map((item) => item.title)).toEqual(["latest after the gap"]);
    expect(dashboard.connection.get().reconnects).toBe(1);
    dashboard.dispose();
  });

  it("a refused token ends in onRefused", async () => {
    const { dashboard, socket, refused } = await started();
    socket.stats({});
    socket.drop();
    await vi.advanceTimersByTimeAsync(1_100);
    // Refused handshakes (a browser does not say why): after two, the SDK asks GET /me: 401.
    vi.mocked(globalThis.fetch).mockResolvedValue(new Response(JSON.stringify({ code: "Unauthorized", message: "token expired" }), { status: 401 }));
    for (let round = 0; round < 2; round++) {
      const next = ScriptedSocket.sockets.at(-1)!;
      next.onerror?.({});
      next.readyState = 3;
      next.onclose?.({ code: 1006, reason: "" });
      await vi.advanceTimersByTimeAsync(2_100);
    }
    await flush();
    expect(refused).toHaveBeenCalledWith(expect.objectContaining({ code: "Unauthorized" }));
    expect(dashboard.connection.get().state).toBe("disconnected");
    dashboard.dispose();
  });
});
