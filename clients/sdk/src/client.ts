/** The client: one WebSocket at a time, reconnected forever (until `close()` or a terminal
 * refusal), every subscription re-established with `since`/`epoch` on every connection,
 * requests correlated by `requestId`, the token refreshed before it expires, liveness
 * pings, and a proactive reconnect before API Gateway's 2-hour limit. */
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { RealtimeError, asRealtimeError } from "./errors.js";
import {
  DEFAULT_GROUPS,
  type ConnectionCounts,
  type Envelope,
  type EventDataMap,
  type GroupPresence,
  type PlatformSnapshot,
  type Published,
  type ServerReply,
} from "./generated/protocol.js";
import { Rest, type FetchLike } from "./rest.js";
import { Requests, type ReplyOf, type ReplyType } from "./requests.js";
import { Channel, Subscription, type ChannelHost, type MessageHandler, type StreamPosition } from "./subscription.js";
import { Timers, type TimerHandle } from "./timers.js";
import { tokenExpiry, withToken } from "./token.js";
import { Transport, type TransportClose, type WebSocketConstructor } from "./transport.js";
import { watchWakeups } from "./wakeups.js";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

export interface StateChange {
  previous: ConnectionState;
  /** Why: the refusal that ended the client (`disconnected`), or what dropped the socket. */
  reason?: RealtimeError;
}

export interface ClientEvents {
  state: (state: ConnectionState, change: StateChange) => void;
  /** Problems that reject nothing: a listener that threw, an Error frame no request awaited,
   * a failed history fill. */
  error: (error: RealtimeError) => void;
}

export type EventType = keyof EventDataMap;

/** An envelope whose `data` is typed by its `type`. */
export type TypedEnvelope<T extends EventType> = Omit<Envelope, "type" | "data"> & { type: T; data: EventDataMap[T] };

export type EventHandler<T extends EventType> = (data: EventDataMap[T], event: TypedEnvelope<T>) => void;

export interface PublishMessage<T extends EventType = EventType> {
  type: T;
  data: EventDataMap[T];
  /** Default: the event type's default group (`Alert` → `alerts`…). */
  group?: string;
  /** Instead of a group: every open connection of this user. */
  userId?: string;
}

export interface PublishOptions {
  /** A retry with the same key within 1 hour delivers nothing twice. With a key, a publish in
   * flight when the socket drops is sent again after the reconnect; without one it is rejected
   * with `ConnectionLost` (its outcome is unknown). */
  idempotencyKey?: string;
  timeoutMs?: number;
}

export interface SubscribeOptions {
  /** Resume from this position — e.g. the `position` a paused widget's handle had when it
   * unsubscribed: the server replays what the group published after it (history fills what
   * the replay cannot; `reset` when neither can). Ignored when the group already has a
   * handle (the group's stream has its own position then). */
  resumeFrom?: StreamPosition;
}

export interface RequestOptions {
  timeoutMs?: number;
}

export type PublishReply = Omit<Published, "requestId">;

export interface RealtimeClientOptions {
  /** The WebSocket URL without the token, e.g. `wss://…/prod` or `ws://127.0.0.1:8000/ws`. */
  url: string;
  /** Called before every connect and reconnect, before each token refresh, and for REST calls. */
  getToken: () => string | Promise<string>;
  /** The REST base URL (`…/api/admin/realtime`): fills gaps from history, and tells an
   * expired token from a forbidden one after failed handshakes (`GET /me`). */
  restUrl?: string;
  /** A WebSocket constructor; default `globalThis.WebSocket` (Node 20: pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Reconnect backoff (full jitter). Defaults: 1 s initial cap, 30 s max. */
  backoff?: BackoffOptions;
  /** Replaces the backoff: the delay before retry `attempt` (0-based), or null to give up
   * (the client then ends `disconnected` with `ReconnectGaveUp`). */
  reconnectDelay?: (attempt: number, elapsedMs: number) => number | null;
  /** Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** A handshake that has not opened by then is abandoned and retried. Default 10,000 ms. */
  connectTimeoutMs?: number;
  /** Default 30,000 ms (API Gateway closes idle connections after 10 minutes). */
  pingIntervalMs?: number;
  /** No Pong by then: the socket is dead, reconnect. Default 10,000 ms. */
  pongTimeoutMs?: number;
  /** Reconnect (resuming every group) before API Gateway's 2-hour limit. Default 110 minutes. */
  maxConnectionAgeMs?: number;
  /** Refresh the token this long before it expires (at most half its lifetime). Default 60,000 ms. */
  tokenRefreshMarginMs?: number;
  /** Requests waiting for a connection; more are rejected with `QueueFull`. Default 100. */
  maxQueuedRequests?: number;
  /** How long out-of-order messages are held back before the gap is filled from history. Default 1,000 ms. */
  reorderWindowMs?: number;
  /** Held-back messages per group before the gap is filled at once. Default 1,000. */
  maxBufferedPerGroup?: number;
  /** Check the token over REST after this many failed handshakes in a row (and after the
   * first one of the first connect). Default 2. */
  authProbeAfterFailures?: number;
}

type Resolved = Required<Omit<RealtimeClientOptions, "restUrl" | "WebSocket" | "fetch" | "reconnectDelay" | "backoff">> & {
  backoff: Required<BackoffOptions>;
};

export const DEFAULTS = {
  requestTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  maxConnectionAgeMs: 110 * 60_000,
  tokenRefreshMarginMs: 60_000,
  maxQueuedRequests: 100,
  reorderWindowMs: 1_000,
  maxBufferedPerGroup: 1_000,
  authProbeAfterFailures: 2,
  backoff: DEFAULT_BACKOFF,
} as const;

const REPLY_TYPES = new Set<string>([
  "Subscribed",
  "Unsubscribed",
  "PlatformStats",
  "ConnectionCount",
  "Presence",
  "Published",
  "Pong",
  "Refreshed",
  "Error",
]);
/** No tick for this long (a sleeping machine, a frozen tab): API Gateway has closed the
 * idle connection, whatever the socket says. */
const API_GATEWAY_IDLE_MS = 10 * 60_000;
/** Close codes the client uses for its own reasons (4000–4999 are the application's). */
const CLOSE_RECONNECT = 4000;

export class RealtimeClient {
  private readonly options: Resolved;
  private readonly url: string;
  private readonly getToken: () => string | Promise<string>;
  private readonly Socket: WebSocketConstructor | undefined;
  private readonly reconnectDelay: RealtimeClientOptions["reconnectDelay"];
  private readonly rest: Rest | undefined;
  private readonly timers = new Timers();
  private readonly emitter = new Emitter<ClientEvents>((error) => this.reportError(error));
  private readonly eventHandlers = new Map<string, Set<(data: never, event: never) => void>>();
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly channels = new Map<string, Channel>();
  private readonly requests: Requests;
  private readonly host: ChannelHost;
  private currentState: ConnectionState = "disconnected";
  private reason: RealtimeError | undefined;
  private transport: Transport | undefined;
  /** Bumped by close() and terminal refusals: async work of an earlier run then does nothing. */
  private session = 0;
  private attempt = 0;
  private handshakeFailures = 0;
  private unauthorizedHandshakes = 0;
  private everConnected = false;
  private reconnectingSince: number | undefined;
  private immediateReconnect = false;
  private waiters: { resolve: () => void; reject: (error: RealtimeError) => void }[] = [];
  private stopWakeups: (() => void) | undefined;
  private connectTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private tickTimer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  private connectedAt = 0;
  private lastTick = 0;
  private token: string | undefined;
  private tokenIssuedAt = 0;
  private tokenExpiresAt: number | undefined;
  private refreshing = false;
  private reporting = false;
  private readonly userSeq = new Map<string, number>();

  constructor(options: RealtimeClientOptions) {
    if (!options || typeof options.url !== "string") throw new TypeError("RealtimeClient: `url` is required");
    if (typeof options.getToken !== "function") throw new TypeError("RealtimeClient: `getToken` is required");
    this.url = new URL(options.url).toString();
    this.getToken = options.getToken;
    this.Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.reconnectDelay = options.reconnectDelay;
    const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    this.options = { ...DEFAULTS, ...defined, backoff: { ...DEFAULT_BACKOFF, ...options.backoff } } as Resolved;
    const fetcher = options.fetch ?? (globalThis.fetch ? (globalThis.fetch.bind(globalThis) as FetchLike) : undefined);
    this.rest = options.restUrl && fetcher ? new Rest(options.restUrl, fetcher) : undefined;
    this.requests = new Requests(this.timers, (frame) => this.transport?.send(frame) ?? false, this.options.maxQueuedRequests);
    this.host = this.channelHost();
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Why the client is `disconnected`, when a refusal (not `close()`) ended it. */
  get disconnectReason(): RealtimeError | undefined {
    return this.reason;
  }

  /** Resolves once connected (at once if already); rejects on a terminal refusal
   * (`Unauthorized`, `Forbidden`) or `close()`. Transient failures are retried meanwhile. */
  connect(): Promise<void> {
    if (this.currentState === "connected") return Promise.resolve();
    const connected = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.currentState === "disconnected") {
      this.reason = undefined;
      this.attempt = this.handshakeFailures = this.unauthorizedHandshakes = 0;
      this.everConnected = false;
      this.setState("connecting");
      this.stopWakeups = watchWakeups((why) => this.wake(why));
      void this.open();
    }
    return connected;
  }

  /** Closes the socket and forgets everything: subscriptions, positions, queued requests,
   * timers. The client may `connect()` again, from scratch. */
  close(): void {
    this.shutdown(undefined, true);
  }

  /** Subscribes to `group` (before or after `connect`). Every handle receives every message
   * of the group exactly once, in seq order; the group is left when its last handle unsubscribes.
   * `resumeFrom` picks up where an earlier handle left off. */
  subscribe(group: string, handler?: MessageHandler, options: SubscribeOptions = {}): Subscription {
    let channel = this.channels.get(group);
    if (!channel) {
      channel = new Channel(group, this.host);
      const from = options.resumeFrom;
      if (from !== undefined) {
        if (!Number.isSafeInteger(from.seq) || from.seq < 0 || typeof from.epoch !== "string" || from.epoch === "") {
          throw new TypeError("subscribe: `resumeFrom` must be a position {seq, epoch} (a handle's `position`)");
        }
        channel.resumeFrom(from);
      }
      this.channels.set(group, channel);
      if (this.currentState === "connected") channel.start();
    }
    const subscription = new Subscription(group, channel, (error) => this.reportError(error));
    if (handler) subscription.on("message", handler);
    channel.add(subscription);
    return subscription;
  }

  on<K extends keyof ClientEvents>(name: K, listener: ClientEvents[K]): () => void {
    return this.emitter.on(name, listener);
  }

  off<K extends keyof ClientEvents>(name: K, listener?: ClientEvents[K]): void {
    this.emitter.off(name, listener);
  }

  /** `handler(data, event)` for every message of `type`, from every subscribed group (and
   * messages targeted at this user). Returns a function that removes it. */
  onEvent<T extends EventType>(type: T, handler: EventHandler<T>): () => void {
    let set = this.eventHandlers.get(type);
    if (!set) this.eventHandlers.set(type, (set = new Set()));
    set.add(handler as (data: never, event: never) => void);
    return () => this.offEvent(type, handler);
  }

  offEvent<T extends EventType>(type: T, handler?: EventHandler<T>): void {
    if (handler === undefined) this.eventHandlers.delete(type);
    else this.eventHandlers.get(type)?.delete(handler as (data: never, event: never) => void);
  }

  /** Every message of every subscribed group, in order per group. Returns a remover. */
  onMessage(handler: MessageHandler): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  async getPlatformStats(options: RequestOptions = {}): Promise<PlatformSnapshot> {
    return (await this.call({ action: "getPlatformStats" }, "PlatformStats", true, options.timeoutMs)).data;
  }

  async getConnectionCount(options: RequestOptions = {}): Promise<ConnectionCounts> {
    return (await this.call({ action: "getConnectionCount" }, "ConnectionCount", true, options.timeoutMs)).data;
  }

  async getPresence(group: string, options: RequestOptions = {}): Promise<GroupPresence> {
    return (await this.call({ action: "getPresence", group }, "Presence", true, options.timeoutMs)).data;
  }

  async publish<T extends EventType>(message: PublishMessage<T>, options: PublishOptions = {}): Promise<PublishReply> {
    const target =
      message.userId !== undefined ? { userId: message.userId } : { group: message.group ?? DEFAULT_GROUPS[message.type] };
    const frame = {
      action: "publish",
      ...target,
      type: message.type,
      data: message.data,
      ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
    };
    const { requestId: _requestId, ...reply } = await this.call(frame, "Published", options.idempotencyKey !== undefined, options.timeoutMs);
    return reply;
  }

  // -- connection ---------------------------------------------------------------------

  private async open(): Promise<void> {
    const session = this.session;
    this.reconnectTimer = this.timers.clear(this.reconnectTimer);
    if (this.transport) return;
    let token: string;
    try {
      token = await this.freshToken();
    } catch (error) {
      if (session !== this.session) return;
      this.reportError(asRealtimeError(error));
      return this.scheduleReconnect();
    }
    if (session !== this.session || this.transport) return;
    const Socket = this.Socket;
    if (!Socket) {
      const error = new RealtimeError("TransportError", "no WebSocket here: pass the `WebSocket` option (Node 20: `ws`)");
      return this.shutdown(error, false);
    }
    let transport: Transport | undefined;
    try {
      transport = new Transport(Socket, withToken(this.url, token), {
        open: () => transport === this.transport && this.opened(token),
        frame: (frame) => transport === this.transport && this.receive(frame),
        close: (info) => transport === this.transport && this.closed(info),
      });
    } catch (error) {
      this.reportError(asRealtimeError(error));
      return this.scheduleReconnect();
    }
    this.transport = transport;
    this.connectTimer = this.timers.set(() => transport?.close(CLOSE_RECONNECT, "connect timeout"), this.options.connectTimeoutMs);
  }

  /** A token from `getToken`; asked twice when the first is already expired (a stale cache). */
  private async freshToken(): Promise<string> {
    const token = await this.getToken();
    const expiry = tokenExpiry(token);
    if (expiry !== undefined && expiry <= Date.now()) return this.getToken();
    return token;
  }

  private opened(token: string): void {
    this.connectTimer = this.timers.clear(this.connectTimer);
    const now = Date.now();
    this.connectedAt = this.lastTick = this.tokenIssuedAt = now;
    this.token = token;
    this.tokenExpiresAt = tokenExpiry(token);
    this.handshakeFailures = this.unauthorizedHandshakes = 0;
    this.reconnectingSince = undefined;
    this.everConnected = true;
    this.requests.setOnline(true);
    this.setState("connected");
    for (const channel of [...this.channels.values()]) channel.start(); // subscriptions first
    this.requests.flush();
    this.tickTimer = this.timers.set(() => this.tick(), this.options.pingIntervalMs);
    if (this.tokenExpiresAt === undefined && this.rest) this.lookUpExpiry(token);
    else this.scheduleRefresh();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private closed(info: TransportClose): void {
    this.transport = undefined;
    this.connectTimer = this.timers.clear(this.connectTimer);
    this.tickTimer = this.timers.clear(this.tickTimer);
    this.refreshTimer = this.timers.clear(this.refreshTimer);
    this.requests.setOnline(false);
    for (const channel of this.channels.values()) channel.down();
    if (!info.opened) {
      void this.handshakeFailed(info);
      return;
    }
    const reason = new RealtimeError("ConnectionLost", `the socket closed (${info.code}${info.reason ? ` ${info.reason}` : ""})`);
    this.setState("reconnecting", reason);
    this.scheduleReconnect();
  }

  /** Browsers hide a refused handshake's status: after failures, ask `getToken` again and
   * check the token over REST, to tell expired (retry) from forbidden (terminal). */
  private async handshakeFailed(info: TransportClose): Promise<void> {
    const session = this.session;
    const failures = ++this.handshakeFailures;
    if (info.status === 403) return this.shutdown(new RealtimeError("Forbidden", "the handshake was refused (403)", { status: 403 }), false);
    if (info.status === 401) this.unauthorizedHandshakes++;
    const probe =
      info.status === 401 ||
      (!this.everConnected && failures === 1) ||
      failures % Math.max(1, this.options.authProbeAfterFailures) === 0;
    if (this.rest && probe) {
      const verdict = await this.probe();
      if (session !== this.session) return;
      if (verdict) return this.shutdown(verdict, false);
    } else if (!this.rest && this.unauthorizedHandshakes >= 2) {
      const error = new RealtimeError("Unauthorized", "the handshake was refused (401) twice, each time with a token from getToken", {
        status: 401,
      });
      return this.shutdown(error, false);
    }
    this.scheduleReconnect();
  }

  /** The terminal refusal the token earns, if any (undefined: not an auth problem). */
  private async probe(): Promise<RealtimeError | undefined> {
    const rest = this.rest;
    if (!rest) return undefined;
    try {
      const me = await rest.me(await this.getToken());
      if (me.canConnect) return undefined;
      return new RealtimeError("Forbidden", `user ${me.userId} may not connect (roles: ${me.roles.join(", ") || "none"})`, { status: 403 });
    } catch (error) {
      const failure = asRealtimeError(error);
      if (failure.status === 401) return new RealtimeError("Unauthorized", failure.message, { status: 401 });
      if (failure.status === 403) return new RealtimeError("Forbidden", failure.message, { status: 403 });
      return undefined; // the network or the server: keep trying
    }
  }

  private scheduleReconnect(): void {
    if (this.currentState === "disconnected") return;
    const now = Date.now();
    this.reconnectingSince ??= now;
    let delay: number | null;
    if (this.immediateReconnect) {
      this.immediateReconnect = false;
      delay = 0;
    } else {
      delay = this.reconnectDelay
        ? this.reconnectDelay(this.attempt, now - this.reconnectingSince)
        : backoffDelay(this.attempt, this.options.backoff);
      this.attempt++;
    }

    if (delay === null) return this.shutdown(new RealtimeError("ReconnectGaveUp", "gave up reconnecting"), false);
    this.reconnectTimer = this.timers.clear(this.reconnectTimer);
    this.reconnectTimer = this.timers.set(() => void this.open(), delay);
  }

  /** Drop the socket on purpose and connect again at once (dead socket, token refused,
   * connection age); every group resumes from its position. */
  private reconnectNow(why: string): void {
    const transport = this.transport;
    if (!transport) return;
    this.immediateReconnect = true;
    transport.close(CLOSE_RECONNECT, why.slice(0, 120));
  }

  private wake(_why: string): void {
    if (this.currentState === "connected") return this.ping();
    if (this.reconnectTimer !== undefined && !this.transport) {
      this.reconnectTimer = this.timers.clear(this.reconnectTimer);
      void this.open();
    }
  }

  /** Terminal refusal (`forget` false: subscriptions stay for a later `connect()`) or close(). */
  private shutdown(reason: RealtimeError | undefined, forget: boolean): void {
    this.session++;
    const closing = reason ?? new RealtimeError("Disconnected", "the client was closed");
    this.requests.rejectAll(closing);
    for (const channel of [...this.channels.values()]) {
      if (!forget) {
        channel.down();
        continue;
      }
      channel.stop();
      for (const handle of channel.handles) handle.end({});
      channel.handles.clear();
    }
    if (forget) {
      this.channels.clear();
      this.userSeq.clear();
    }
    const transport = this.transport;
    this.transport = undefined;
    transport?.close(1000, "client closed");
    this.timers.clearAll();
    this.connectTimer = this.reconnectTimer = this.tickTimer = this.refreshTimer = undefined;
    this.stopWakeups?.();
    this.stopWakeups = undefined;
    this.token = this.tokenExpiresAt = undefined;
    this.refreshing = false;
    this.immediateReconnect = false;
    this.reason = reason;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(closing);
    this.setState("disconnected", reason);
  }

  // -- liveness, age, token -------------------------------------------------------------

  /** Every ping interval: ping (no Pong in time: the socket is dead), and check the wall
   * clock — after a sleep, timers fire late or not at all: a gap past the idle limit means
   * the connection is gone, and the refresh and age deadlines are checked here too. */
  private tick(): void {
    const now = Date.now();
    const slept = now - this.lastTick > API_GATEWAY_IDLE_MS;
    this.lastTick = now;
    if (slept) return this.reconnectNow("the machine slept past API Gateway's idle limit");
    if (now - this.connectedAt >= this.options.maxConnectionAgeMs) {
      return this.reconnectNow("the connection nears API Gateway's 2-hour limit");
    }
    if (this.tokenExpiresAt !== undefined && now >= this.refreshDueAt()) void this.refreshToken();
    this.ping();
    this.tickTimer = this.timers.set(() => this.tick(), this.options.pingIntervalMs);
  }

  private ping(): void {
    const transport = this.transport;
    if (!transport) return;
    this.requests
      .request({ action: "ping" }, "Pong", { timeoutMs: this.options.pongTimeoutMs, queue: false, resend: false })
      .catch((error: unknown) => {
        if (asRealtimeError(error).code === "Timeout" && transport === this.transport) this.reconnectNow("no pong");
      });
  }

  private refreshDueAt(): number {
    const expires = this.tokenExpiresAt ?? Number.POSITIVE_INFINITY;
    const margin = Math.min(this.options.tokenRefreshMarginMs, Math.max(0, (expires - this.tokenIssuedAt) / 2));
    return expires - margin;
  }

  private scheduleRefresh(delayMs?: number): void {
    this.refreshTimer = this.timers.clear(this.refreshTimer);
    if (this.tokenExpiresAt === undefined || this.currentState !== "connected") return;
    const delay = delayMs ?? this.refreshDueAt() - Date.now();
    this.refreshTimer = this.timers.set(() => void this.refreshToken(), delay);
  }

  private lookUpExpiry(token: string): void {
    const session = this.session;
    this.rest?.me(token).then(
      (me) => {
        const expires = Date.parse(me.expiresAt);
        if (session !== this.session || token !== this.token || !Number.isFinite(expires)) return;
        this.tokenExpiresAt = expires;
        this.scheduleRefresh();
      },
      (error: unknown) => this.reportError(error),
    );
  }

  /** A new token from `getToken`, sent with the `refresh` action: the connection outlives
   * the token it opened with. Refused: reconnect with a fresh one. */
  private async refreshToken(): Promise<void> {
    if (this.refreshing || this.currentState !== "connected") return;
    this.refreshing = true;
    const session = this.session;
    const transport = this.transport;
    try {
      const token = await this.getToken();
      if (session !== this.session || transport !== this.transport) return;
      const expiry = tokenExpiry(token);
      if (token === this.token || (expiry !== undefined && this.tokenExpiresAt !== undefined && expiry <= this.tokenExpiresAt)) {
        // The same token again (a cache): ask again shortly; the server allows 30 s past expiry.
        const left = (this.tokenExpiresAt ?? Date.now()) - Date.now();
        return this.scheduleRefresh(Math.max(1_000, Math.min(10_000, left / 4)));
      }
      const reply = await this.requests.request({ action: "refresh", token }, "Refreshed", {
        timeoutMs: this.options.requestTimeoutMs,
        queue: false,
        resend: false,
      });
      if (session !== this.session || transport !== this.transport) return;
      this.token = token;
      this.tokenIssuedAt = Date.now();
      const expires = Date.parse(reply.expiresAt);
      this.tokenExpiresAt = Number.isFinite(expires) ? expires : expiry;
      for (const group of reply.unsubscribed ?? []) {
        this.channels.get(group)?.refuse(new RealtimeError("Forbidden", `the refreshed token may not read ${group}`, { group }));
      }
      this.scheduleRefresh();
    } catch (error) {
      if (session !== this.session || transport !== this.transport) return;
      const failure = asRealtimeError(error);
      if (failure.code === "Unauthorized" || failure.code === "Forbidden") this.reconnectNow("the token refresh was refused");
      else if (failure.code !== "ConnectionLost" && failure.code !== "Disconnected") {
        this.reportError(failure);
        this.scheduleRefresh(5_000);
      }
    } finally {
      this.refreshing = false;
    }
  }

  // -- frames -----------------------------------------------------------------------------

  private receive(frame: Record<string, unknown>): void {
    this.attempt = 0; // the server talks to us: the next drop starts the backoff over
    if (isEnvelope(frame)) return this.route(frame);
    const reply = frame as unknown as ServerReply;
    if (reply.type !== "Error") {
      this.requests.handle(reply);
      return;
    }
    if (reply.code === "Unauthorized") {
      // The connection's token expired (the server closes the socket next): the request did
      // not run; it goes again on a new connection with a fresh token.
      if (reply.requestId !== undefined) this.requests.requeue(reply.requestId);
      return this.reconnectNow("the connection's token expired");
    }
    if (this.requests.handle(reply)) return;
    const channel = reply.group === undefined ? undefined : this.channels.get(reply.group);
    if (channel && (reply.code === "RecoveryFailed" || reply.code === "RateLimited")) {
      return channel.replayFailed(RealtimeError.fromReply(reply));
    }
    this.reportError(RealtimeError.fromReply(reply));
  }

  private route(event: Envelope): void {
    if (event.group !== undefined) {
      this.channels.get(event.group)?.push(event);
      return;
    }
    if (event.userId === undefined) return;
    // Targeted at this user: seq per user, no resume; drop what was already seen.
    const key = `${event.userId}\u0000${event.epoch}`;
    if (event.seq <= (this.userSeq.get(key) ?? 0)) return;
    this.userSeq.set(key, event.seq);
    this.dispatch(event);
  }

  private dispatch(event: Envelope): void {
    for (const handler of [...this.messageHandlers]) this.guard(() => handler(event));
    const handlers = this.eventHandlers.get(event.type);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      this.guard(() => (handler as (data: unknown, event: Envelope) => void)(event.data, event));
    }
  }

  private call<T extends ReplyType>(frame: Record<string, unknown>, expect: T, resend: boolean, timeoutMs?: number): Promise<ReplyOf<T>> {
    if (this.currentState === "disconnected") {
      return Promise.reject(this.reason ?? new RealtimeError("Disconnected", "not connected: call connect() first"));
    }
    return this.requests.request(frame, expect, { timeoutMs: timeoutMs ?? this.options.requestTimeoutMs, queue: true, resend });
  }

  private channelHost(): ChannelHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const client = this;
    const rest = this.rest;
    return {
      timers: this.timers,
      reorderWindowMs: this.options.reorderWindowMs,
      maxBuffered: this.options.maxBufferedPerGroup,
      get connected() {
        return client.currentState === "connected";
      },
      subscribe: (frame, resolve, reject) =>
        this.requests.start(
          { action: "subscribe", ...frame },
          "Subscribed",
          { timeoutMs: this.options.requestTimeoutMs, queue: false, resend: false },
          resolve,
          reject,
        ),
      unsubscribe: (group) => {
        this.requests
          .request({ action: "unsubscribe", group }, "Unsubscribed", {
            timeoutMs: this.options.requestTimeoutMs,
            queue: false,
            resend: false,
          })
          .catch(() => {}); // leaving is best effort: a closed socket leaves every group anyway
      },
      history: rest
        ? async (group, after, limit, signal) => rest.history(group, after, limit, await this.restToken(), signal)
        : undefined,
      dispatch: (event) => this.dispatch(event),
      reportError: (error) => this.reportError(error),
      reconnect: (why) => this.reconnectNow(why),
      release: (channel) => {
        if (this.channels.get(channel.group) === channel) this.channels.delete(channel.group);
      },
    };
  }

  /** The connection's token while it is valid, else a new one. */
  private async restToken(): Promise<string> {
    const valid = this.token !== undefined && (this.tokenExpiresAt === undefined || this.tokenExpiresAt > Date.now() + 5_000);
    return valid && this.token !== undefined ? this.token : this.getToken();
  }

  private setState(state: ConnectionState, reason?: RealtimeError): void {
    if (state === this.currentState) return;
    const previous = this.currentState;
    this.currentState = state;
    this.emitter.emit("state", state, reason ? { previous, reason } : { previous });
  }

  private guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.reportError(error);
    }
  }

  private reportError(error: unknown): void {
    if (this.reporting) return; // an error listener that throws must not loop
    this.reporting = true;
    try {
      this.emitter.emit("error", asRealtimeError(error, "InternalError"));
    } finally {
      this.reporting = false;
    }
  }
}

function isEnvelope(frame: Record<string, unknown>): frame is Envelope & Record<string, unknown> {
  return (
    typeof frame.type === "string" &&
    !REPLY_TYPES.has(frame.type) &&
    typeof frame.id === "string" &&
    typeof frame.seq === "number" &&
    typeof frame.epoch === "string" &&
    typeof frame.data === "object" &&
    frame.data !== null
  );
}
