"""Sequences and history (the Streams port), and the latest value of each event type (the
LatestValues port).

Publishing appends to a group's history and advances its seq in one transaction guarded
by the seq it read (optimistic concurrency): a seq is never allocated without its message
being stored, so history has no gaps, and two publishers never get the same seq. A lost
race returns the group as the winner left it, so the next attempt needs no read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from realtime.adapters.dynamodb.keys import (
    LATEST_PK,
    META,
    group_pk,
    history_pk,
    latest_sk,
    seq_of,
    seq_sk,
)
from realtime.adapters.dynamodb.memberships import GROUP_STATE_PROJECTION, group_state_from
from realtime.adapters.dynamodb.progress import progress_item
from realtime.adapters.dynamodb.table import LOST_RACE, LostRace, Table, TransactionCancelled, number, optimistic
from realtime.domain.models import Appended, Envelope, GroupState, HistoryPage
from realtime.observability import MetricUnit, logger, metrics


class DynamoStreams:
    def __init__(self, table: Table) -> None:
        self.table = table

    def state(self, group: str) -> GroupState:
        item = self.table.get(group_pk(group), META, projection=GROUP_STATE_PROJECTION)
        if item and "epoch" in item:
            return group_state_from(item)
        # First use of the group: give it an epoch (kept for as long as its seq lives).
        created = self.table.update_item(
            group_pk(group),
            META,
            "SET epoch = if_not_exists(epoch, :epoch)",
            values={":epoch": {"S": uuid.uuid4().hex[:12]}},
            returns="ALL_NEW",
        )
        return group_state_from(created or {})

    def append(
        self,
        group: str,
        build: Callable[[int, str], Envelope],
        *,
        history_ttl: int,
        history_limit: int,
        now: datetime,
        queue_above: int | None = None,
    ) -> Appended:
        """Store the next message of `group` (built by `build(seq, epoch)`) and return it.
        With `queue_above`, the message is queued when the group has more members than
        that, or while earlier queued messages are still being fanned out (so messages
        are never overtaken); then its progress record is created in the same transaction."""
        seen: list[GroupState] = []  # the group as the last lost race left it

        def attempt() -> Appended | LostRace:
            state = seen.pop() if seen else self.state(group)
            envelope = build(state.seq + 1, state.epoch)
            queued = queue_above is not None and (state.members > queue_above or state.pending > 0)
            values: dict[str, Any] = {
                ":next": number(envelope.seq),
                ":seq": number(state.seq),
                ":epoch": {"S": state.epoch},
                ":shards": number(state.shards),
            }
            if queued:
                values[":one"] = number(1)
            actions = [
                self.table.update(
                    group_pk(group),
                    META,
                    "SET seq = :next" + (" ADD pending :one" if queued else ""),
                    # Shards too: the fan-out reads the shards counted here, so a join that
                    # added one since (it changes no seq) must make this publish try again.
                    condition="epoch = :epoch AND (attribute_not_exists(seq) OR seq = :seq)"
                    " AND (attribute_not_exists(shards) OR shards = :shards)",
                    values=values,
                    return_on_failure=True,
                ),
                self.table.put(
                    {
                        "pk": history_pk(group),
                        "sk": seq_sk(envelope.seq),
                        "envelope": envelope.to_json(),
                        "ttl": int(now.timestamp()) + history_ttl,
                    }
                ),
            ]
            if queued:
                actions.append(self.table.put(progress_item(envelope, state, now)))
            if envelope.seq > history_limit:  # keep at most `history_limit` messages per group
                actions.append(self.table.delete(history_pk(group), seq_sk(envelope.seq - history_limit)))
            try:
                self.table.transact(actions)
            except TransactionCancelled as cancelled:
                current = cancelled.item(0)
                if current is not None and "epoch" in current:
                    seen.append(group_state_from(current))
                return LOST_RACE  # another publisher took this seq
            return Appended(envelope=envelope, recipients=state.members, shards=state.shards, queued=queued)

        return optimistic(attempt, "publish")

    def history(self, group: str, after: int, limit: int, now: datetime) -> HistoryPage:
        """Up to `limit` unexpired messages with seq > `after`, in order, and whether more
        follow. A stored item that cannot be read back is skipped (logged and counted),
        never fatal to the reader: `last_seq` still moves past it."""
        entries: list[tuple[int, Envelope | None]] = []
        for page in self.table.query(history_pk(group), after=seq_sk(after), limit=limit + 1):
            entries += [
                (seq_of(str(item["sk"])), readable_envelope(item, f"history of {group}"))
                for item in page
                if int(item.get("ttl", 0)) > now.timestamp()  # TTL deletes lazily: hide the expired
            ]
        more, entries = len(entries) > limit, entries[:limit]
        return HistoryPage(
            items=[envelope for _, envelope in entries if envelope is not None],
            more=more,
            first_seq=entries[0][0] if entries else None,
            last_seq=entries[-1][0] if entries else None,
            skipped=[seq for seq, envelope in entries if envelope is None],
        )


class DynamoLatestValues:
    def __init__(self, table: Table) -> None:
        self.table = table

    def save(self, envelope: Envelope) -> None:
        # Conditional on seq, so a slower concurrent publisher never overwrites a newer value.
        source = envelope.group or f"user:{envelope.user_id}"
        self.table.put_item(
            {
                "pk": LATEST_PK,
                "sk": latest_sk(envelope.type),
                "source": source,
                "seq": envelope.seq,
                "envelope": envelope.to_json(),
            },
            condition="attribute_not_exists(pk) OR #s <> :s OR seq < :seq",
            names={"#s": "source"},
            values={":s": {"S": source}, ":seq": number(envelope.seq)},
        )

    def all(self) -> dict[str, Envelope]:
        envelopes = [readable_envelope(item, "latest values") for page in self.table.query(LATEST_PK) for item in page]
        return {envelope.type: envelope for envelope in envelopes if envelope is not None}


def readable_envelope(item: dict[str, Any], where: str) -> Envelope | None:
    """The item's envelope, or None (logged and counted) when it cannot be read back: the
    write path refuses such payloads, but a reader must never fail on one item."""
    try:
        return Envelope.model_validate_json(item["envelope"])
    except (KeyError, TypeError, ValueError, RecursionError) as exc:  # pydantic's ValidationError is a ValueError
        logger.error(
            "unreadable stored message skipped",
            extra={
                "where": where,
                "pk": str(item.get("pk"))[:200],
                "sk": str(item.get("sk"))[:200],
                "error": type(exc).__name__,
            },
        )
        metrics.add_metric(name="UnreadableItems", unit=MetricUnit.Count, value=1)
        return None
