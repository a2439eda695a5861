"""A latency model for the local stack: every call the functions make to an emulated AWS
service waits as long as that service's round trip would take in AWS, so end-to-end
figures from the local stack (`make bench`) come closer to what a deployment would show.
Applied by the emulator where it serves each call, like the fault injection
(local/emulated/faults.py); off by default (`make dev`, tests), on for `make bench`.

The waits are timers on the serving event loop, never a blocked thread: as in AWS, many
calls wait at once, and only the emulator's own work is serialised (moto still serves one
request at a time).

| variable | meaning | default when on |
|---|---|---|
| LOCAL_LATENCY | `on` turns the model on with the defaults below | off |
| LOCAL_LATENCY_DYNAMODB_MS | each DynamoDB call (GetItem … TransactWriteItems) | 5 |
| LOCAL_LATENCY_CONNECTIONS_MS | each `@connections` call (POST, GET, DELETE) | 20 |
| LOCAL_LATENCY_SQS_MS | each SQS call (SendMessage, ReceiveMessage, …) | 10 |
| LOCAL_LATENCY_EVENTBRIDGE_MS | each PutEvents | 15 |
| LOCAL_LATENCY_LAMBDA_INVOKE_MS | each invocation by API Gateway, the event source mapping or the bus | 5 |

Each `LOCAL_LATENCY_*_MS` overrides its figure, with or without LOCAL_LATENCY=on (alone,
it sets that figure only). The defaults are typical in-region round trips, not promises.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

_BOUND = Field(default=0.0, ge=0, le=10_000)


class Service(Enum):
    DYNAMODB = "dynamodb"
    CONNECTIONS = "connections"
    SQS = "sqs"
    EVENTBRIDGE = "eventbridge"
    LAMBDA_INVOKE = "lambda_invoke"


class LatencyModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    dynamodb_ms: float = _BOUND
    connections_ms: float = _BOUND
    sqs_ms: float = _BOUND
    eventbridge_ms: float = _BOUND
    lambda_invoke_ms: float = _BOUND

    @classmethod
    def aws_like(cls) -> LatencyModel:
        """The model's defaults: typical round trips within one AWS region."""
        return cls(dynamodb_ms=5, connections_ms=20, sqs_ms=10, eventbridge_ms=15, lambda_invoke_ms=5)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LatencyModel:
        env = os.environ if environ is None else environ
        base = cls.aws_like() if env.get("LOCAL_LATENCY", "").strip().lower() in {"on", "1", "true"} else cls()
        overrides = {
            service.value + "_ms": env[name]
            for service in Service
            if (name := f"LOCAL_LATENCY_{service.name}_MS") in env and env[name] != ""
        }
        return cls.model_validate({**base.model_dump(), **overrides})

    @property
    def active(self) -> bool:
        return any(self.model_dump().values())

    def seconds(self, service: Service) -> float:
        milliseconds: float = getattr(self, service.value + "_ms")
        return milliseconds / 1000

    async def wait(self, service: Service) -> None:
        """One round trip to `service` (returns at once when its figure is 0)."""
        if delay := self.seconds(service):
            await asyncio.sleep(delay)

    def environment(self) -> dict[str, str]:
        """The variables that give a child process (`python -m local`) this model."""
        return {f"LOCAL_LATENCY_{service.name}_MS": f"{self.seconds(service) * 1000:g}" for service in Service}
