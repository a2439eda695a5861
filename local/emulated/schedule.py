"""The sweeper's schedule, as infra/schedule.py deploys it: an EventBridge rule invokes
the sweeper every SWEEP_MINUTES minutes. A failed run is not retried (the next one makes
up for it)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from local.emulated.gateway_requests import Gateway, scheduled_event
from local.emulated.lambdas import LambdaRuntime
from local.runner.settings import SWEEP_MINUTES

logger = logging.getLogger("local.emulated.schedule")
RULE_NAME = "realtime-local-sweep"


class SweepSchedule:
    def __init__(self, gateway: Gateway, runtime: LambdaRuntime, period_seconds: float = SWEEP_MINUTES * 60) -> None:
        self._gateway = gateway
        self._runtime = runtime
        self._period = period_seconds

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._period)
            await self.run_once()

    async def run_once(self) -> Any:
        """Invoke the sweeper now; its result, or None when it failed."""
        try:
            result = await self._runtime.invoke("sweeper", scheduled_event(self._gateway, RULE_NAME))
        except Exception:
            logger.exception("the sweeper failed")
            return None
        logger.info("sweeper: %s", result)
        return result
