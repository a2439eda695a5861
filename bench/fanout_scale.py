"""Fan-out at scale: one frame to 10,000 and 100,000 simulated members, delivered by 1, 4
and 16 worker processes, each standing for one worker Lambda instance.

Each worker runs the production code path, `realtime.domain.delivery.fan_out` with
`SignedManagementApiSender` and a thread pool, against a simulated Management API
(`bench.fanout_server`, its own process) that answers every call after a configurable
delay standing in for AWS's round trip. Members are split into slices of `slice_size`
(MEMBER_SHARD_SIZE: one queue message per membership shard in production) handed out
through a multiprocessing queue, so the workers share the work as Lambda instances share
the queue's messages.

Per run: wall time from the moment work is released (workers already started, imports
done, every thread started and every keep-alive connection open) until the last worker
reports; deliveries per second; CPU per delivery = the workers' process CPU / recipients.
The simulated server's CPU is reported apart. The same run measures the naive baseline:
a sequential loop of boto3 `post_to_connection` calls on a sample of members, whose wall
time for N members is extrapolated (N x 20 ms sequentially is minutes).

Nothing here asserts timing; `make bench` prints and saves the numbers.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

from bench.fanout_server import ServerProcess, ServerStats, ids_digest, is_gone

REGION = "us-east-1"
# Dummy credentials: the simulated API does not check signatures, but they are computed.
ACCESS_KEY = "AKIDBENCHMARK0000000"
SECRET_KEY = "bench-secret-key-not-a-real-one-0000000000"  # noqa: S105 - a dummy
SESSION_TOKEN = "bench-session-token-" + "x" * 300  # Lambda role tokens are ~1 KB; signed and sent each call
MAX_ATTEMPTS = 5  # SEND_MAX_ATTEMPTS' default
READY_TIMEOUT = 120.0
RUN_TIMEOUT = 900.0

_CONTEXT = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Options:
    members: tuple[int, ...] = (10_000, 100_000)
    workers: tuple[int, ...] = (1, 4, 16)
    latency_ms: float = 20.0
    slice_size: int = 1000  # MEMBER_SHARD_SIZE's default
    # Delivery threads per worker. A worker delivers at most concurrency / latency calls per
    # second (3,200/s at 64 and 20 ms); measured here, 16 or 32 threads leave one worker
    # waiting on the network (1,500/s at 32), while 128 buys a faster single worker with
    # more CPU per delivery (more threads contending for the GIL) and nothing at 16 workers.
    concurrency: int = 64
    naive_sample: int = 300
    gone_share: float = 0.0


@dataclass(frozen=True)
class WorkerReport:
    worker: int
    slices: int
    recipients: int
    delivered: int
    gone: int
    failed: int
    cpu_seconds: float


@dataclass(frozen=True)
class FanoutRun:
    members: int
    workers: int
    slices: int
    seconds: float
    delivered: int
    gone: int
    failed: int
    worker_cpu_seconds: float
    server: ServerStats
    exactly_once: bool  # every member got exactly one call, and no other id did

    @property
    def per_second(self) -> float:
        return (self.delivered + self.gone) / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.worker_cpu_seconds / self.members * 1e6 if self.members else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "deliveries_per_second": round(self.per_second, 1),
            "cpu_us_per_delivery": round(self.cpu_us_per_delivery, 1),
        }


@dataclass(frozen=True)
class NaiveBaseline:
    calls: int
    seconds: float
    cpu_seconds: float
    gone: int = 0

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_seconds / self.calls * 1e6 if self.calls else 0.0

    def extrapolated_seconds(self, members: int) -> float:
        return self.seconds / self.calls * members if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "deliveries_per_second": round(self.per_second, 1),
            "cpu_us_per_delivery": round(self.cpu_us_per_delivery, 1),
        }


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass
class FanoutResults:
    options: Options
    naive: NaiveBaseline | None
    runs: list[FanoutRun] = field(default_factory=list)
    server_cpu_while_naive: float = 0.0
    cpus: int = field(default_factory=cpu_count)


# -- the workload


def member_ids(count: int, start: int = 0) -> list[str]:
    """Connection ids shaped like API Gateway's (16 base64 characters ending in '='),
    deterministic and distinct."""
    return [
        base64.b64encode(hashlib.blake2b(index.to_bytes(8, "big"), digest_size=11).digest()).decode()
        for index in range(start, start + count)
    ]


def slices(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for offset in range(0, len(ids), size):
        yield list(ids[offset : offset + size])


def envelope_payload() -> bytes:
    """A realistic frame: an analytics update envelope, about 300 bytes of JSON."""
    from realtime.domain.models import Envelope

    envelope = Envelope(
        type="AnalyticsUpdate",
        group="analytics",
        id="01JD6Z3Q9K2M4N5P6R7S8T9V0W",
        seq=48213,
        epoch="2f1c9a7e",
        ts="2026-01-15T10:42:07.123Z",
        data={
            "metrics": {
                "activeUsers": 18342,
                "signupsToday": 412,
                "ordersPerMinute": 97.4,
                "revenueToday": 184213.55,
                "p95LatencyMs": 182,
                "errorRate": 0.0031,
            },
            "window": "1m",
            "source": "analytics-pipeline",
        },
    )
    return envelope.to_json().encode()


# -- a worker process: one worker Lambda instance


def _worker_main(
    index: int,
    callback_url: str,
    concurrency: int,
    payload: bytes,
    control: Connection,
    tasks: Any,
    reports: Any,
) -> None:
    """Warm up (threads started, one keep-alive connection per thread), say ready, then
    for each "run" command deliver slices from `tasks` until a None, and report."""
    from botocore.credentials import Credentials

    from realtime.adapters.clock import SystemClock
    from realtime.adapters.signed_sender import SignedManagementApiSender
    from realtime.domain.delivery import fan_out

    credentials = Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
    sender = SignedManagementApiSender(callback_url, REGION, credentials, max_connections=concurrency)
    clock = SystemClock()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"worker{index}") as executor:

        def deliver(page: list[str]) -> Any:
            return fan_out([page], payload, sender=sender, clock=clock, executor=executor, max_attempts=MAX_ATTEMPTS)

        # One keep-alive connection per thread, and `concurrency` sends held at a barrier
        # until all have started, so the executor starts every thread.
        sender.open_connections(concurrency)
        barrier = threading.Barrier(concurrency)

        def warm_up(n: int) -> None:
            barrier.wait(timeout=READY_TIMEOUT)
            sender.send(f"warmup-{index}-{n}", payload)

        for future in [executor.submit(warm_up, n) for n in range(concurrency)]:
            future.result()
        reports.put(("ready", index))
        while (command := control.recv()) == "run":
            cpu = time.process_time()
            counts = {"slices": 0, "recipients": 0, "delivered": 0, "gone": 0, "failed": 0}
            while (page := tasks.get()) is not None:
                result = deliver(page)
                counts["slices"] += 1
                counts["recipients"] += result.recipients
                counts["delivered"] += result.delivered
                counts["gone"] += len(result.gone_connection_ids)
                counts["failed"] += result.failed
            reports.put(WorkerReport(worker=index, cpu_seconds=time.process_time() - cpu, **counts))
        if command != "stop":  # pragma: no cover - a protocol bug
            raise RuntimeError(f"worker {index}: unexpected command {command!r}")
    sender.shutdown()


class WorkerPool:
    """W started, warmed-up worker processes, fed from one task queue."""

    def __init__(self, count: int, callback_url: str, concurrency: int, payload: bytes) -> None:
        self.count = count
        self._tasks = _CONTEXT.Queue()
        self._reports = _CONTEXT.Queue()
        self._controls: list[Connection] = []
        self._processes: list[SpawnProcess] = []
        try:
            for index in range(count):
                parent_end, child_end = _CONTEXT.Pipe()
                process = _CONTEXT.Process(
                    target=_worker_main,
                    args=(index, callback_url, concurrency, payload, child_end, self._tasks, self._reports),
                    name=f"fanout-worker-{index}",
                    daemon=True,
                )
                process.start()
                child_end.close()
                self._controls.append(parent_end)
                self._processes.append(process)
            for _ in range(count):
                self._next_report(READY_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def _next_report(self, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._reports.get(timeout=1.0)
            except queue.Empty:
                dead = [p.name for p in self._processes if not p.is_alive()]
                if dead:
                    raise RuntimeError(f"worker processes died: {', '.join(dead)}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError("the workers did not report in time") from None

    def run(self, pages: list[list[str]]) -> tuple[float, list[WorkerReport]]:
        """Deliver `pages`; return the wall time from release to the last report, and the
        workers' reports."""
        for page in pages:
            self._tasks.put(page)
        for _ in range(self.count):
            self._tasks.put(None)  # each worker stops at its first None
        started = time.perf_counter()
        for control in self._controls:
            control.send("run")
        reports = [self._next_report(RUN_TIMEOUT) for _ in range(self.count)]
        return time.perf_counter() - started, reports

    def stop(self) -> None:
        for control in self._controls:
            with contextlib.suppress(OSError):  # a worker that already died
                control.send("stop")
        for process in self._processes:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join()
        for control in self._controls:
            control.close()
        self._tasks.close()
        self._reports.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def measure_run(pool: WorkerPool, server: ServerProcess, members: int, slice_size: int, gone_share: float) -> FanoutRun:
    ids = member_ids(members)
    pages = list(slices(ids, slice_size))
    server.reset()
    seconds, reports = pool.run(pages)
    stats = server.stats()
    expected_gone = sum(is_gone(connection_id, gone_share) for connection_id in ids)
    gone = sum(r.gone for r in reports)
    delivered = sum(r.delivered for r in reports)
    exactly_once = (
        stats.requests == members
        and stats.distinct_ids == members
        and stats.max_per_id == 1
        and stats.ids_digest == ids_digest(ids)
        and gone == stats.gone == expected_gone
        and delivered == members - expected_gone
    )
    return FanoutRun(
        members=members,
        workers=pool.count,
        slices=sum(r.slices for r in reports),
        seconds=round(seconds, 4),
        delivered=delivered,
        gone=gone,
        failed=sum(r.failed for r in reports),
        worker_cpu_seconds=round(sum(r.cpu_seconds for r in reports), 4),
        server=stats,
        exactly_once=exactly_once,
    )


# -- the naive baseline: boto3, one call after the other


def _naive_main(callback_url: str, calls: int, payload: bytes, out: Connection) -> None:
    import boto3
    from botocore.config import Config

    # The client the current adapter builds (realtime.adapters.management_api_sender).
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=callback_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2, read_timeout=3),
    )
    for n in range(10):  # load the service model, open the connection
        client.post_to_connection(ConnectionId=f"warmup-naive-{n}", Data=payload)
    ids = member_ids(calls, start=10_000_000)
    cpu, started = time.process_time(), time.perf_counter()
    gone = 0
    for connection_id in ids:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=payload)
        except client.exceptions.GoneException:  # with --gone-share
            gone += 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    out.send(NaiveBaseline(calls, round(seconds, 4), round(cpu, 4), gone))


def measure_naive(callback_url: str, calls: int, payload: bytes) -> NaiveBaseline:
    parent_end, child_end = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_naive_main, args=(callback_url, calls, payload, child_end), name="fanout-naive", daemon=True
    )
    process.start()
    child_end.close()
    try:
        if not parent_end.poll(RUN_TIMEOUT):
            raise TimeoutError("the naive baseline did not finish")
        baseline: NaiveBaseline = parent_end.recv()
        return baseline
    except EOFError:
        raise RuntimeError("the naive baseline process died") from None
    finally:
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()
        parent_end.close()


# -- everything


def run(options: Options, progress: Callable[[str], None] = print) -> FanoutResults:
    payload = envelope_payload()
    latency = options.latency_ms / 1000
    with ServerProcess(latency, options.gone_share) as server:
        progress(f"fan-out: simulated Management API at {server.callback_url}, {options.latency_ms:g} ms per call")
        naive = None
        server_cpu_while_naive = 0.0
        if options.naive_sample:
            progress(f"fan-out: naive boto3 loop, {options.naive_sample} sequential calls…")
            server.reset()
            naive = measure_naive(server.callback_url, options.naive_sample, payload)
            server_cpu_while_naive = server.stats().cpu_seconds
        results = FanoutResults(options, naive, server_cpu_while_naive=server_cpu_while_naive)
        for workers in options.workers:
            progress(f"fan-out: starting {workers} worker(s) x {options.concurrency} threads…")
            with WorkerPool(workers, server.callback_url, options.concurrency, payload) as pool:
                for members in options.members:
                    progress(f"fan-out: {members:,} members, {workers} worker(s)…")
                    results.runs.append(measure_run(pool, server, members, options.slice_size, options.gone_share))
    return results
