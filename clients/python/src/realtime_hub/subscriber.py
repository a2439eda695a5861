"""A WebSocket subscriber that resumes across reconnects: every envelope of its groups
once, in seq order, with no gap — what `realtime-hub tail` prints.

Per group it remembers the `seq` and `epoch` of the last envelope it yielded. After a
drop it reconnects (with backoff, a fresh token each time) and subscribes with
`since`/`epoch`; the hub replays what was missed (docs/protocol.md#resume-after-a-reconnect).
What the hub cannot replay (`recovered: false`, `RecoveryFailed`, a start `--since N`
with no epoch yet, a gap seen live) is filled from the REST history when a REST client
is given; envelopes already yielded are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from realtime.domain.models import Envelope
from realtime_hub.client import AsyncHub
from realtime_hub.errors import ApiError, Forbidden, HubError, TransportError, Unauthorized

TokenSource = Callable[[], Awaitable[str | None]]
Report = Callable[[str], None]
PING_INTERVAL = 240.0  # API Gateway closes a connection after 10 idle minutes


@dataclass
class Position:
    seq: int
    epoch: str | None


def _ignore(_message: str) -> None:
    return None


class Subscriber:
    def __init__(
        self,
        ws_url: str,
        groups: Sequence[str],
        *,
        token: TokenSource | str | None = None,
        hub: AsyncHub | None = None,
        since: int | None = None,
        report: Report = _ignore,
        max_backoff: float = 10.0,
        open_timeout: float = 10.0,
        user_agent: str | None = None,
    ) -> None:
        if not groups:
            raise ValueError("subscribe to at least one group")
        self.ws_url = ws_url
        self.groups = list(dict.fromkeys(groups))
        self._token = token
        self.hub = hub
        self.report = report
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.user_agent = user_agent
        # Where each group stands: the last seq yielded, and its epoch (None: not known yet).
        self.positions: dict[str, Position] = {}
        if since is not None:
            self.positions = {group: Position(since, None) for group in self.groups}
        self.connects = 0
        self._backlog: list[Envelope] = []

    async def _bearer(self) -> str | None:
        if self._token is None or isinstance(self._token, str):
            return self._token
        return await self._token()

    def _url(self, token: str | None) -> str:
        if token is None:
            return self.ws_url
        separator = "&" if "?" in self.ws_url else "?"
        return f"{self.ws_url}{separator}{urlencode({'token': token})}"

    def _subscribe_frame(self, group: str) -> dict[str, Any]:
        frame: dict[str, Any] = {"action": "subscribe", "group": group, "requestId": f"subscribe:{group}"}
        at = self.positions.get(group)
        if at is not None and at.epoch is not None:
            frame.update(since=at.seq, epoch=at.epoch)
        return frame

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        attempt = 0
        while True:
            try:
                socket = await connect(self._url(await self._bearer()), **self._connect_options())
            except InvalidStatus as refused:
                status = refused.response.status_code
                if status == 401:
                    raise Unauthorized(401, "Unauthorized", "the hub refused the token") from refused
                if status == 403:
                    raise Forbidden(403, "Forbidden", "the token lacks the connect role") from refused
                self.report(f"handshake refused with {status}; retrying")
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if self.connects == 0 and attempt >= 2:
                    raise TransportError(f"cannot reach {self.ws_url}: {exc}") from exc
                self.report(f"cannot connect ({type(exc).__name__}: {exc}); retrying")
            else:
                self.connects += 1
                async with socket:
                    pinger = asyncio.create_task(self._ping(socket))
                    try:
                        async for envelope in self._session(socket):
                            attempt = 0
                            yield envelope
                    except ConnectionClosed as closed:
                        reason = closed.rcvd.reason if closed.rcvd is not None else ""
                        code = closed.rcvd.code if closed.rcvd is not None else "none"
                        self.report(f"connection closed by the hub (code {code} {reason}); reconnecting")
                    finally:
                        pinger.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await pinger
            await asyncio.sleep(random.uniform(0, min(self.max_backoff, 0.25 * 2**attempt)))  # noqa: S311
            attempt += 1

    def _connect_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"open_timeout": self.open_timeout}
        if self.user_agent is not None:
            options["user_agent_header"] = self.user_agent
        return options

    async def _ping(self, socket: ClientConnection) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL)
            await socket.send(json.dumps({"action": "ping"}))

    async def _session(self, socket: ClientConnection) -> AsyncIterator[Envelope]:
        for group in self.groups:
            await socket.send(json.dumps(self._subscribe_frame(group)))
        while True:
            frame = json.loads(await socket.recv())
            if not isinstance(frame, dict):
                continue
            kind = frame.get("type")
            if kind == "Subscribed":
                await self._subscribed(frame)
            elif kind == "Error":
                await self._error(socket, frame)
            elif "seq" in frame and "id" in frame and "data" in frame:
                envelope = Envelope.model_validate(frame)
                if envelope.group is None:  # a message to this user: no group sequence to resume
                    yield envelope
                    continue
                await self._fill_before(envelope)
            else:
                continue
            while self._backlog:
                yield self._backlog.pop(0)

    def _accept(self, envelope: Envelope) -> None:
        """Queue `envelope` unless already yielded; move its group's position."""
        assert envelope.group is not None
        at = self.positions.get(envelope.group)
        if at is not None and at.epoch in (None, envelope.epoch) and envelope.seq <= at.seq:
            return  # a duplicate (a replay overlapping what was seen, an at-least-once redelivery)
        self.positions[envelope.group] = Position(envelope.seq, envelope.epoch)
        self._backlog.append(envelope)

    async def _fill_before(self, envelope: Envelope) -> None:
        assert envelope.group is not None
        at = self.positions.get(envelope.group)
        if at is not None and at.epoch == envelope.epoch and envelope.seq > at.seq + 1:
            await self._fill(envelope.group, envelope.epoch, envelope.seq - 1)
        elif at is not None and at.epoch is not None and at.epoch != envelope.epoch:
            self.report(f"{envelope.group}: the sequence was reset (new epoch {envelope.epoch}); reload its state")
        self._accept(envelope)

    async def _subscribed(self, frame: dict[str, Any]) -> None:
        group, seq, epoch = frame["group"], int(frame["seq"]), str(frame["epoch"])
        at = self.positions.get(group)
        if at is None:
            self.positions[group] = Position(seq, epoch)
            self.report(f"subscribed to {group} at seq {seq}")
            return
        if frame.get("recovered"):
            self.report(f"resumed {group} after seq {at.seq}")
            return  # the replay follows, then live messages
        if at.epoch not in (None, epoch):
            self.report(f"{group}: the sequence was reset (new epoch {epoch}); reload its state")
            self.positions[group] = Position(seq, epoch)
            return
        if at.seq < seq:
            await self._fill(group, epoch, seq)
        self.positions[group] = Position(max(seq, self.positions[group].seq), epoch)
        self.report(f"subscribed to {group} at seq {seq}")

    async def _fill(self, group: str, epoch: str, through: int) -> None:
        """Queue the stored messages after the group's position up to `through` (REST history)."""
        at = self.positions[group]
        if self.hub is None:
            self.report(f"{group}: messages {at.seq + 1}..{through} were missed (no REST client to fill them)")
            return
        start = at.seq
        try:
            async with contextlib.aclosing(self.hub.history(group, after=start)) as stored:
                async for envelope in stored:
                    if envelope.seq > through:
                        break
                    if envelope.epoch != epoch:
                        continue
                    current = self.positions[group]
                    if envelope.seq > current.seq + 1:
                        self.report(f"{group}: messages {current.seq + 1}..{envelope.seq - 1} are no longer stored")
                    self._accept(envelope)
        except (ApiError, TransportError) as exc:
            self.report(f"{group}: could not read the history ({exc})")
        if self.positions[group].seq < through:
            self.report(f"{group}: messages {self.positions[group].seq + 1}..{through} are no longer stored")
            self.positions[group] = Position(through, epoch)

    async def _error(self, socket: ClientConnection, frame: dict[str, Any]) -> None:
        code = frame.get("code")
        request_id = frame.get("requestId")
        group = frame.get("group")
        if isinstance(request_id, str) and request_id.startswith("subscribe:"):
            group = request_id.removeprefix("subscribe:")
        if code == "RateLimited" and isinstance(group, str):
            await asyncio.sleep(float(frame.get("retryAfter") or 1.0))
            await socket.send(json.dumps(self._subscribe_frame(group)))
        elif code == "RecoveryFailed" and isinstance(group, str):
            self.report(f"{group}: the replay could not finish; subscribing again")
            at = self.positions.get(group)
            if at is not None:  # subscribe live and fill the rest from the history
                self.positions[group] = Position(at.seq, None)
            await socket.send(json.dumps(self._subscribe_frame(group)))
        elif code in ("Unauthorized", "Forbidden", "UnknownGroup", "ValidationError") and group in self.groups:
            raise _refusal(code, str(frame.get("message", code)))
        else:
            self.report(f"error from the hub: {code}: {frame.get('message')}")


def _refusal(code: str, message: str) -> HubError:
    from realtime_hub.errors import error_for

    status = {"Unauthorized": 401, "Forbidden": 403, "UnknownGroup": 404, "ValidationError": 422}[code]
    return error_for(status, {"code": code, "message": message})
