/** The connection panel's state: the SDK's state, reconnect attempts, why it is down, and the
 * event rate (counted per event, published once a second so counting costs no render). */
import type { ConnectionState, MeResponse } from "@realtime-hub/client";
import type { Scheduler } from "../lib/frame";
import { Store } from "../lib/store";

export interface ConnectionView {
  state: ConnectionState;
  /** Sockets opened since the last time connected (1 while connecting the first time). */
  attempts: number;
  /** Times the connection was lost since the page opened. */
  reconnects: number;
  /** The refusal that ended it (`disconnected`), or what dropped the socket. */
  reason?: { code: string; message: string };
  /** When the page last became connected (ms since the epoch). */
  connectedAt?: number;
  /** When the page stopped being connected: its data is as of then (ms since the epoch). */
  staleSince?: number;
  /** The browser says it has no network. */
  offline: boolean;
  user?: MeResponse;
  /** When the widgets were last (re)drawn from getPlatformStats (ms since the epoch). */
  snapshotAt?: number;
  eventsPerSecond: number;
  eventsTotal: number;
  lastEventAt?: number;
}

const RATE_WINDOW_SECONDS = 5;

export class ConnectionStore extends Store<ConnectionView> {
  private view: ConnectionView = { state: "disconnected", attempts: 0, reconnects: 0, offline: false, eventsPerSecond: 0, eventsTotal: 0 };
  private buckets: number[] = [];
  private current = 0;
  private total = 0;
  private lastEventAt: number | undefined;

  constructor(
    scheduler?: Scheduler,
    private readonly now: () => number = () => Date.now(),
  ) {
    super(scheduler);
  }

  state(state: ConnectionState, reason?: { code: string; message: string }): void {
    const previous = this.view.state;
    const now = this.now();
    const next: ConnectionView = { ...this.view, state };
    if (state === "connected") {
      next.attempts = 0;
      next.connectedAt = now;
      delete next.staleSince;
      delete next.reason;
    } else {
      if (previous === "connected") next.staleSince = now;
      if (state === "reconnecting" && previous === "connected") next.reconnects++;
      if (reason) next.reason = reason;
      else if (state === "connecting") delete next.reason;
    }
    this.view = next;
    this.changed();
  }

  /** A socket is being opened. */
  attempt(): void {
    this.view = { ...this.view, attempts: this.view.attempts + 1 };
    this.changed();
  }

  offline(offline: boolean): void {
    if (this.view.offline === offline) return;
    this.view = { ...this.view, offline };
    this.changed();
  }

  user(user: MeResponse | undefined): void {
    const next = { ...this.view };
    if (user) next.user = user;
    else delete next.user;
    this.view = next;
    this.changed();
  }

  snapshotLoaded(): void {
    this.view = { ...this.view, snapshotAt: this.now() };
    this.changed();
  }

  /** Counts an event (no render: the rate is published by `tick`). */
  countEvent(): void {
    this.current++;
    this.total++;
    this.lastEventAt = this.now();
  }

  /** Once a second: close the current bucket and publish the rate. */
  tick(): void {
    this.buckets.push(this.current);
    this.current = 0;
    if (this.buckets.length > RATE_WINDOW_SECONDS) this.buckets.shift();
    const rate = this.buckets.reduce((sum, count) => sum + count, 0) / Math.max(1, this.buckets.length);
    const next: ConnectionView = { ...this.view, eventsPerSecond: Math.round(rate * 10) / 10, eventsTotal: this.total };
    if (this.lastEventAt !== undefined) next.lastEventAt = this.lastEventAt;
    if (next.eventsPerSecond === this.view.eventsPerSecond && next.eventsTotal === this.view.eventsTotal && next.lastEventAt === this.view.lastEventAt) return;
    this.view = next;
    this.changed();
  }

  protected build(): ConnectionView {
    return this.view;
  }
}
