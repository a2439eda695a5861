"""`python -m bench` (what `make bench` runs): start the local stack on a free port,
measure, print a table and save bench/results/latest.json; then the fan-out scale
benchmark against a simulated Management API (bench/results/fanout.json).

`python -m bench fanout [flags]` (or `--only fanout`) runs only the fan-out benchmark,
`--only stack` only the local-stack scenarios."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys

import httpx

from bench import fanout_scale, report, scenarios
from bench.local_stack import StackProcess
from local.tools.client import RealtimeClient
from local.tools.tokens import mint_token


def _positive_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers: {text!r}")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["fanout"]:  # `python -m bench fanout [flags]`
        argv = ["--only", "fanout", *argv[1:]]
    defaults = fanout_scale.Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["stack", "fanout"], help="run one benchmark (default: both)")
    stack = parser.add_argument_group("local stack")
    stack.add_argument("--handshakes", type=int, default=200, help="connect latency samples")
    stack.add_argument("--subscribers", type=int, default=100, help="subscribers for delivery latency")
    stack.add_argument("--publishes", type=int, default=30, help="publishes for delivery latency")
    stack.add_argument("--fanout-subscribers", type=int, default=1000, help="subscribers for throughput")
    stack.add_argument("--fanout-publishes", type=int, default=5, help="publishes for throughput")
    scale = parser.add_argument_group("fan-out at scale (simulated Management API)")
    scale.add_argument(
        "--members", type=_positive_ints, default=defaults.members, help="member counts, e.g. 10000,100000"
    )
    scale.add_argument("--workers", type=_positive_ints, default=defaults.workers, help="worker counts, e.g. 1,4,16")
    scale.add_argument("--latency-ms", type=float, default=defaults.latency_ms, help="simulated round trip per call")
    scale.add_argument("--slice-size", type=int, default=defaults.slice_size, help="members per slice (shard)")
    scale.add_argument("--concurrency", type=int, default=defaults.concurrency, help="delivery threads per worker")
    scale.add_argument(
        "--naive-sample", type=int, default=defaults.naive_sample, help="sequential boto3 calls (0: skip)"
    )
    scale.add_argument("--gone-share", type=float, default=defaults.gone_share, help="share of ids answered 410")
    args = parser.parse_args(argv)
    if args.fanout_subscribers < args.subscribers:
        parser.error("--fanout-subscribers must be at least --subscribers")
    if args.latency_ms < 0 or args.slice_size < 1 or args.concurrency < 1 or args.naive_sample < 0:
        parser.error("--latency-ms, --naive-sample must be >= 0; --slice-size, --concurrency >= 1")
    if not 0 <= args.gone_share <= 1:
        parser.error("--gone-share must be between 0 and 1")
    return args


def fanout_options(args: argparse.Namespace) -> fanout_scale.Options:
    return fanout_scale.Options(
        members=args.members,
        workers=args.workers,
        latency_ms=args.latency_ms,
        slice_size=args.slice_size,
        concurrency=args.concurrency,
        naive_sample=args.naive_sample,
        gone_share=args.gone_share,
    )


def raise_open_files_limit(sockets: int) -> None:
    """Each socket is a file descriptor here and another in the stack (which inherits this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * sockets + 1024
    if soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


async def run(args: argparse.Namespace) -> None:
    token = mint_token("bench", ["admin"])
    stack = StackProcess()
    await stack.start()
    subscribers: list[RealtimeClient] = []
    try:
        print(f"local stack at {stack.ws_url} and {stack.rest_url}", flush=True)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=stack.rest_url, headers=headers, timeout=120) as http:
            print(f"connect: {args.handshakes} handshakes…", flush=True)
            connect = await scenarios.connect_latency(stack.ws_url, token, args.handshakes)
            await scenarios.settle(http)
            print(f"delivery latency: {args.subscribers} subscribers, {args.publishes} publishes…", flush=True)
            subscribers = await scenarios.open_subscribers(stack.ws_url, token, args.subscribers)
            delivery = await scenarios.delivery_latency(http, subscribers, args.publishes)
            print(
                f"throughput: {args.fanout_subscribers} subscribers, {args.fanout_publishes} publishes…",
                flush=True,
            )
            subscribers += await scenarios.open_subscribers(
                stack.ws_url, token, args.fanout_subscribers - len(subscribers)
            )
            throughput = await scenarios.delivery_throughput(http, subscribers, args.fanout_publishes)
            print("closing…", flush=True)
            await scenarios.close_all(subscribers)
            await scenarios.settle(http)
    finally:
        await scenarios.close_all(subscribers)
        await stack.stop()
    report.print_table(connect, delivery, throughput, args.subscribers)
    print(f"saved {report.save(connect, delivery, throughput, vars(args))}")


def run_fanout(options: fanout_scale.Options) -> None:
    # The simulated API holds one connection per delivery thread of every worker.
    raise_open_files_limit(max(options.workers) * options.concurrency)
    results = fanout_scale.run(options, progress=lambda line: print(line, flush=True))
    report.print_fanout_table(results)
    print(f"saved {report.save_fanout(results)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.only in (None, "stack"):
        raise_open_files_limit(args.fanout_subscribers)
        asyncio.run(run(args))
    if args.only in (None, "fanout"):
        run_fanout(fanout_options(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
