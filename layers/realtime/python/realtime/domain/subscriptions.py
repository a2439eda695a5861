"""Use cases of group membership: subscribe (live, or resuming with `since`/`epoch`), the
resume's replay, unsubscribe."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict

from realtime.config import HubSettings
from realtime.domain.access import AccessPolicy
from realtime.domain.delivery import Delivery, Outcome
from realtime.domain.departures import Departures, Notices
from realtime.domain.models import Connection
from realtime.domain.ports import Clock, Memberships, ReplayBudget, Streams
from realtime.errors import RateLimited, RealtimeError, RecoveryFailed
from realtime.observability import MetricUnit, logger, metrics
from realtime.protocol import error_frame
from realtime.retries import LOST_RACE, LostRace, optimistic

REPLAY_PAGE = 100


class Subscription(BaseModel):
    model_config = ConfigDict(defer_build=True)

    group: str
    seq: int
    epoch: str
    recovered: bool | None = None  # set when the client asked to resume
    replay_bytes: int | None = None  # what the replay may still send this minute (its budget)


class Subscriptions:
    def __init__(
        self,
        settings: HubSettings,
        access: AccessPolicy,
        streams: Streams,
        memberships: Memberships,
        replay_budget: ReplayBudget,
        delivery: Delivery,
        departures: Departures,
        notices: Notices,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._access = access
        self._streams = streams
        self._memberships = memberships
        self._budget = replay_budget
        self._delivery = delivery
        self._departures = departures
        self._notices = notices
        self._clock = clock

    def subscribe(
        self, connection: Connection, group: str, *, since: int | None = None, epoch: str | None = None
    ) -> Subscription:
        """Join `group`. Without `since`, the client receives every message after the
        returned seq. With `since` (and the epoch it saw), the membership starts in replay
        mode when history still covers since+1…current: call `replay` next. A replay is
        charged to the connection's replay budget (RateLimited when it is spent)."""
        self._access.require_read(connection.identity, group)
        allowance: list[int] = []  # charged once, before the first join attempt that replays

        def attempt() -> Subscription | LostRace:
            state = self._streams.state(group)
            recovering = since is not None and self._history_covers(group, since, epoch, state.seq, state.epoch)
            if recovering and not allowance and since is not None and state.seq > since:
                allowance.append(self._charge_replay(connection, state.seq - since))
            outcome = self._memberships.join(connection, group, state, replaying=recovering)
            if outcome is None:
                return LOST_RACE  # a message was published meanwhile: read the group again
            if outcome == "occupied":
                self._notices.occupied(group, connection.connection_id)
            return Subscription(
                group=group,
                seq=state.seq,
                epoch=state.epoch,
                recovered=(recovering and outcome != "member") if since is not None else None,
                replay_bytes=allowance[0] if allowance else None,
            )

        return optimistic(attempt, f"join group {group!r} while it publishes this fast")

    def unsubscribe(self, connection: Connection, group: str) -> None:
        self._access.require_group(group)
        self._departures.leave(connection.connection_id, group)

    def replay(self, connection: Connection, group: str, since: int, byte_budget: int | None = None) -> None:
        """Send every message after `since`, in order, then make the membership live. New
        messages published during the replay are replayed too; the switch to live is
        conditional on the group's seq, so no message is missed or sent twice. Whatever
        goes wrong, the membership never stays `replaying` (it would receive nothing): the
        client gets RecoveryFailed (RateLimited past `byte_budget`) and is unsubscribed."""
        sent = [0]
        try:
            self._replay(connection, group, since, byte_budget, sent)
        except Exception:
            logger.exception("replay failed", extra={"group": group})
            self._abandon(connection, group, "the replay failed")
        finally:
            if byte_budget is not None and sent[0]:
                self._budget.add_bytes(connection.connection_id, self._window(), sent[0])

    def _replay(self, connection: Connection, group: str, since: int, byte_budget: int | None, sent: list[int]) -> None:
        deadline = time.monotonic() + self._settings.replay_budget_seconds
        cid, last = connection.connection_id, since
        while True:
            page = self._streams.history(group, last, REPLAY_PAGE, self._clock.now())
            if page.first_seq is not None and page.first_seq != last + 1:
                return self._abandon(connection, group, f"history no longer holds seq {last + 1}")
            for envelope in page.items:
                payload = envelope.to_json().encode()
                if byte_budget is not None and sent[0] + len(payload) > byte_budget:
                    return self._abandon(connection, group, "", self._limited())
                outcome = self._delivery.send(cid, payload)
                if outcome is Outcome.GONE:
                    self._departures.remove(cid, "stale")
                    return None
                if outcome is Outcome.FAILED:
                    return self._abandon(connection, group, "a replayed message could not be delivered")
                sent[0] += len(payload)
            if page.last_seq is not None:
                last = page.last_seq  # past unreadable items too (skipped, logged and counted)
            if not page.more and self._memberships.go_live(cid, group, last):
                metrics.add_metric(name="MessagesReplayed", unit=MetricUnit.Count, value=last - since)
                return None
            if time.monotonic() > deadline:
                return self._abandon(connection, group, "the group publishes faster than it can be replayed")

    def _abandon(self, connection: Connection, group: str, why: str, error: RealtimeError | None = None) -> None:
        """Leave the group and tell the client why (RecoveryFailed unless `error` says otherwise)."""
        error = error or RecoveryFailed(f"{why}; reload the state (getPlatformStats) and subscribe again")
        try:
            self._departures.leave(connection.connection_id, group)
        finally:
            logger.warning("replay abandoned", extra={"group": group, "reason": error.message})
            self._departures.reply(connection.connection_id, error_frame(error, group=group))

    def _history_covers(self, group: str, since: int, epoch: str | None, seq: int, current_epoch: str) -> bool:
        if epoch != current_epoch or since < 0 or since > seq:
            return False
        if seq - since > self._settings.replay_max_messages:
            return False
        if since == seq:
            return True
        return self._streams.history(group, since, 1, self._clock.now()).first_seq == since + 1

    def _charge_replay(self, connection: Connection, messages: int) -> int:
        """Take `messages` from the connection's replay budget for this minute (counted in
        the table, so it holds across execution environments): the bytes the replay may
        send, or RateLimited."""
        limit = self._settings.replay_messages_per_minute
        allowed = (
            self._budget.charge(
                connection.connection_id,
                self._window(),
                messages,
                max_messages=limit,
                max_bytes=self._settings.replay_bytes_per_minute,
            )
            if messages <= limit
            else None
        )
        if allowed is None:
            raise self._limited()
        return allowed

    def _window(self) -> int:
        return int(self._clock.now().timestamp()) // 60

    def _limited(self) -> RateLimited:
        return RateLimited(
            f"this connection's replay budget ({self._settings.replay_messages_per_minute} messages and "
            f"{self._settings.replay_bytes_per_minute} bytes a minute) is spent; subscribe again later",
            retry_after=60 - self._clock.now().timestamp() % 60,
        )
