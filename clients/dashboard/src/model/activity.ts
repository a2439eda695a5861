/** The activity feed's state: UserAction and RoleAssignment events, newest first, bounded. */
import type { RoleAssignment, UserAction } from "@realtime-hub/client";
import { BoundedFeed } from "../lib/bounded";
import type { Scheduler } from "../lib/frame";
import { Store } from "../lib/store";
import type { TypedEnvelope } from "./events";

export const ACTIVITY_LIMIT = 100;

export type ActivityItem =
  | { id: string; ts: string; seq: number; kind: "UserAction"; userId: string; action: string; details?: string }
  | { id: string; ts: string; seq: number; kind: "RoleAssignment"; userId: string; role: string; change: RoleAssignment["change"]; by?: string };

export interface ActivityView {
  items: ActivityItem[];
  received: number;
  evicted: number;
}

/** `{"ip":"203.0.113.7","plan":"pro"}` → `ip=203.0.113.7 plan=pro` (at most 200 characters). */
export function describeDetails(details: UserAction["details"]): string | undefined {
  if (!details) return undefined;
  const parts = Object.entries(details).map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  if (parts.length === 0) return undefined;
  const text = parts.join(" ");
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

export class ActivityStore extends Store<ActivityView> {
  private readonly feed = new BoundedFeed<ActivityItem>(ACTIVITY_LIMIT);
  private received = 0;

  constructor(scheduler?: Scheduler) {
    super(scheduler);
  }

  add(event: TypedEnvelope<"UserAction" | "RoleAssignment">): void {
    if (this.feed.has(event.id)) return;
    const base = { id: event.id, ts: event.ts, seq: event.seq };
    let item: ActivityItem;
    if (event.type === "UserAction") {
      const data = event.data as UserAction;
      const details = describeDetails(data.details);
      item = { ...base, kind: "UserAction", userId: data.userId, action: data.action, ...(details ? { details } : {}) };
    } else {
      const data = event.data as RoleAssignment;
      item = { ...base, kind: "RoleAssignment", userId: data.userId, role: data.role, change: data.change, ...(data.by ? { by: data.by } : {}) };
    }
    this.received++;
    if (this.feed.add(item)) this.changed();
  }

  protected build(): ActivityView {
    return { items: this.feed.list(), received: this.received, evicted: this.feed.evicted };
  }
}
