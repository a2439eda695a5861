"""`python -m bench` (what `make bench` runs): start the local stack on a free port,
measure, print a table and save bench/results/latest.json."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys

import httpx

from bench import report, scenarios
from bench.local_stack import StackProcess
from local.client import RealtimeClient
from local.tokens import mint_token


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--handshakes", type=int, default=200, help="connect latency samples")
    parser.add_argument("--subscribers", type=int, default=100, help="subscribers for delivery latency")
    parser.add_argument("--publishes", type=int, default=30, help="publishes for delivery latency")
    parser.add_argument("--fanout-subscribers", type=int, default=1000, help="subscribers for throughput")
    parser.add_argument("--fanout-publishes", type=int, default=5, help="publishes for throughput")
    args = parser.parse_args(argv)
    if args.fanout_subscribers < args.subscribers:
        parser.error("--fanout-subscribers must be at least --subscribers")
    return args


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_open_files_limit(args.fanout_subscribers)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
