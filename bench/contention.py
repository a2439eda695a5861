"""Contention on one group's seq: N publishers publishing to the same group at once, over
the WebSocket (`python -m bench.contention --publishers 20 --each 25`).

Every publish allocates the group's next seq in one DynamoDB transaction conditioned on
the seq it read; concurrent publishers lose races and read again. This measures how many
publishes per second one group takes, how many answered 503 (ServiceUnavailable: the
retries ran out) and the latency of the others. Run against the local stack (moto), so
the absolute numbers are moto's; the share of 503s is what the retry policy decides.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass

from bench.local_stack import StackProcess
from bench.stats import Latency
from local.emulated.latency import LatencyModel
from local.tools.client import RealtimeClient
from local.tools.tokens import mint_token


@dataclass
class Contention:
    publishers: int
    publishes: int
    published: int
    unavailable: int
    other_errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.published / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "seconds": round(self.seconds, 3), "per_second": round(self.per_second, 1)}


async def measure(ws_url: str, publishers: int, each: int, group: str = "alerts") -> Contention:
    token = mint_token("contention", ["admin"])
    clients = [await RealtimeClient.open(ws_url, token, timeout=30) for _ in range(publishers)]
    latencies: list[float] = []
    outcomes: dict[str, int] = {"Published": 0, "ServiceUnavailable": 0, "other": 0}

    async def publisher(client: RealtimeClient, index: int) -> None:
        for n in range(each):
            frame = {
                "action": "publish",
                "group": group,
                "type": "TestMessage",
                "data": {"message": f"{index}-{n}"},
                "requestId": f"{index}-{n}",
            }
            started = time.perf_counter()
            reply = await client.request(frame, timeout=60)
            # Skip anything else; API Gateway's own "Internal server error" carries its requestId.
            while reply.get("requestId") != frame["requestId"] and reply.get("message") != "Internal server error":
                reply = await client.receive(timeout=60)
            latencies.append(time.perf_counter() - started)
            if reply["type"] == "Published":
                outcomes["Published"] += 1
            elif reply.get("code") == "ServiceUnavailable":
                outcomes["ServiceUnavailable"] += 1
            else:
                outcomes["other"] += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(publisher(client, index) for index, client in enumerate(clients)))
    finally:
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
    seconds = time.perf_counter() - started
    latency = Latency.of(latencies)
    return Contention(
        publishers=publishers,
        publishes=publishers * each,
        published=outcomes["Published"],
        unavailable=outcomes["ServiceUnavailable"],
        other_errors=outcomes["other"],
        seconds=seconds,
        p50_ms=latency.p50_ms,
        p99_ms=latency.p99_ms,
    )


def print_result(result: Contention) -> None:
    print(
        f"{result.publishers} publishers x {result.publishes // result.publishers} publishes to one group: "
        f"{result.published} published ({result.per_second:.0f}/s), {result.unavailable} answered 503, "
        f"{result.other_errors} other errors; latency p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms"
    )


async def run(publishers: int, each: int, environment: dict[str, str] | None = None) -> Contention:
    # Lift the per-connection action rate: this measures the seq, not the rate limiter.
    limits = {"ACTION_RATE_PER_SECOND": "1000", "ACTION_BURST": "1000"}
    stack = StackProcess(environment={**(environment or {}), **limits})
    await stack.start()
    try:
        return await measure(stack.ws_url, publishers, each)
    finally:
        await stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contention", description=__doc__)
    parser.add_argument("--publishers", type=int, default=20)
    parser.add_argument("--each", type=int, default=25, help="publishes per publisher")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--latency-model",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="AWS-like round trips in the emulated services (local/emulated/latency.py; default: on)",
    )
    args = parser.parse_args(argv)
    model = LatencyModel.aws_like() if args.latency_model else LatencyModel()
    result = asyncio.run(run(args.publishers, args.each, model.environment()))
    print(json.dumps(result.to_dict()) if args.json else "", end="")
    print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
