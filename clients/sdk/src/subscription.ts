/** Subscriptions: one channel per group (its position, ordering, resume and gap filling),
 * and any number of handles on it — the group is left when the last handle unsubscribes. */
import { Emitter } from "./emitter.js";
import type { RealtimeError } from "./errors.js";
import type { Envelope, HistoryResponse, Subscribed } from "./generated/protocol.js";
import { Sequencer, type StreamPosition } from "./ordering.js";
import type { TimerHandle, Timers } from "./timers.js";

export type { StreamPosition } from "./ordering.js";

export type SubscriptionState = "subscribing" | "subscribed" | "unsubscribed";

export interface SubscribedContext {
  /** The position the subscription starts (or resumes) from. */
  seq: number;
  epoch: string;
  /** Whether every message missed since the previous position is (or is being) delivered. */
  recovered: boolean;
  /** Whether this subscription resumed from an earlier position (a reconnect). */
  wasRecovering: boolean;
}

export type ResetReason =
  /** The group's sequence was reset (new epoch): earlier positions mean nothing. */
  | "epoch"
  /** Resuming could not replay the gap (`recovered: false`) and history did not cover it. */
  | "unrecovered"
  /** The replay failed mid-way (`RecoveryFailed`) and history did not cover the rest. */
  | "recoveryFailed"
  /** A gap no late frame and no history filled. */
  | "gap";

export interface ResetContext {
  reason: ResetReason;
  /** The last position delivered before the reset. */
  previous: StreamPosition | undefined;
  /** Delivery goes on after this position. */
  position: StreamPosition;
}

export interface UnsubscribedContext {
  /** Why the server ended the subscription (Forbidden, UnknownGroup…); none after `unsubscribe()`. */
  error?: RealtimeError;
}

export type MessageHandler = (event: Envelope) => void;

export interface SubscriptionEvents {
  /** Every message of the group, exactly once and in seq order. */
  message: MessageHandler;
  subscribed: (context: SubscribedContext) => void;
  /** History could not cover a gap: reload your state; delivery continues from `position`. */
  reset: (context: ResetContext) => void;
  error: (error: RealtimeError) => void;
  unsubscribed: (context: UnsubscribedContext) => void;
}

/** What a channel needs from the client. */
export interface ChannelHost {
  readonly timers: Timers;
  readonly reorderWindowMs: number;
  readonly maxBuffered: number;
  readonly connected: boolean;
  /** Calls back synchronously, as the reply is read. */
  subscribe(
    frame: { group: string; since?: number; epoch?: string },
    resolve: (reply: Subscribed) => void,
    reject: (error: RealtimeError) => void,
  ): void;
  unsubscribe(group: string): void;
  /** Undefined without `restUrl`. */
  readonly history: ((group: string, after: number, limit: number, signal: AbortSignal) => Promise<HistoryResponse>) | undefined;
  dispatch(event: Envelope): void;
  reportError(error: unknown): void;
  reconnect(reason: string): void;
  release(channel: Channel): void;
}

const HISTORY_PAGE = 1000;
const RETRY_SUBSCRIBE_MS = 1000;

/** One handle on a group's stream, as returned by `client.subscribe`. */
export class Subscription {
  /** @internal */
  readonly emitter: Emitter<SubscriptionEvents>;
  private released = false;

  /** @internal */
  constructor(
    readonly group: string,
    private readonly channel: Channel,
    onListenerError: (error: unknown) => void,
  ) {
    this.emitter = new Emitter<SubscriptionEvents>(onListenerError);
  }

  get state(): SubscriptionState {
    return this.released ? "unsubscribed" : this.channel.state;
  }

  /** The last position delivered (also after a reconnect), if any. */
  get position(): StreamPosition | undefined {
    return this.released ? undefined : this.channel.position;
  }

  on<K extends keyof SubscriptionEvents>(name: K, listener: SubscriptionEvents[K]): () => void {
    return this.emitter.on(name, listener);
  }

  off<K extends keyof SubscriptionEvents>(name: K, listener?: SubscriptionEvents[K]): void {
    this.emitter.off(name, listener);
  }

  /** Stops this handle; the group is left when no other handle remains. */
  unsubscribe(): void {
    if (this.released) return;
    this.channel.remove(this);
  }

  /** @internal */
  end(context: UnsubscribedContext): void {
    if (this.released) return;
    this.released = true;
    this.emitter.emit("unsubscribed", context);
    this.emitter.clear();
  }
}

/** @internal The shared state of one group. */
export class Channel {
  state: SubscriptionState = "subscribing";
  readonly handles = new Set<Subscription>();
  private readonly sequencer = new Sequencer((event) => this.deliver(event));
  private last: SubscribedContext | undefined;
  private generation = 0;
  private retry: TimerHandle | undefined;
  private gapTimer: TimerHandle | undefined;
  private filling: AbortController | undefined;
  private closed = false;
  /** The next Subscribed follows a RecoveryFailed (for the reset's reason). */
  private recoveryFailed = false;

  constructor(
    readonly group: string,
    private readonly host: ChannelHost,
  ) {}

  get position(): StreamPosition | undefined {
    return this.sequencer.position;
  }

  /** Before the first subscribe: start from a known position, so the first `subscribe`
   * carries `since`/`epoch` and resumes (a widget resubscribing after a pause). */
  resumeFrom(position: StreamPosition): void {
    this.sequencer.moveTo({ seq: position.seq, epoch: position.epoch });
  }

  add(handle: Subscription): void {
    this.handles.add(handle);
    const last = this.last;
    if (this.state === "subscribed" && last) queueMicrotask(() => handle.emitter.emit("subscribed", { ...last }));
  }

  remove(handle: Subscription): void {
    this.handles.delete(handle);
    handle.end({});
    if (this.handles.size > 0) return;
    this.stop();
    if (this.host.connected) this.host.unsubscribe(this.group);
    this.host.release(this);
  }

  /** (Re)subscribes on the open socket: with `since`/`epoch` when a position is known. */
  start(fresh = false): void {
    if (this.closed) return;
    this.halt();
    this.state = "subscribing";
    const generation = this.generation;
    const since = fresh ? undefined : this.sequencer.position;
    const previous = this.sequencer.position;
    const frame = since ? { group: this.group, since: since.seq, epoch: since.epoch } : { group: this.group };
    this.host.subscribe(
      frame,
      (reply) => generation === this.generation && this.subscribed(reply, previous, fresh),
      (error) => generation === this.generation && this.refused(error),
    );
  }

  /** The socket dropped: everything in flight is void; `start` runs again on reconnect. */
  down(): void {
    this.halt();
    if (!this.closed) this.state = "subscribing";
  }

  /** An envelope of this group, from the socket. */
  push(event: Envelope): void {
    if (this.closed) return;
    const outcome = this.sequencer.push(event);
    if (outcome === "epoch") {
      const previous = this.sequencer.position;
      this.reset("epoch", previous, { seq: event.seq - 1, epoch: event.epoch });
      this.sequencer.push(event);
    } else if (outcome === "buffered" && this.state === "subscribed") {
      this.watchGap();
    }
  }

  /** An Error frame about this group outside any request: the replay stopped and the server
   * left the group. RateLimited: resume again after `retryAfter`; RecoveryFailed: start afresh. */
  replayFailed(error: RealtimeError): void {
    if (this.closed) return;
    this.halt();
    this.state = "subscribing";
    if (error.code === "RateLimited") {
      this.retry = this.host.timers.set(() => this.start(), (error.retryAfter ?? 1) * 1000);
    } else {
      this.recoveryFailed = true;
      this.start(true);
    }
  }

  /** The server will not have this group on this connection any more (a refused subscribe,
   * or a refreshed token that may not read it). */
  refuse(error: RealtimeError): void {
    if (this.closed) return;
    this.stop();
    for (const handle of [...this.handles]) {
      handle.emitter.emit("error", error);
      handle.end({ error });
    }
    this.handles.clear();
    this.host.release(this);
  }

  /** close(): forget everything. */
  stop(): void {
    this.closed = true;
    this.state = "unsubscribed";
    this.halt();
    this.sequencer.clear();
  }

  private subscribed(reply: Subscribed, previous: StreamPosition | undefined, fresh: boolean): void {
    const now = { seq: reply.seq, epoch: reply.epoch };
    const failedReplay = this.recoveryFailed;
    this.recoveryFailed = false;
    if (!previous) {
      this.sequencer.moveTo(now);
      return this.settle({ ...now, recovered: false, wasRecovering: false });
    }
    const resumed = { ...now, wasRecovering: true };
    if (reply.epoch !== previous.epoch || reply.seq < previous.seq) {
      this.reset(reply.epoch !== previous.epoch ? "epoch" : "unrecovered", previous, now);
      return this.settle({ ...resumed, recovered: false });
    }
    if (!fresh && reply.recovered !== false) {
      // The replay (since+1 … seq) follows on the socket, then live messages.
      return this.settle({ ...resumed, recovered: true });
    }
    // The socket will not replay the gap; history may.
    const reason = failedReplay ? "recoveryFailed" : "unrecovered";
    if (!this.host.history || now.seq === previous.seq) {
      if (now.seq !== previous.seq) this.reset(reason, previous, now);
      return this.settle({ ...resumed, recovered: now.seq === previous.seq });
    }
    const generation = this.generation;
    void this.fill(now.seq).then((filled) => {
      if (filled === undefined || generation !== this.generation) return;
      if (!filled) this.reset(reason, this.sequencer.position, now);
      this.settle({ ...resumed, recovered: filled });
    });
  }

  private refused(error: RealtimeError): void {
    switch (error.code) {
      case "ConnectionLost":
      case "Disconnected":
      case "Unauthorized": // the token expired: the client reconnects and subscribes again
        return;
      case "Timeout":
        return this.host.reconnect(`no reply to subscribe ${this.group}`);
      case "RateLimited":
      case "ServiceUnavailable":
      case "InternalError":
        this.retry = this.host.timers.set(() => this.start(), (error.retryAfter ?? RETRY_SUBSCRIBE_MS / 1000) * 1000);
        return;
      default:
        return this.refuse(error);
    }
  }

  private settle(context: SubscribedContext): void {
    this.state = "subscribed";
    this.last = context;
    this.emit("subscribed", context);
    this.watchGap();
  }

  private reset(reason: ResetReason, previous: StreamPosition | undefined, position: StreamPosition): void {
    this.emit("reset", { reason, previous, position });
    this.sequencer.moveTo(position);
  }

  /** Hold out-of-order envelopes back briefly (a racing publisher's message is on its way);
   * then fill the gap from history, or give up on it. */
  private watchGap(): void {
    if (this.gapTimer !== undefined || this.filling || !this.sequencer.gap) return;
    if (this.sequencer.buffered > this.host.maxBuffered) return this.fillGap();
    this.gapTimer = this.host.timers.set(() => {
      this.gapTimer = undefined;
      this.fillGap();
    }, this.host.reorderWindowMs);
  }

  private fillGap(): void {
    this.gapTimer = this.host.timers.clear(this.gapTimer);
    const gap = this.sequencer.gap;
    const at = this.sequencer.position;
    if (!gap || !at) return;
    const target = gap.before - 1;
    if (!this.host.history) {
      this.reset("gap", at, { seq: target, epoch: at.epoch });
      return this.watchGap();
    }
    const generation = this.generation;
    void this.fill(target).then((filled) => {
      if (filled === undefined || generation !== this.generation) return;
      const now = this.sequencer.position;
      if (!filled && now && now.seq < target) this.reset("gap", now, { seq: target, epoch: now.epoch });
      this.watchGap();
    });
  }

  /** Delivers history after the position up to `target`: true when it got there, false when
   * history lacks a message (or failed), undefined when abandoned (socket down, close). */
  private async fill(target: number): Promise<boolean | undefined> {
    const history = this.host.history;
    if (!history) return false;
    const controller = new AbortController();
    this.filling = controller;
    try {
      for (;;) {
        const at = this.sequencer.position;
        if (!at) return false;
        if (at.seq >= target) return true;
        const page = await history(this.group, at.seq, Math.min(HISTORY_PAGE, target - at.seq), controller.signal);
        if (controller.signal.aborted) return undefined;
        const items = page.items as unknown as Envelope[]; // envelopes, in seq order
        const first = items[0];
        if (!first || first.seq !== at.seq + 1 || first.epoch !== at.epoch) return false;
        for (const item of items) {
          if (item.seq > target) break;
          if (this.sequencer.push(item) === "epoch") return false;
        }
        if (page.next === null && (this.sequencer.position?.seq ?? 0) < target) return false;
      }
    } catch (error) {
      if (controller.signal.aborted) return undefined;
      this.host.reportError(error);
      return false;
    } finally {
      if (this.filling === controller) this.filling = undefined;
    }
  }

  /** Voids whatever is in flight: replies, retries, the gap timer, a history fill. */
  private halt(): void {
    this.generation++;
    this.retry = this.host.timers.clear(this.retry);
    this.gapTimer = this.host.timers.clear(this.gapTimer);
    this.filling?.abort();
    this.filling = undefined;
  }

  private deliver(event: Envelope): void {
    for (const listener of this.union("message")) {
      try {
        listener(event);
      } catch (error) {
        this.host.reportError(error);
      }
    }
    this.host.dispatch(event);
  }

  /** Emits to every handle; a listener on several handles is called once. */
  private emit<K extends "subscribed" | "reset">(name: K, ...args: Parameters<SubscriptionEvents[K]>): void {
    for (const listener of this.union(name)) {
      try {
        (listener as (...a: Parameters<SubscriptionEvents[K]>) => void)(...args);
      } catch (error) {
        this.host.reportError(error);
      }
    }
  }

  private union<K extends keyof SubscriptionEvents>(name: K): Set<SubscriptionEvents[K]> {
    const all = new Set<SubscriptionEvents[K]>();
    for (const handle of this.handles) for (const listener of handle.emitter.listenersOf(name)) all.add(listener);
    return all;
  }
}
