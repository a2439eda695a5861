/** Which panel shows which event type, and which group each panel subscribes to. Checked
 * against the generated protocol: a new event type fails the build until it has a panel. */
import { DEFAULT_GROUPS, EVENT_TYPES, type Envelope, type EventDataMap, type EventType, type TypedEnvelope } from "@realtime-hub/client";

export type FeedPanel = "analytics" | "system-status" | "alert-center" | "activity-feed";

export const EVENT_PANEL = {
  PlatformStatus: "system-status",
  SystemEvent: "system-status",
  TestMessage: "system-status",
  AnalyticsUpdate: "analytics",
  UserCountUpdate: "analytics",
  GenerationMetrics: "analytics",
  RevenueUpdate: "analytics",
  UserAction: "activity-feed",
  RoleAssignment: "activity-feed",
  Alert: "alert-center",
  PerformanceAlert: "alert-center",
} as const satisfies { readonly [T in EventType]: FeedPanel };

/** Each panel's group: the default group of its event types (one group per panel). */
export const PANEL_GROUP = {
  analytics: DEFAULT_GROUPS.UserCountUpdate,
  "system-status": DEFAULT_GROUPS.PlatformStatus,
  "alert-center": DEFAULT_GROUPS.Alert,
  "activity-feed": DEFAULT_GROUPS.UserAction,
} as const satisfies { readonly [P in FeedPanel]: string };

export const FEED_PANELS = Object.keys(PANEL_GROUP) as FeedPanel[];

const KNOWN = new Set<string>(EVENT_TYPES);

export function isEventType(type: string): type is EventType {
  return KNOWN.has(type);
}

export type AnyEnvelope = { [T in EventType]: TypedEnvelope<T> }[EventType];

/** The envelope, typed by its `type` (the server validated `data` against that type's model). */
export function typed(envelope: Envelope): AnyEnvelope | undefined {
  return isEventType(envelope.type) ? (envelope as unknown as AnyEnvelope) : undefined;
}

export type { EventDataMap, EventType, TypedEnvelope };

/** "newer": a later publish time, or the same time and a later seq. */
export function isNewer(candidate: { ts: string; seq: number }, current: { ts: string; seq: number } | undefined): boolean {
  if (!current) return true;
  if (candidate.ts !== current.ts) return candidate.ts > current.ts;
  return candidate.seq > current.seq;
}
