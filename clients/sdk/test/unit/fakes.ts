/** A fake WebSocket driven by the test (the "server" side), and small helpers. */
import { vi } from "vitest";
import { RealtimeClient, type RealtimeClientOptions } from "../../src/index.js";

type Frame = Record<string, unknown>;

export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  /** Answer every ping with a Pong (as the server does) unless a test wants silence. */
  static autoPong = false;
  readyState = 0;
  binaryType = "blob";
  readonly sent: Frame[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closedWith: { code: number; reason: string } | undefined;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  static reset(): void {
    FakeWebSocket.instances = [];
    FakeWebSocket.autoPong = false;
  }

  static get last(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (!socket) throw new Error("no socket was opened");
    return socket;
  }

  get token(): string | null {
    return new URL(this.url).searchParams.get("token");
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    const frame = JSON.parse(data) as Frame;
    this.sent.push(frame);
    if (frame.action === "ping" && FakeWebSocket.autoPong) {
      void Promise.resolve().then(() => this.readyState === 1 && this.receive({ type: "Pong", requestId: frame.requestId }));
    }
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedWith = { code, reason };
    this.onclose?.({ code, reason });
  }

  // -- the server's side ------------------------------------------------------------------

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: Frame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** A refused handshake: `ws` reports the status in the error; browsers do not (no status). */
  refuse(status?: number): void {
    this.onerror?.({ message: status ? `Unexpected server response: ${status}` : "" });
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }

  drop(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  frames(action: string): Frame[] {
    return this.sent.filter((frame) => frame.action === action);
  }

  lastFrame(action: string): Frame {
    const frame = this.frames(action).at(-1);
    if (!frame) throw new Error(`no ${action} frame was sent (sent: ${JSON.stringify(this.sent)})`);
    return frame;
  }

  /** Answers the last `action` frame with `reply` (its requestId added). */
  reply(action: string, reply: Frame): void {
    this.receive({ ...reply, requestId: this.lastFrame(action).requestId });
  }

  /** Answers the last subscribe frame of `group`. */
  subscribed(group: string, seq: number, epoch = "e1", recovered?: boolean): void {
    const frame = this.frames("subscribe").filter((f) => f.group === group).at(-1);
    if (!frame) throw new Error(`no subscribe to ${group}`);
    this.receive({ type: "Subscribed", group, seq, epoch, requestId: frame.requestId, ...(recovered === undefined ? {} : { recovered }) });
  }
}

export function envelope(group: string, seq: number, epoch = "e1", type = "Alert", data: Frame = { title: `t${seq}`, message: "m" }) {
  return { type, group, id: `${group}-${epoch}-${seq}`, seq, epoch, ts: "2026-01-01T00:00:00.000Z", data };
}

/** An unsigned JWT with `exp` (the client never verifies). */
export function jwt(expiresInSeconds: number, sub = "alice"): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + expiresInSeconds;
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ sub, exp })}.sig`;
}

/** Runs due timers and settles the promises they start (a few rounds: getToken, then open).
 * 1 ms a round: Node (and so the fake clock) runs `setTimeout(fn, 0)` after 1 ms. */
export async function flush(): Promise<void> {
  for (let round = 0; round < 3; round++) await vi.advanceTimersByTimeAsync(1);
}

export function makeClient(options: Partial<RealtimeClientOptions> = {}) {
  let n = 0;
  const getToken = vi.fn(async () => `token-${++n}`);
  const client = new RealtimeClient({
    url: "ws://hub.test/ws",
    getToken,
    WebSocket: FakeWebSocket,
    ...options,
  });
  const states: string[] = [];
  client.on("state", (state) => states.push(state));
  return { client, getToken, states };
}

/** connect() and open the socket; returns the socket. */
export async function connected(client: RealtimeClient): Promise<FakeWebSocket> {
  const done = client.connect();
  await flush();
  const socket = FakeWebSocket.last;
  socket.open();
  await done;
  return socket;
}

export interface FakeResponse {
  status: number;
  body: unknown;
}

/** A fetch that answers from `route(url)`. */
export function fakeFetch(route: (url: URL, headers: Record<string, string>) => FakeResponse) {
  return vi.fn(async (url: string, init: { headers: Record<string, string> }) => {
    const { status, body } = route(new URL(url), init.headers);
    return { status, ok: status >= 200 && status < 300, json: async () => body };
  });
}
