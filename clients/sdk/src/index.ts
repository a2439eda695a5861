export { RealtimeClient, DEFAULTS } from "./client.js";
export type {
  ClientEvents,
  ConnectionState,
  EventHandler,
  EventType,
  PublishMessage,
  PublishOptions,
  PublishReply,
  RealtimeClientOptions,
  RequestOptions,
  StateChange,
  SubscribeOptions,
  TypedEnvelope,
} from "./client.js";
export { Subscription } from "./subscription.js";
export type {
  MessageHandler,
  ResetContext,
  ResetReason,
  StreamPosition,
  SubscribedContext,
  SubscriptionEvents,
  SubscriptionState,
  UnsubscribedContext,
} from "./subscription.js";
export { RealtimeError } from "./errors.js";
export type { ClientErrorCode, RealtimeErrorCode, RealtimeErrorDetails } from "./errors.js";
export type { BackoffOptions } from "./backoff.js";
export type { WebSocketConstructor, WebSocketLike } from "./transport.js";
export type { FetchLike } from "./rest.js";
export { DEFAULT_GROUPS, ERROR_CODES, EVENT_TYPES } from "./generated/protocol.js";
export type * from "./generated/protocol.js";
