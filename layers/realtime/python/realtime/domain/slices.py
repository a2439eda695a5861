"""The fan-out workers' use case: deliver one queued message to one membership shard."""

from __future__ import annotations

import time

from realtime.domain.delivery import Delivery
from realtime.domain.departures import Departures
from realtime.domain.models import FanoutResult, FanoutSlice, SliceProgress
from realtime.domain.ports import FanoutProgress, Memberships
from realtime.domain.publishing import settle
from realtime.observability import logger


class SliceDelivery:
    def __init__(
        self, memberships: Memberships, progress: FanoutProgress, delivery: Delivery, departures: Departures
    ) -> None:
        self._memberships = memberships
        self._progress = progress
        self._delivery = delivery
        self._departures = departures

    def deliver(self, work: FanoutSlice) -> None:
        """Deliver `work` page by page, checkpointing after each page so a redelivered slice
        resumes where it stopped (at-least-once: only the page in flight at a crash can be
        sent twice; clients drop a seq they already have)."""
        progress = self._progress.slice_progress(work.message_id, work.shard)
        payload = work.envelope.encode()
        while not progress.done:
            page = next(iter(self._memberships.members(work.group, work.shard, after=progress.after)), [])
            if not page:  # no member after the checkpoint: the slice is done
                if not self._progress.checkpoint_slice(
                    work.message_id, work.shard, progress, progress.after, FanoutResult(), done=True
                ):
                    return  # another worker has this slice
                break
            started = time.perf_counter()
            outcome = self._delivery.fan_out([[m.connection_id for m in page if m.receives(work.seq)]], payload)
            after = page[-1].connection_id
            if not self._progress.checkpoint_slice(work.message_id, work.shard, progress, after, outcome, done=False):
                return
            # Accounted after the checkpoint: a retried page must still find (and count) the gone.
            settle(outcome, self._departures, work.message_id, work.group, work.seq, started)
            progress = SliceProgress(after=after)
        if self._progress.complete_slice(work.message_id, work.shard, work.group):
            logger.info("queued fan-out finished", extra={"message_id": work.message_id, "group": work.group})
