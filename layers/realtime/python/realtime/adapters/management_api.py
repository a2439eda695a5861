"""API Gateway Management API adapter: post_to_connection with AWS errors translated."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from realtime.errors import ConnectionGone, RetryableError, SendFailed

_RETRYABLE_CODES = {"LimitExceededException", "TooManyRequestsException", "ThrottlingException"}


class ManagementApiSender:
    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, connection_id: str, payload: bytes) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=payload)
        except ClientError as exc:
            raise translate(exc, connection_id) from exc
        except BotoCoreError as exc:  # connection reset, timeout, DNS…
            raise RetryableError(str(exc)) from exc

    def close(self, connection_id: str) -> None:
        """Ask API Gateway to close the connection (it then invokes $disconnect)."""
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            raise translate(exc, connection_id) from exc


def translate(exc: ClientError, connection_id: str) -> Exception:
    error = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    code = error.get("Code", "")
    if code == "GoneException" or status == 410:
        return ConnectionGone(connection_id)
    if code in _RETRYABLE_CODES or status == 429 or status >= 500:
        return RetryableError(f"{code or status}: retry later")
    return SendFailed(f"{code or status}: {error.get('Message', '')}")
