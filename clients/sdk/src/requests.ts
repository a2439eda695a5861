/** Requests correlated by `requestId`: one timeout per request, a bounded queue while the
 * socket is down, and sending again what may safely be sent again after a drop. */
import { RealtimeError } from "./errors.js";
import type { ErrorReply, ServerReply } from "./generated/protocol.js";
import type { TimerHandle, Timers } from "./timers.js";

export type ReplyType = Exclude<ServerReply["type"], "Error">;
export type ReplyOf<T extends ReplyType> = Extract<ServerReply, { type: T }>;

export interface RequestOptions {
  timeoutMs: number;
  /** May wait in the queue for a connection (not subscribe or ping: the client sends those
   * only on an open socket). */
  queue: boolean;
  /** May be sent again when the socket dropped before the reply: reads, refresh, and
   * publishes with an idempotency key. Others are rejected with ConnectionLost. */
  resend: boolean;
}

interface Pending {
  order: number;
  frame: Record<string, unknown> & { requestId: string };
  expect: ReplyType;
  options: RequestOptions;
  deadline: number;
  sent: boolean;
  timer: TimerHandle | undefined;
  retry: TimerHandle | undefined;
  resolve(reply: ServerReply): void;
  reject(error: RealtimeError): void;
}

export class Requests {
  private readonly pending = new Map<string, Pending>();
  private queue: Pending[] = [];
  private counter = 0;
  private online = false;

  constructor(
    private readonly timers: Timers,
    private readonly send: (frame: object) => boolean,
    private readonly maxQueued: number,
  ) {}

  request<T extends ReplyType>(frame: Record<string, unknown>, expect: T, options: RequestOptions): Promise<ReplyOf<T>> {
    return new Promise<ReplyOf<T>>((resolve, reject) => this.start(frame, expect, options, resolve, reject));
  }

  /** `request` with callbacks, called synchronously with the frame that settles it: what
   * must happen before the next frame is read (a Subscribed reply sets the position that the
   * next envelope is ordered against) cannot wait for a promise's microtask. */
  start<T extends ReplyType>(
    frame: Record<string, unknown>,
    expect: T,
    options: RequestOptions,
    resolve: (reply: ReplyOf<T>) => void,
    reject: (error: RealtimeError) => void,
  ): void {
    {
      const order = ++this.counter;
      const entry: Pending = {
        order,
        frame: { ...frame, requestId: `r${order}` },
        expect,
        options,
        deadline: Date.now() + options.timeoutMs,
        sent: false,
        timer: undefined,
        retry: undefined,
        resolve: resolve as (reply: ServerReply) => void,
        reject,
      };
      if (!this.online && !options.queue) {
        reject(new RealtimeError("Disconnected", "not connected"));
        return;
      }
      if (!this.online && this.queue.length >= this.maxQueued) {
        reject(new RealtimeError("QueueFull", `${this.maxQueued} requests are already waiting for the connection`));
        return;
      }
      entry.timer = this.timers.set(
        () => this.fail(entry, new RealtimeError("Timeout", `no reply to ${String(frame.action)} within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      this.pending.set(entry.frame.requestId, entry);
      this.dispatch(entry);
    }
  }

  /** The socket opened (send the queue, in order, with `flush` once the client has sent what
   * must go first) or dropped (queue again what may be resent, reject the rest). */
  setOnline(online: boolean): void {
    this.online = online;
    if (online) return;
    for (const entry of [...this.pending.values()]) {
      if (!entry.sent) continue;
      entry.sent = false;
      if (entry.options.resend) this.queue.push(entry);
      else this.fail(entry, new RealtimeError("ConnectionLost", `the connection dropped before the reply to ${String(entry.frame.action)}`));
    }
    this.queue.sort((a, b) => a.order - b.order);
  }

  flush(): void {
    const queued = this.queue;
    this.queue = [];
    for (const entry of queued) this.dispatch(entry);
  }

  /** Routes a reply or an Error frame carrying one of our request ids; false otherwise. */
  handle(frame: ServerReply): boolean {
    const entry = frame.requestId === undefined ? undefined : this.pending.get(frame.requestId);
    if (!entry) return false;
    if (frame.type === "Error") {
      const error = RealtimeError.fromReply(frame);
      if (frame.code === "RateLimited" && this.retryLater(entry, frame)) return true;
      this.fail(entry, error);
    } else if (frame.type !== entry.expect) {
      this.fail(entry, new RealtimeError("InternalError", `expected ${entry.expect}, got ${frame.type}`));
    } else {
      this.settle(entry);
      entry.resolve(frame);
    }
    return true;
  }

  /** The server refused the request because the connection's token expired: it has not
   * run, so a queueable request goes again on the next connection (even a publish without
   * an idempotency key); subscribe and ping are sent afresh by the client anyway. */
  requeue(requestId: string): boolean {
    const entry = this.pending.get(requestId);
    if (!entry) return false;
    if (!entry.options.queue) {
      this.fail(entry, new RealtimeError("ConnectionLost", "the connection's token expired"));
      return true;
    }
    entry.sent = false;
    if (!this.queue.includes(entry)) this.queue.push(entry);
    this.queue.sort((a, b) => a.order - b.order);
    return true;
  }

  rejectAll(error: RealtimeError): void {
    for (const entry of [...this.pending.values()]) this.fail(entry, error);
    this.queue = [];
  }

  get size(): number {
    return this.pending.size;
  }

  private dispatch(entry: Pending): void {
    if (this.online && this.send(entry.frame)) {
      entry.sent = true;
    } else if (!entry.options.queue) {
      this.fail(entry, new RealtimeError("Disconnected", "not connected"));
    } else if (!this.queue.includes(entry)) {
      this.queue.push(entry);
    }
  }

  /** RateLimited: send again after `retryAfter`, if that is before the request's deadline. */
  private retryLater(entry: Pending, reply: ErrorReply): boolean {
    const delayMs = Math.max(0, (reply.retryAfter ?? 1) * 1000);
    if (Date.now() + delayMs >= entry.deadline) return false;
    entry.sent = false;
    entry.retry = this.timers.set(() => {
      entry.retry = undefined;
      this.dispatch(entry);
    }, delayMs);
    return true;
  }

  private settle(entry: Pending): void {
    this.pending.delete(entry.frame.requestId);
    this.queue = this.queue.filter((queued) => queued !== entry);
    entry.timer = this.timers.clear(entry.timer);
    entry.retry = this.timers.clear(entry.retry);
  }

  private fail(entry: Pending, error: RealtimeError): void {
    if (!this.pending.has(entry.frame.requestId)) return;
    this.settle(entry);
    entry.reject(error);
  }
}
