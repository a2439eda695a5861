"""The measurements: handshake latency, publish-to-delivery latency, delivery throughput,
disconnects, resume. Every loop is bounded and every wait has a timeout; a wait for the
stack to settle gives up after its bound, says so, and lets the run go on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from bench.stats import Latency, Throughput
from local.tools.client import RealtimeClient

GROUP = "analytics"
# Generous: the reference design delivers to 1,000 subscribers one call after another.
RECEIVE_TIMEOUT = 120.0
SETTLE_TIMEOUT = 300.0


async def connect_latency(ws_url: str, token: str, handshakes: int, warmup: int = 10) -> Latency:
    """Time to open a socket (authorizer + $connect included), one handshake at a time.
    Sockets stay open until the end, so no $disconnect competes with a handshake."""
    samples: list[float] = []
    opened: list[RealtimeClient] = []
    try:
        for attempt in range(warmup + handshakes):
            started = time.perf_counter()
            opened.append(await RealtimeClient.open(ws_url, token))
            if attempt >= warmup:
                samples.append(time.perf_counter() - started)
    finally:
        await close_all(opened)
    return Latency.of(samples)


@dataclass(frozen=True)
class Settled:
    """How long the stack took until it counted no connection (every $disconnect ran)."""

    seconds: float
    remaining: int  # connections still counted when the wait ended
    complete: bool


async def settle(http: httpx.AsyncClient, timeout: float = SETTLE_TIMEOUT) -> Settled:
    """Wait until every closed socket's $disconnect has run (the stack counts 0
    connections), at most `timeout` seconds; never raises for a slow stack."""
    started = time.perf_counter()
    remaining = -1
    deadline = started + timeout
    while time.perf_counter() < deadline:
        try:
            remaining = int((await http.get("/status")).json()["connections"])
        except (httpx.HTTPError, ValueError, KeyError):
            remaining = -1  # a busy stack may answer late: look again
        if remaining == 0:
            return Settled(round(time.perf_counter() - started, 3), 0, True)
        await asyncio.sleep(0.1)
    seconds = round(time.perf_counter() - started, 3)
    print(f"  gave up waiting after {seconds:.0f} s: {remaining} connections still counted", flush=True)
    return Settled(seconds, remaining, False)


async def open_subscribers(ws_url: str, token: str, count: int, concurrency: int = 32) -> list[RealtimeClient]:
    """`count` sockets subscribed to GROUP, opened a few at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> RealtimeClient:
        async with gate:
            client = await RealtimeClient.open(ws_url, token, timeout=RECEIVE_TIMEOUT)
            reply = await client.request({"action": "subscribe", "group": GROUP}, timeout=RECEIVE_TIMEOUT)
            if reply.get("type") != "Subscribed":
                raise RuntimeError(f"subscribe failed: {reply}")
            return client

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    opened = [result for result in results if isinstance(result, RealtimeClient)]
    failure = next((result for result in results if isinstance(result, BaseException)), None)
    if failure is not None:
        await close_all(opened)
        raise failure
    return opened


async def close_all(clients: list[RealtimeClient]) -> None:
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)


async def disconnects(http: httpx.AsyncClient, clients: list[RealtimeClient]) -> Settled:
    """Close every socket at once; how long until the stack has run every $disconnect."""
    started = time.perf_counter()
    await close_all(clients)
    clients.clear()
    settled = await settle(http)
    return Settled(round(time.perf_counter() - started, 3), settled.remaining, settled.complete)


async def _arrival(client: RealtimeClient) -> float:
    envelope = await client.receive(RECEIVE_TIMEOUT)
    if envelope.get("type") != "AnalyticsUpdate":
        raise RuntimeError(f"unexpected frame: {envelope}")
    return time.perf_counter()


async def _publish_and_collect(
    http: httpx.AsyncClient, subscribers: list[RealtimeClient], n: int
) -> tuple[float, list[float], int]:
    """One REST publish; return when it was sent, when each subscriber got it, and how many
    deliveries there were: as the server reported them inline, or as the subscribers
    received them when the fan-out was queued (202: a group over the inline threshold)."""
    arrivals = [asyncio.create_task(_arrival(client)) for client in subscribers]
    sent = time.perf_counter()
    try:
        response = await http.post("/broadcast/analytics", json={"metrics": {"n": n}})
        response.raise_for_status()
        received = await asyncio.gather(*arrivals)
    finally:
        for arrival in arrivals:
            arrival.cancel()
    body = response.json()
    if response.status_code == 202 or "delivered" not in body:
        return sent, received, len(received)
    return sent, received, int(body["delivered"])


async def delivery_latency(
    http: httpx.AsyncClient, subscribers: list[RealtimeClient], publishes: int
) -> tuple[Latency, Throughput]:
    """For every delivery: from sending the POST to the subscriber receiving the frame;
    and the deliveries per second over the publishes, one after another."""
    samples: list[float] = []
    delivered = 0
    started = time.perf_counter()
    for n in range(publishes):
        sent, received, count = await _publish_and_collect(http, subscribers, n)
        samples += [moment - sent for moment in received]
        delivered += count
    seconds = round(time.perf_counter() - started, 3)
    return Latency.of(samples), Throughput(len(subscribers), publishes, delivered, seconds)


async def resume_latency(
    ws_url: str, token: str, http: httpx.AsyncClient, missed: int, rounds: int, group: str = GROUP
) -> Latency:
    """A subscriber leaves, `missed` messages are published, it reconnects and subscribes
    with `since`: from sending that subscribe to receiving the last missed message."""
    samples: list[float] = []
    for _ in range(rounds):
        client = await RealtimeClient.open(ws_url, token, timeout=RECEIVE_TIMEOUT)
        reply = await client.request({"action": "subscribe", "group": group}, timeout=RECEIVE_TIMEOUT)
        since, epoch = reply["seq"], reply["epoch"]
        await client.close()
        await settle(http)  # nobody subscribed: the publishes below go to history only
        for n in range(missed):
            (await http.post("/broadcast/analytics", json={"metrics": {"n": n}})).raise_for_status()
        client = await RealtimeClient.open(ws_url, token, timeout=RECEIVE_TIMEOUT)
        try:
            started = time.perf_counter()
            await client.send({"action": "subscribe", "group": group, "since": since, "epoch": epoch})
            replayed = 0
            while replayed < missed:
                frame = await client.receive(RECEIVE_TIMEOUT)
                if frame.get("type") == "Subscribed" and not frame.get("recovered"):
                    raise RuntimeError(f"resume not recovered: {frame}")
                replayed += frame.get("type") == "AnalyticsUpdate"
            samples.append(time.perf_counter() - started)
        finally:
            await client.close()
    return Latency.of(samples)
