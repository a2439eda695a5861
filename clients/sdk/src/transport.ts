/** One WebSocket, reduced to what the client needs: JSON frames in and out, one `close`
 * callback whether the handshake failed or an open socket dropped. */

/** What the client needs of a WebSocket: the browser's, the `ws` package's, or a fake. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers (and Node ≥ 22), `WebSocket`
 * from the `ws` package in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The event-handler properties every implementation has (kept out of the public type so
 * that the browser's, `ws`'s and test fakes' differing event types all fit). */
interface WebSocketHandlers {
  binaryType?: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface TransportClose {
  code: number;
  reason: string;
  /** Whether the socket had opened: false for a refused or failed handshake. */
  opened: boolean;
  /** The handshake's HTTP status when the implementation tells it (Node's `ws` does;
   * browsers never do). */
  status?: number;
}

export interface TransportListeners {
  open(): void;
  frame(frame: Record<string, unknown>): void;
  close(info: TransportClose): void;
}

const OPEN = 1;
const decoder = new TextDecoder();

export class Transport {
  private opened = false;
  private done = false;
  private status: number | undefined;
  private readonly socket: WebSocketLike & WebSocketHandlers;

  constructor(Socket: WebSocketConstructor, url: string, private readonly listeners: TransportListeners) {
    this.socket = new Socket(url) as WebSocketLike & WebSocketHandlers;
    this.socket.binaryType = "arraybuffer";
    this.socket.onopen = () => {
      if (this.done) return;
      this.opened = true;
      this.listeners.open();
    };
    this.socket.onmessage = (event) => {
      if (this.done) return;
      const frame = parse(event.data);
      if (frame) this.listeners.frame(frame);
    };
    this.socket.onerror = (event) => {
      // `ws` says "Unexpected server response: 401"; a browser says nothing at all.
      const message = describe(event);
      const match = /Unexpected server response: (\d{3})/.exec(message);
      if (match?.[1]) this.status = Number(match[1]);
    };
    this.socket.onclose = (event) => this.finish(event.code ?? 1006, event.reason ?? "");
  }

  get isOpen(): boolean {
    return this.opened && !this.done && this.socket.readyState === OPEN;
  }

  /** Sends one frame; false when the socket cannot take it now. */
  send(frame: object): boolean {
    if (!this.isOpen) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the socket and reports the close at once (the socket's own close event, which
   * may come late or never on a dead network, is ignored). */
  close(code = 1000, reason = ""): void {
    if (this.done) return;
    try {
      this.socket.close(code, reason);
    } catch {
      // already closing
    }
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.socket.onopen = this.socket.onmessage = this.socket.onerror = this.socket.onclose = null;
    const info: TransportClose = { code, reason, opened: this.opened };
    if (this.status !== undefined) info.status = this.status;
    this.listeners.close(info);
  }
}

function describe(event: unknown): string {
  if (typeof event !== "object" || event === null) return "";
  const { message, error } = event as { message?: unknown; error?: unknown };
  if (typeof message === "string") return message;
  return error instanceof Error ? error.message : "";
}

function parse(data: unknown): Record<string, unknown> | undefined {
  let text: string;
  if (typeof data === "string") text = data;
  else if (data instanceof ArrayBuffer) text = decoder.decode(data);
  else if (ArrayBuffer.isView(data)) text = decoder.decode(data);
  else return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
