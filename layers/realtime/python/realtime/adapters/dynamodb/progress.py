"""Progress of queued fan-outs: `MSG#id/META` (counters, the set of finished slices) and
one checkpoint per slice, `MSG#id/SLICE#k` (the last member done and its counts).

A slice advances page by page; each page's counts and the new checkpoint are written in
one transaction conditioned on the previous checkpoint, so a redelivered slice resumes
where it stopped and counts every delivery once. Finishing a slice adds its number to a
set on the message conditioned on the set's size: the slice that completes the message
knows it did, exactly once, and releases the group's `pending` count with it."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from realtime.adapters.dynamodb.keys import META, group_pk, message_pk, slice_sk
from realtime.adapters.dynamodb.table import LOST_RACE, LostRace, Table, TransactionCancelled, number, optimistic
from realtime.domain.models import Envelope, FanoutResult, GroupState, MessageProgress, SliceProgress

# Progress records outlive any fan-out by far; a client may poll them for a day.
PROGRESS_TTL_SECONDS = 24 * 3600


def progress_item(envelope: Envelope, state: GroupState, now: datetime) -> dict[str, Any]:
    return {
        "pk": message_pk(envelope.id),
        "sk": META,
        "group": envelope.group,
        "seq": envelope.seq,
        "status": "queued",
        "recipients": state.members,
        "slices": state.shards,
        "delivered": 0,
        "gone": 0,
        "failed": 0,
        "ttl": int(now.timestamp()) + PROGRESS_TTL_SECONDS,
    }


def _counts(result: FanoutResult) -> dict[str, Any]:
    return {
        ":delivered": number(result.delivered),
        ":gone": number(len(result.gone_connection_ids)),
        ":failed": number(result.failed),
    }


class DynamoFanoutProgress:
    def __init__(self, table: Table) -> None:
        self.table = table

    def slice_progress(self, message_id: str, shard: int) -> SliceProgress:
        item = self.table.get(message_pk(message_id), slice_sk(shard), projection="lastDone, done")
        if item is None:
            return SliceProgress()
        return SliceProgress(after=item.get("lastDone"), done=bool(item.get("done", False)))

    def checkpoint_slice(
        self,
        message_id: str,
        shard: int,
        previous: SliceProgress,
        after: str | None,
        result: FanoutResult,
        *,
        done: bool,
    ) -> bool:
        """Record a delivered page (members up to `after`) and its counts, if the slice is
        still at `previous`. False: another worker moved it on (this one must stop)."""
        condition = "attribute_not_exists(done)"
        values = _counts(result)
        if previous.after is None:
            condition += " AND attribute_not_exists(lastDone)"
        else:
            condition += " AND lastDone = :previous"
            values[":previous"] = {"S": previous.after}
        sets = []
        if after is not None:
            sets.append("lastDone = :after")
            values[":after"] = {"S": after}
        if done:
            sets.append("done = :true")
            values[":true"] = {"BOOL": True}
        update = (
            "SET " + ", ".join(sets) + " " if sets else ""
        ) + "ADD delivered :delivered, gone :gone, failed :failed"
        try:
            self.table.transact(
                [
                    self.table.update(
                        message_pk(message_id), slice_sk(shard), update, condition=condition, values=values
                    ),
                    self.table.update(
                        message_pk(message_id),
                        META,
                        "ADD delivered :delivered, gone :gone, failed :failed",
                        values=_counts(result),
                    ),
                ]
            )
        except TransactionCancelled:
            return False
        return True

    def complete_slice(self, message_id: str, shard: int, group: str) -> bool:
        """Mark the slice finished on the message (idempotent). True when this call
        finished the whole message."""

        def attempt() -> bool | LostRace:
            item = self.table.get(message_pk(message_id), META, projection="slices, doneSlices")
            if item is None:
                return False  # expired, or never created: nothing to account for
            done = {int(n) for n in item.get("doneSlices", set())}
            if shard in done:
                return False
            last = len(done) + 1 >= int(item["slices"])
            values: dict[str, Any] = {":shard": {"NS": [str(shard)]}, ":one": {"N": str(shard)}}
            condition = "NOT contains(doneSlices, :one) AND "
            if done:
                condition += "size(doneSlices) = :size"
                values[":size"] = {"N": str(len(done))}
            else:
                condition += "attribute_not_exists(doneSlices)"
            update = "ADD doneSlices :shard"
            names: dict[str, str] = {}
            if last:
                update += " SET #s = :done"
                names["#s"] = "status"
                values[":done"] = {"S": "done"}
            actions = [
                self.table.update(
                    message_pk(message_id), META, update, condition=condition, names=names or None, values=values
                )
            ]
            if last:
                actions.append(self.table.add(group_pk(group), META, "pending", -1))
            try:
                self.table.transact(actions)
            except TransactionCancelled:
                return LOST_RACE  # another slice finished meanwhile: read again
            return last

        return optimistic(attempt, "record the slice")

    def abandon_message(self, message_id: str, group: str) -> None:
        """The message could not be queued: mark it failed and release the group."""
        with suppress(TransactionCancelled):  # already finished or abandoned
            self.table.transact(
                [
                    self.table.update(
                        message_pk(message_id),
                        META,
                        "SET #s = :failed",
                        condition="#s = :queued",
                        names={"#s": "status"},
                        values={":failed": {"S": "failed"}, ":queued": {"S": "queued"}},
                    ),
                    self.table.add(group_pk(group), META, "pending", -1),
                ]
            )

    def message_progress(self, message_id: str) -> MessageProgress | None:
        item = self.table.get(message_pk(message_id), META)
        if item is None:
            return None
        slices, slices_done = int(item["slices"]), len(item.get("doneSlices", set()))
        return MessageProgress(
            id=message_id,
            group=item["group"],
            seq=int(item["seq"]),
            status=item["status"],
            recipients=int(item["recipients"]),
            delivered=int(item.get("delivered", 0)),
            gone=int(item.get("gone", 0)),
            failed=int(item.get("failed", 0)),
            slices=slices,
            slices_done=slices_done,
            done=slices_done >= slices,
        )
