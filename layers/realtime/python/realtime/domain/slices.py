"""The fan-out workers' use case: deliver one queued message to one membership shard."""

from __future__ import annotations

import time
from collections import deque

from realtime.domain.delivery import Delivery, PendingFanout
from realtime.domain.departures import Departures
from realtime.domain.models import FanoutResult, FanoutSlice, SliceProgress
from realtime.domain.ports import FanoutProgress, Memberships
from realtime.domain.publishing import settle
from realtime.observability import logger

# Pages whose sends are queued at once: the one being delivered and the next.
PAGES_IN_FLIGHT = 2


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
        resumes where it stopped (at-least-once: only the pages in flight at a crash, at most
        PAGES_IN_FLIGHT, can be sent twice; clients drop a seq they already have).

        The next page is read and queued on the pool while the previous one is still being
        delivered, so the pool never idles between pages; checkpoints stay in page order,
        each written once its page's sends have all returned."""
        progress = self._progress.slice_progress(work.message_id, work.shard)
        payload = work.envelope.encode()
        in_flight: deque[tuple[str, PendingFanout, float]] = deque()  # (last id, sends, started)
        read_after, exhausted = progress.after, False
        while not progress.done:
            if not exhausted and len(in_flight) < PAGES_IN_FLIGHT:
                page = next(iter(self._memberships.members(work.group, work.shard, after=read_after)), [])
                if page:
                    started = time.perf_counter()
                    pending = self._delivery.start([[m.connection_id for m in page if m.receives(work.seq)]], payload)
                    read_after = page[-1].connection_id
                    in_flight.append((read_after, pending, started))
                    continue
                exhausted = True
            if not in_flight:  # every page delivered and checkpointed: the slice is done
                if not self._progress.checkpoint_slice(
                    work.message_id, work.shard, progress, progress.after, FanoutResult(), done=True
                ):
                    return  # another worker has this slice
                break
            after, pending, started = in_flight.popleft()
            outcome = pending.result()
            if not self._progress.checkpoint_slice(work.message_id, work.shard, progress, after, outcome, done=False):
                for _, abandoned, _ in in_flight:  # another worker has this slice: let ours end
                    abandoned.result()
                return
            # Accounted after the checkpoint: a retried page must still find (and count) the gone.
            settle(outcome, self._departures, work.message_id, work.group, work.seq, started)
            progress = SliceProgress(after=after)
        if self._progress.complete_slice(work.message_id, work.shard, work.group):
            logger.info("queued fan-out finished", extra={"message_id": work.message_id, "group": work.group})
