"""Fault injection on the local @connections API, to prove the delivery code under the
failures AWS produces: a share of calls answered 410 Gone (the connection vanishes without
$disconnect, as a lost $disconnect leaves it), a share answered 429 (throttling), and
added latency per call. Off by default.

Configured by environment variables (read by `python -m local`) or at run time with
`LocalDeployment.inject_faults(...)`:

| variable | meaning | default |
|---|---|---|
| LOCAL_FAULT_GONE_RATE | share of POSTs answered 410, their socket dropped without $disconnect | 0 |
| LOCAL_FAULT_THROTTLE_RATE | share of POSTs answered 429 LimitExceededException | 0 |
| LOCAL_FAULT_LATENCY_MS | added to every @connections call, standing in for AWS's round trip | 0 |
| LOCAL_FAULT_DYNAMODB_THROTTLE_RATE | share of DynamoDB data calls answered with throttling (400) | 0 |
| LOCAL_FAULT_SEED | seed of the random draws, for a repeatable run | none |
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class Fault(Enum):
    GONE = "gone"
    THROTTLE = "throttle"


class FaultPlan(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    gone_rate: float = Field(default=0.0, ge=0, le=1, alias="LOCAL_FAULT_GONE_RATE")
    throttle_rate: float = Field(default=0.0, ge=0, le=1, alias="LOCAL_FAULT_THROTTLE_RATE")
    latency_ms: float = Field(default=0.0, ge=0, le=10_000, alias="LOCAL_FAULT_LATENCY_MS")
    dynamodb_throttle_rate: float = Field(default=0.0, ge=0, le=1, alias="LOCAL_FAULT_DYNAMODB_THROTTLE_RATE")
    seed: int | None = Field(default=None, alias="LOCAL_FAULT_SEED")
    _random: random.Random = PrivateAttr()

    def model_post_init(self, _context: object) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - fault draws, not crypto

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FaultPlan:
        env = os.environ if environ is None else environ
        return cls.model_validate({k: v for k, v in env.items() if k.startswith("LOCAL_FAULT_") and v != ""})

    @property
    def active(self) -> bool:
        return bool(self.gone_rate or self.throttle_rate or self.latency_ms or self.dynamodb_throttle_rate)

    def throttle_dynamodb(self) -> bool:
        return bool(self.dynamodb_throttle_rate) and self._random.random() < self.dynamodb_throttle_rate

    def draw(self) -> Fault | None:
        """The fault for one POST, if any (gone first, then throttle, from one draw)."""
        roll = self._random.random()
        if roll < self.gone_rate:
            return Fault.GONE
        if roll < self.gone_rate + self.throttle_rate:
            return Fault.THROTTLE
        return None
