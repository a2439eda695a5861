/** The two REST calls the client makes: `GET /me` (is this token expired or forbidden?) and
 * `GET /groups/{group}/history` (fill a gap). */
import { RealtimeError } from "./errors.js";
import type { ErrorCode, HistoryResponse, MeResponse } from "./generated/protocol.js";

/** The subset of `fetch` the client uses (the global one by default). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; signal?: AbortSignal },
) => Promise<{ status: number; ok: boolean; json(): Promise<unknown> }>;

export class Rest {
  constructor(
    private readonly baseUrl: string,
    private readonly fetcher: FetchLike,
  ) {}

  me(token: string, signal?: AbortSignal): Promise<MeResponse> {
    return this.get<MeResponse>("/me", token, signal);
  }

  history(group: string, after: number, limit: number, token: string, signal?: AbortSignal): Promise<HistoryResponse> {
    const path = `/groups/${encodeURIComponent(group)}/history?after=${after}&limit=${limit}`;
    return this.get<HistoryResponse>(path, token, signal);
  }

  private async get<T>(path: string, token: string, signal?: AbortSignal): Promise<T> {
    const init = { method: "GET", headers: { Authorization: `Bearer ${token}`, Accept: "application/json" } };
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await this.fetcher(this.baseUrl.replace(/\/+$/, "") + path, signal ? { ...init, signal } : init);
    } catch (error) {
      throw new RealtimeError("TransportError", `GET ${path} failed: ${String(error)}`, { cause: error });
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (response.ok) return body as T;
    const { code, message } = (typeof body === "object" && body !== null ? body : {}) as {
      code?: ErrorCode;
      message?: string;
    };
    throw new RealtimeError(code ?? "TransportError", message ?? `GET ${path} answered ${response.status}`, {
      status: response.status,
    });
  }
}
