/** A SignalR-style façade over RealtimeClient: the subset of `@microsoft/signalr`'s
 * HubConnection the original admin dashboards used, with the original hub's methods mapped
 * onto the protocol. Unlike SignalR, groups are rejoined and missed messages replayed after
 * a reconnect. */
import { RealtimeClient, type EventType, type PublishReply } from "./client.js";
import { RealtimeError } from "./errors.js";
import type { Envelope, EventDataMap } from "./generated/protocol.js";
import type { FetchLike } from "./rest.js";
import type { Subscription } from "./subscription.js";
import type { WebSocketConstructor } from "./transport.js";

export const HubConnectionState = {
  Disconnected: "Disconnected",
  Connecting: "Connecting",
  Connected: "Connected",
  Disconnecting: "Disconnecting",
  Reconnecting: "Reconnecting",
} as const;
export type HubConnectionState = (typeof HubConnectionState)[keyof typeof HubConnectionState];

export interface HttpConnectionOptions {
  /** Called before every connect and reconnect (and token refresh). */
  accessTokenFactory?: () => string | Promise<string>;
  /** A WebSocket constructor (Node 20: `ws`'s), as in SignalR's options. */
  WebSocket?: WebSocketConstructor;
  /** Not in SignalR: the REST base URL, to fill gaps from history and check tokens. */
  restUrl?: string;
  fetch?: FetchLike;
}

export interface RetryContext {
  previousRetryCount: number;
  elapsedMilliseconds: number;
  retryReason: Error;
}

export interface IRetryPolicy {
  nextRetryDelayInMilliseconds(retryContext: RetryContext): number | null;
}

/** SignalR's `withAutomaticReconnect()` defaults, used only when an array of delays is
 * given; without an argument the SDK's own backoff reconnects forever. */
const SIGNALR_DELAYS = [0, 2_000, 10_000, 30_000];

export class HubConnectionBuilder {
  private url: string | undefined;
  private options: HttpConnectionOptions = {};
  private reconnect: "off" | "forever" | IRetryPolicy = "off";

  withUrl(url: string, options: HttpConnectionOptions = {}): this {
    this.url = url;
    this.options = options;
    return this;
  }

  /** No argument: reconnect forever (capped backoff with jitter). An array of delays or a
   * policy: SignalR's semantics — give up (and `onclose`) when they run out. */
  withAutomaticReconnect(retry?: number[] | IRetryPolicy): this {
    if (retry === undefined) this.reconnect = "forever";
    else if (Array.isArray(retry)) {
      const delays = retry.length ? retry : SIGNALR_DELAYS;
      this.reconnect = { nextRetryDelayInMilliseconds: ({ previousRetryCount }) => delays[previousRetryCount] ?? null };
    } else this.reconnect = retry;
    return this;
  }

  /** Accepted for compatibility; the SDK does not log. */
  configureLogging(_level: unknown): this {
    return this;
  }

  build(): HubConnection {
    if (!this.url) throw new Error("HubConnectionBuilder: withUrl(url) is required");
    return new HubConnection(toWebSocketUrl(this.url), this.options, this.reconnect);
  }
}

/** http(s):// → ws(s)://, as SignalR does. */
export function toWebSocketUrl(url: string): string {
  return url.replace(/^http(s?):\/\//i, (_match, secure: string) => `ws${secure.toLowerCase()}://`);
}

type HubHandler = (...args: unknown[]) => void;
type Invocation = (connection: HubConnection, args: unknown[]) => Promise<unknown>;

const groupOf: Record<string, string> = {
  useractivity: "user-activity",
  analytics: "analytics",
  alerts: "alerts",
};

function broadcast<T extends EventType>(type: T, shape: (args: unknown[]) => EventDataMap[T] = (args) => dataArg<T>(type, args)): Invocation {
  return (connection, args) => connection.client.publish({ type, data: shape(args) });
}

function dataArg<T extends EventType>(type: T, args: unknown[]): EventDataMap[T] {
  const [data] = args;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new RealtimeError("ValidationError", `${type}: pass the event's data as one object`);
  }
  return data as EventDataMap[T];
}

/** SendSystemAlert(data) or SendSystemAlert(title, message); the variants fix the severity. */
function alert(severity?: "info" | "success" | "warning" | "error"): Invocation {
  return broadcast("Alert", (args) => {
    const [first, second] = args;
    const data = typeof first === "string" ? { title: first, message: String(second ?? first) } : dataArg("Alert", args);
    return severity ? { ...data, severity } : data;
  });
}

/** The original AdminHub's methods (case-insensitive, as SignalR matches them). */
const METHODS: Record<string, Invocation> = {
  subscribetouseractivity: (connection) => connection.join(groupOf.useractivity!),
  subscribetoanalytics: (connection) => connection.join(groupOf.analytics!),
  subscribetoalerts: (connection) => connection.join(groupOf.alerts!),
  unsubscribefromuseractivity: async (connection) => connection.leave(groupOf.useractivity!),
  unsubscribefromanalytics: async (connection) => connection.leave(groupOf.analytics!),
  unsubscribefromalerts: async (connection) => connection.leave(groupOf.alerts!),
  getplatformstats: (connection) => connection.client.getPlatformStats(),
  getconnectioncount: (connection) => connection.client.getConnectionCount(),
  broadcastplatformstatus: broadcast("PlatformStatus"),
  broadcastanalyticsupdate: broadcast("AnalyticsUpdate"),
  broadcastusercountupdate: broadcast("UserCountUpdate"),
  broadcastgenerationmetrics: broadcast("GenerationMetrics"),
  broadcastrevenueupdate: broadcast("RevenueUpdate"),
  notifyuseraction: broadcast("UserAction"),
  notifyroleassignment: broadcast("RoleAssignment"),
  notifysystemevent: broadcast("SystemEvent"),
  sendsystemalert: alert(),
  sendwarning: alert("warning"),
  senderror: alert("error"),
  sendsuccess: alert("success"),
  sendperformancealert: broadcast("PerformanceAlert"),
  sendtestmessage: broadcast("TestMessage", (args) =>
    typeof args[0] === "string" ? { message: args[0] } : dataArg("TestMessage", args),
  ),
};

/** The hub methods `invoke` knows, as the original hub spelled them. */
export const HUB_METHODS = [
  "SubscribeToUserActivity",
  "SubscribeToAnalytics",
  "SubscribeToAlerts",
  "UnsubscribeFromUserActivity",
  "UnsubscribeFromAnalytics",
  "UnsubscribeFromAlerts",
  "GetPlatformStats",
  "GetConnectionCount",
  "BroadcastPlatformStatus",
  "BroadcastAnalyticsUpdate",
  "BroadcastUserCountUpdate",
  "BroadcastGenerationMetrics",
  "BroadcastRevenueUpdate",
  "NotifyUserAction",
  "NotifyRoleAssignment",
  "NotifySystemEvent",
  "SendSystemAlert",
  "SendWarning",
  "SendError",
  "SendSuccess",
  "SendPerformanceAlert",
  "SendTestMessage",
] as const;

export type HubMethod = (typeof HUB_METHODS)[number];

export class HubConnection {
  /** The client underneath, for what the façade does not cover (presence, reset events…). */
  readonly client: RealtimeClient;
  /** SignalR's connection id; this protocol does not reveal one. */
  readonly connectionId: string | null = null;
  private readonly handlers = new Map<string, Set<HubHandler>>();
  private readonly groups = new Map<string, Subscription>();
  private readonly reconnecting = new Set<(error?: Error) => void>();
  private readonly reconnected = new Set<(connectionId?: string) => void>();
  private readonly closed = new Set<(error?: Error) => void>();
  private stopping = false;

  /** @internal Use HubConnectionBuilder. */
  constructor(url: string, options: HttpConnectionOptions, reconnect: "off" | "forever" | IRetryPolicy) {
    const policy = reconnect;
    this.client = new RealtimeClient({
      url,
      getToken: options.accessTokenFactory ?? (() => ""),
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      ...(options.restUrl ? { restUrl: options.restUrl } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(policy === "forever"
        ? {}
        : {
            reconnectDelay: (attempt: number, elapsedMs: number) =>
              policy === "off"
                ? null
                : policy.nextRetryDelayInMilliseconds({
                    previousRetryCount: attempt,
                    elapsedMilliseconds: elapsedMs,
                    retryReason: new Error("the connection was lost"),
                  }),
          }),
    });
    this.client.onMessage((event) => this.dispatch(event));
    this.client.on("state", (state, change) => {
      if (state === "reconnecting") for (const callback of [...this.reconnecting]) callback(change.reason);
      else if (state === "connected" && change.previous === "reconnecting") {
        for (const callback of [...this.reconnected]) callback(undefined);
      } else if (state === "disconnected" && change.previous !== "connecting" && !this.stopping) {
        for (const callback of [...this.closed]) callback(change.reason);
      }
    });
  }

  get state(): HubConnectionState {
    if (this.stopping) return HubConnectionState.Disconnecting;
    switch (this.client.state) {
      case "connecting":
        return HubConnectionState.Connecting;
      case "connected":
        return HubConnectionState.Connected;
      case "reconnecting":
        return HubConnectionState.Reconnecting;
      default:
        return HubConnectionState.Disconnected;
    }
  }

  /** Connects; joins `admins` as the original hub's OnConnectedAsync did. Rejects on a
   * refused token; transient failures are retried until it connects. */
  async start(): Promise<void> {
    if (this.client.state !== "disconnected") throw new Error("Cannot start a HubConnection that is not in the 'Disconnected' state.");
    if (!this.groups.has("admins")) {
      const admins = this.client.subscribe("admins");
      admins.on("unsubscribed", () => this.groups.delete("admins")); // a token without the role
      this.groups.set("admins", admins);
    }
    await this.client.connect();
  }

  async stop(): Promise<void> {
    if (this.client.state === "disconnected") return;
    this.stopping = true;
    try {
      this.client.close();
    } finally {
      this.stopping = false;
      this.groups.clear();
    }
    for (const callback of [...this.closed]) callback(undefined);
  }

  /** Handlers receive the event's `data`; names match event types case-insensitively. */
  on(methodName: string, newMethod: HubHandler): void {
    const name = methodName.toLowerCase();
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(newMethod);
  }

  off(methodName: string, method?: HubHandler): void {
    const name = methodName.toLowerCase();
    if (method === undefined) this.handlers.delete(name);
    else this.handlers.get(name)?.delete(method);
  }

  /** One of the original hub's methods ({@link HUB_METHODS}); an unknown one rejects. */
  invoke<T = unknown>(methodName: string, ...args: unknown[]): Promise<T> {
    const method = METHODS[methodName.toLowerCase()];
    if (!method) {
      return Promise.reject(
        new RealtimeError("UnknownMethod", `the hub has no method '${methodName}'; it has: ${HUB_METHODS.join(", ")}`),
      );
    }
    if (this.client.state === "disconnected" || this.client.state === "connecting") {
      return Promise.reject(new Error("Cannot send data if the connection is not in the 'Connected' State."));
    }
    try {
      return method(this, args) as Promise<T>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like invoke, without the result. */
  async send(methodName: string, ...args: unknown[]): Promise<void> {
    await this.invoke(methodName, ...args);
  }

  onreconnecting(callback: (error?: Error) => void): void {
    this.reconnecting.add(callback);
  }

  onreconnected(callback: (connectionId?: string) => void): void {
    this.reconnected.add(callback);
  }

  onclose(callback: (error?: Error) => void): void {
    this.closed.add(callback);
  }

  /** @internal Subscribe to a group; resolves once subscribed (as the hub method returned
   * once the group was joined), rejects when the server refuses it. */
  join(group: string): Promise<void> {
    const existing = this.groups.get(group);
    if (existing?.state === "subscribed") return Promise.resolve();
    const subscription = existing ?? this.client.subscribe(group);
    this.groups.set(group, subscription);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        offSubscribed();
        offEnded();
      };
      const offSubscribed = subscription.on("subscribed", () => {
        done();
        resolve();
      });
      const offEnded = subscription.on("unsubscribed", ({ error }) => {
        done();
        if (this.groups.get(group) === subscription) this.groups.delete(group);
        reject(error ?? new RealtimeError("Disconnected", `left ${group}`));
      });
    });
  }

  /** @internal */
  leave(group: string): void {
    this.groups.get(group)?.unsubscribe();
    this.groups.delete(group);
  }

  private dispatch(event: Envelope): void {
    const handlers = this.handlers.get(event.type.toLowerCase());
    if (!handlers) return;
    for (const handler of [...handlers]) handler(event.data);
  }
}

export type { PublishReply };
