import type { ErrorCode, ErrorReply, FieldError } from "./generated/protocol.js";

/** Codes the client itself raises, beside the server's {@link ErrorCode}s. */
export type ClientErrorCode =
  /** No reply within the request's timeout. */
  | "Timeout"
  /** The socket closed while the request was in flight and it could not safely be sent again. */
  | "ConnectionLost"
  /** The client is not connected (never connected, closed, or refused for good). */
  | "Disconnected"
  /** Too many requests waiting for a connection. */
  | "QueueFull"
  /** `withAutomaticReconnect` delays ran out (SignalR façade) or `reconnectDelay` returned null. */
  | "ReconnectGaveUp"
  /** The SignalR façade has no mapping for that hub method. */
  | "UnknownMethod"
  /** A handshake, a socket or an HTTP request failed below the protocol. */
  | "TransportError";

export type RealtimeErrorCode = ErrorCode | ClientErrorCode;

export interface RealtimeErrorDetails {
  errors?: FieldError[];
  /** Seconds to wait (RateLimited). */
  retryAfter?: number;
  /** The group a replay error is about. */
  group?: string;
  /** The HTTP status, for REST errors and refused handshakes. */
  status?: number;
  cause?: unknown;
}

/** Every error the SDK rejects with or reports: the server's `code`/`message` when it answered. */
export class RealtimeError extends Error {
  override readonly name = "RealtimeError";
  readonly code: RealtimeErrorCode;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;
  readonly group: string | undefined;
  readonly status: number | undefined;

  constructor(code: RealtimeErrorCode, message: string, details: RealtimeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.errors = details.errors;
    this.retryAfter = details.retryAfter;
    this.group = details.group;
    this.status = details.status;
  }

  static fromReply(reply: ErrorReply): RealtimeError {
    return new RealtimeError(reply.code, reply.message, {
      ...(reply.errors ? { errors: reply.errors } : {}),
      ...(reply.retryAfter !== undefined ? { retryAfter: reply.retryAfter } : {}),
      ...(reply.group !== undefined ? { group: reply.group } : {}),
    });
  }
}

export function asRealtimeError(error: unknown, code: RealtimeErrorCode = "TransportError"): RealtimeError {
  if (error instanceof RealtimeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RealtimeError(code, message, { cause: error });
}
