"""The measurements: handshake latency, publish-to-delivery latency, delivery throughput.
Every loop is bounded and every wait has a timeout."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.stats import Latency, Throughput
from local.tools.client import RealtimeClient

GROUP = "analytics"
RECEIVE_TIMEOUT = 30.0


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


async def settle(http: httpx.AsyncClient, timeout: float = 60.0) -> None:
    """Wait until every closed socket's $disconnect has run (the stack counts 0 connections)."""
    async with asyncio.timeout(timeout):
        while (await http.get("/status")).json()["connections"]:
            await asyncio.sleep(0.1)


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

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def close_all(clients: list[RealtimeClient]) -> None:
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)


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
    response = await http.post("/broadcast/analytics", json={"metrics": {"n": n}})
    response.raise_for_status()
    received = await asyncio.gather(*arrivals)
    if response.status_code == 202:
        return sent, received, len(received)
    return sent, received, int(response.json()["delivered"])


async def delivery_latency(http: httpx.AsyncClient, subscribers: list[RealtimeClient], publishes: int) -> Latency:
    """For every delivery: from sending the POST to the subscriber receiving the frame."""
    samples: list[float] = []
    for n in range(publishes):
        sent, received, _ = await _publish_and_collect(http, subscribers, n)
        samples += [moment - sent for moment in received]
    return Latency.of(samples)


async def delivery_throughput(http: httpx.AsyncClient, subscribers: list[RealtimeClient], publishes: int) -> Throughput:
    """Deliveries per second over `publishes` back-to-back publishes to every subscriber."""
    delivered = 0
    started = time.perf_counter()
    for n in range(publishes):
        _, _, count = await _publish_and_collect(http, subscribers, n)
        delivered += count
    return Throughput(len(subscribers), publishes, delivered, round(time.perf_counter() - started, 3))
