/** The system status panel's state: the latest PlatformStatus, and recent SystemEvents (with
 * TestMessages, which go to the same `admins` group). */
import type { PlatformStatus } from "@realtime-hub/client";
import { BoundedFeed } from "../lib/bounded";
import type { Scheduler } from "../lib/frame";
import { Store } from "../lib/store";
import { isNewer, type TypedEnvelope } from "./events";

export const SYSTEM_EVENT_LIMIT = 50;

export type ServiceState = PlatformStatus["status"];

/** Worst first (the order services are listed in). */
export const SERVICE_STATE_RANK: Record<ServiceState, number> = { down: 0, degraded: 1, healthy: 2 };

export interface ServiceView {
  name: string;
  status: ServiceState;
}

export interface PlatformView {
  status: ServiceState;
  message?: string;
  services: ServiceView[];
  ts: string;
  seq: number;
}

export interface SystemEventItem {
  id: string;
  ts: string;
  seq: number;
  kind: "SystemEvent" | "TestMessage";
  eventType: string;
  message: string;
  source?: string;
}

export interface SystemView {
  platform?: PlatformView;
  events: SystemEventItem[];
}

export class SystemStore extends Store<SystemView> {
  private platform: PlatformView | undefined;
  private readonly events = new BoundedFeed<SystemEventItem>(SYSTEM_EVENT_LIMIT);

  constructor(scheduler?: Scheduler) {
    super(scheduler);
  }

  apply(event: TypedEnvelope<"PlatformStatus" | "SystemEvent" | "TestMessage">): void {
    switch (event.type) {
      case "PlatformStatus": {
        if (!isNewer(event, this.platform)) return;
        const data = event.data as PlatformStatus;
        const services = Object.entries(data.services ?? {})
          .filter((entry): entry is [string, ServiceState] => entry[1] !== undefined)
          .map(([name, status]) => ({ name, status }))
          .sort((a, b) => SERVICE_STATE_RANK[a.status] - SERVICE_STATE_RANK[b.status] || a.name.localeCompare(b.name));
        this.platform = { status: data.status, services, ts: event.ts, seq: event.seq, ...(data.message ? { message: data.message } : {}) };
        break;
      }
      case "SystemEvent": {
        const data = event.data as { eventType: string; message: string; source?: string };
        if (!this.events.add({ id: event.id, ts: event.ts, seq: event.seq, kind: "SystemEvent", eventType: data.eventType, message: data.message, ...(data.source ? { source: data.source } : {}) })) return;
        break;
      }
      case "TestMessage": {
        const data = event.data as { message: string };
        if (!this.events.add({ id: event.id, ts: event.ts, seq: event.seq, kind: "TestMessage", eventType: "test message", message: data.message })) return;
        break;
      }
    }
    this.changed();
  }

  protected build(): SystemView {
    return { ...(this.platform ? { platform: this.platform } : {}), events: this.events.list() };
  }
}
