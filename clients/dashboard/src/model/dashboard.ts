/** The dashboard's engine, outside React: one RealtimeClient, one subscription per panel
 * (paused = unsubscribed, resumed = resubscribed from where it stopped), every envelope routed
 * by type to its panel's store, the widgets drawn from `getPlatformStats` on load and again
 * after a `reset`, and presence polled. React components only read the stores. */
import {
  RealtimeClient,
  RealtimeError,
  type ConnectionState,
  type Envelope,
  type PublishMessage,
  type PublishOptions,
  type PublishReply,
  type StreamPosition,
  type Subscription,
  type EventType,
  type WebSocketConstructor,
} from "@realtime-hub/client";
import { updates, type Scheduler } from "../lib/frame";
import { Store, ValueStore } from "../lib/store";
import { ActivityStore } from "./activity";
import { AlertStore, ToastStore } from "./alerts";
import { AnalyticsStore } from "./analytics";
import { ConnectionStore } from "./connection";
import { EVENT_PANEL, FEED_PANELS, PANEL_GROUP, typed, type AnyEnvelope, type FeedPanel } from "./events";
import { PresenceStore } from "./presence";
import { SystemStore } from "./system";

/** Presence is read again this often (and on every change the page knows of). */
export const PRESENCE_INTERVAL_MS = 5_000;
/** Resets of several groups at once make one snapshot request. */
const SNAPSHOT_COALESCE_MS = 150;

export interface FeedView {
  panel: FeedPanel;
  group: string;
  paused: boolean;
  state: "subscribing" | "subscribed" | "paused" | "refused";
  /** The last time the panel was reloaded from the snapshot after a gap history could not fill. */
  reloadedAt?: number;
  error?: string;
}

export interface DashboardOptions {
  wsUrl: string;
  restUrl: string;
  getToken: () => Promise<string>;
  /** The hub refused the token (Unauthorized) or the user (Forbidden): sign in again. */
  onRefused: (error: RealtimeError) => void;
  WebSocket?: WebSocketConstructor;
  scheduler?: Scheduler;
  listScheduler?: Scheduler;
  chartScheduler?: Scheduler;
}

class Feed {
  readonly view: ValueStore<FeedView>;
  private subscription: Subscription | undefined;
  private position: StreamPosition | undefined;

  constructor(
    readonly panel: FeedPanel,
    private readonly dashboard: Dashboard,
    scheduler?: Scheduler,
  ) {
    this.view = new ValueStore<FeedView>({ panel, group: PANEL_GROUP[panel], paused: false, state: "subscribing" }, scheduler);
  }

  get paused(): boolean {
    return this.view.get().paused;
  }

  /** Subscribes: from where it stopped when it was paused, else live. */
  start(resuming = false): void {
    const resumeFrom = this.position;
    const subscription = this.dashboard.client.subscribe(PANEL_GROUP[this.panel], undefined, resumeFrom ? { resumeFrom } : {});
    this.subscription = subscription;
    subscription.on("subscribed", () => this.view.update((view) => ({ ...view, state: "subscribed" })));
    subscription.on("reset", () => {
      this.view.update((view) => ({ ...view, reloadedAt: Date.now() }));
      this.dashboard.reloadSnapshot(this.panel);
    });
    subscription.on("unsubscribed", ({ error }) => {
      if (!error || subscription !== this.subscription) return;
      this.subscription = undefined;
      this.view.update((view) => ({ ...view, state: "refused", error: `${error.code}: ${error.message}` }));
    });
    this.view.update((view) => {
      const next: FeedView = { ...view, paused: false, state: "subscribing" };
      delete next.error;
      return next;
    });
    // Paused before it ever had a position: nothing to resume from, so reload what it shows.
    if (resuming && !resumeFrom) this.dashboard.reloadSnapshot(this.panel);
  }

  pause(): void {
    const subscription = this.subscription;
    if (!subscription) return;
    this.position = subscription.position ?? this.position;
    this.subscription = undefined;
    subscription.unsubscribe();
    this.view.update((view) => ({ ...view, paused: true, state: "paused" }));
  }

  resume(): void {
    if (this.subscription) return;
    this.start(true);
  }
}

export class Dashboard {
  readonly client: RealtimeClient;
  readonly connection: ConnectionStore;
  readonly analytics: AnalyticsStore;
  readonly system: SystemStore;
  readonly alerts: AlertStore;
  readonly toasts: ToastStore;
  readonly activity: ActivityStore;
  readonly presence: PresenceStore;
  /** Groups the hub lets this user read (from the snapshot), for the publish form. */
  readonly groups: ValueStore<string[]>;
  readonly feeds: Record<FeedPanel, Feed>;
  started = false;

  private readonly cleanups: (() => void)[] = [];
  private snapshotPanels = new Set<FeedPanel>();
  private snapshotTimer: ReturnType<typeof setTimeout> | undefined;
  private presenceTimer: ReturnType<typeof setTimeout> | undefined;
  private presenceRunning = false;
  private presenceAgain = false;
  private connectedOnce = false;
  private disposed = false;

  constructor(private readonly options: DashboardOptions) {
    const scheduler = options.scheduler;
    // The connection: on the next frame. Lists, values and charts: together, at most every 200 ms.
    const listScheduler = options.listScheduler ?? scheduler ?? updates;
    const chartScheduler = options.chartScheduler ?? listScheduler;
    this.connection = new ConnectionStore(scheduler);
    this.analytics = new AnalyticsStore(listScheduler, chartScheduler);
    this.system = new SystemStore(listScheduler);
    this.alerts = new AlertStore(listScheduler);
    this.toasts = new ToastStore(listScheduler);
    this.activity = new ActivityStore(listScheduler);
    this.presence = new PresenceStore(scheduler);
    this.groups = new ValueStore<string[]>(Object.values(PANEL_GROUP), scheduler);
    const connection = this.connection;
    const Base = options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor);
    // Counts the sockets the SDK opens: its reconnect attempts.
    const Counting = class extends (Base as unknown as new (url: string) => object) {
      constructor(url: string) {
        super(url);
        connection.attempt();
      }
    } as unknown as WebSocketConstructor;
    this.client = new RealtimeClient({ url: options.wsUrl, restUrl: options.restUrl, getToken: options.getToken, WebSocket: Counting });
    this.feeds = Object.fromEntries(FEED_PANELS.map((panel) => [panel, new Feed(panel, this, scheduler)])) as Record<FeedPanel, Feed>;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.cleanups.push(
      this.client.onMessage((event) => this.route(event, false)),
      this.client.on("state", (state, change) => this.stateChanged(state, change.reason)),
      this.client.on("error", (error) => console.warn(`realtime: ${error.code}: ${error.message}`)),
    );
    for (const feed of Object.values(this.feeds)) feed.start();
    const tick = setInterval(() => this.connection.tick(), 1_000);
    this.cleanups.push(() => clearInterval(tick));
    if (typeof window !== "undefined") {
      const online = () => this.connection.offline(false);
      const offline = () => this.connection.offline(true);
      window.addEventListener("online", online);
      window.addEventListener("offline", offline);
      this.connection.offline(navigator.onLine === false);
      this.cleanups.push(() => {
        window.removeEventListener("online", online);
        window.removeEventListener("offline", offline);
      });
    }
    this.connect();
  }

  /** Connects (again, after a sign-in following a refusal: the subscriptions were kept). */
  connect(): void {
    this.client.connect().catch(() => {}); // refusals arrive as the `disconnected` state
  }

  dispose(): void {
    this.disposed = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    clearTimeout(this.snapshotTimer);
    clearTimeout(this.presenceTimer);
    this.toasts.dispose();
    this.client.close();
  }

  pause(panel: FeedPanel): void {
    this.feeds[panel].pause();
    this.refreshPresence();
  }

  resume(panel: FeedPanel): void {
    this.feeds[panel].resume();
    this.refreshPresence();
  }

  publish<T extends EventType>(message: PublishMessage<T>, options?: PublishOptions): Promise<PublishReply> {
    return this.client.publish(message, options);
  }

  /** Reload `panel`'s widgets from `getPlatformStats` (coalesced with other panels'). */
  reloadSnapshot(...panels: FeedPanel[]): void {
    for (const panel of panels) this.snapshotPanels.add(panel);
    if (this.snapshotTimer !== undefined) return;
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = undefined;
      void this.loadSnapshot();
    }, SNAPSHOT_COALESCE_MS);
  }

  private async loadSnapshot(): Promise<void> {
    const panels = this.snapshotPanels;
    this.snapshotPanels = new Set();
    try {
      const snapshot = await this.client.getPlatformStats();
      if (this.disposed) return;
      this.groups.set(Object.keys(snapshot.groups).sort());
      for (const event of Object.values(snapshot.latest)) {
        if (!event) continue;
        const envelope = typed(event);
        if (envelope && panels.has(EVENT_PANEL[envelope.type])) this.route(event, true);
      }
      this.connection.snapshotLoaded();
    } catch (error) {
      if (this.disposed) return;
      // Not connected any more: the next connect (or reset) asks again.
      for (const panel of panels) this.snapshotPanels.add(panel);
      console.warn("dashboard: getPlatformStats failed", error);
    }
  }

  private stateChanged(state: ConnectionState, reason: RealtimeError | undefined): void {
    this.connection.state(state, reason ? { code: reason.code, message: reason.message } : undefined);
    if (state === "connected") {
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        this.reloadSnapshot(...FEED_PANELS); // every widget at once, then live
      } else if (this.snapshotPanels.size > 0) {
        this.reloadSnapshot();
      }
      if (!this.connection.get().user) void this.loadUser();
      this.refreshPresence();
    } else if (state === "disconnected" && reason && (reason.code === "Unauthorized" || reason.code === "Forbidden")) {
      this.options.onRefused(reason);
    }
  }

  private async loadUser(): Promise<void> {
    try {
      const token = await this.options.getToken();
      const response = await fetch(`${this.options.restUrl}/me`, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit" });
      if (response.ok) this.connection.user(await response.json());
    } catch {
      // who we are is shown when known; the connection does not depend on it
    }
  }

  /** Presence of every readable group: now, then every PRESENCE_INTERVAL_MS. */
  refreshPresence(): void {
    if (this.disposed) return;
    clearTimeout(this.presenceTimer);
    this.presenceTimer = setTimeout(() => this.refreshPresence(), PRESENCE_INTERVAL_MS);
    if (this.client.state !== "connected") return;
    if (this.presenceRunning) {
      this.presenceAgain = true;
      return;
    }
    this.presenceRunning = true;
    void this.readPresence().finally(() => {
      this.presenceRunning = false;
      if (this.presenceAgain) {
        this.presenceAgain = false;
        this.refreshPresence();
      }
    });
  }

  private async readPresence(): Promise<void> {
    this.presence.loading();
    try {
      const counts = await this.client.getConnectionCount();
      const groups = Object.keys(counts.groups).sort();
      this.groups.set(groups);
      const presences = await Promise.all(groups.map((group) => this.client.getPresence(group)));
      if (!this.disposed) this.presence.loaded(counts.connections, presences, Date.now());
    } catch (error) {
      if (!this.disposed) this.presence.failed(error instanceof RealtimeError ? `${error.code}: ${error.message}` : String(error));
    }
  }

  /** One envelope to its panel's store (nothing while that panel is paused). */
  route(event: Envelope, fromSnapshot: boolean): void {
    const envelope: AnyEnvelope | undefined = typed(event);
    if (!envelope) return;
    if (this.feeds[EVENT_PANEL[envelope.type]].paused) return;
    if (!fromSnapshot) this.connection.countEvent();
    switch (envelope.type) {
      case "UserCountUpdate":
      case "GenerationMetrics":
      case "RevenueUpdate":
      case "AnalyticsUpdate":
        this.analytics.apply(envelope);
        return;
      case "PlatformStatus":
      case "SystemEvent":
      case "TestMessage":
        this.system.apply(envelope);
        return;
      case "Alert":
      case "PerformanceAlert": {
        const item = this.alerts.add(envelope);
        if (item && !fromSnapshot) this.toasts.offer(item);
        return;
      }
      case "UserAction":
      case "RoleAssignment":
        this.activity.add(envelope);
        return;
    }
  }
}

export type { Store };
