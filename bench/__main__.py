"""`python -m bench` (what `make bench` runs): start the local stack on a free port with the
latency model on (local/emulated/latency.py), measure the scenarios, then the same
scenarios against the reference design of the public samples (bench/reference.py), print
both side by side and save bench/results/latest.json (one part run alone keeps the other
parts' saved figures, each with its own time and commit); then the fan-out scale benchmark
against a simulated Management API (bench/results/fanout.json); then cold starts
(bench/coldstart.py: `python -m bench coldstart --help`).

One part only: `python -m bench stack|reference|fanout|contention|coldstart [flags]` (or
`--only …`). Each scenario reports what it measured even when a later one fails, and a
wait for the stack to settle gives up after its bound, says so, and moves on."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from typing import Any

import httpx

from bench import coldstart, contention, fanout_scale, record, report, scenarios
from bench.local_stack import StackProcess
from local.emulated.latency import LatencyModel
from local.tools.client import RealtimeClient
from local.tools.tokens import mint_token

PARTS = ("stack", "reference", "contention", "fanout", "coldstart")
# The inline fan-out's threshold (FANOUT_QUEUE_THRESHOLD): larger groups are queued.
QUEUED_ABOVE = 500


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
    if argv[:1] and argv[0] in PARTS:  # `python -m bench fanout [flags]`
        argv = ["--only", argv[0], *argv[1:]]
    defaults = fanout_scale.Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=PARTS, help="run one part (default: all)")
    stack = parser.add_argument_group("local stack and reference design")
    stack.add_argument(
        "--latency-model",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the emulated services take AWS-like round trips (default: on)",
    )
    stack.add_argument("--handshakes", type=int, default=200, help="connect latency samples")
    stack.add_argument(
        "--subscribers", type=_positive_ints, default=(10, 100, 1000), help="group sizes for delivery latency"
    )
    stack.add_argument("--publishes", type=int, default=30, help=f"publishes per group size up to {QUEUED_ABOVE}")
    stack.add_argument("--large-publishes", type=int, default=5, help=f"publishes per group size over {QUEUED_ABOVE}")
    stack.add_argument("--resume-missed", type=int, default=100, help="messages missed before a resume")
    stack.add_argument("--resume-rounds", type=int, default=5, help="resumes measured")
    stack.add_argument(
        "--inline-concurrency", type=int, default=None, help="FANOUT_CONCURRENCY for the stack (default: its own)"
    )
    stack.add_argument("--publishers", type=int, default=20, help="contention: concurrent publishers to one group")
    stack.add_argument("--each", type=int, default=25, help="contention: publishes per publisher")
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
    if min(args.handshakes, args.publishes, args.large_publishes, args.resume_rounds) < 1:
        parser.error("--handshakes, --publishes, --large-publishes, --resume-rounds must be >= 1")
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


def stack_environment(args: argparse.Namespace) -> dict[str, str]:
    """What the stack's process gets: the latency model (or none), the inline concurrency."""
    model = LatencyModel.aws_like() if args.latency_model else LatencyModel()
    environment = model.environment()
    if args.inline_concurrency is not None:
        environment["FANOUT_CONCURRENCY"] = str(args.inline_concurrency)
    return environment


async def run_design(design: str, args: argparse.Namespace, outcomes: record.Outcomes) -> None:
    """Every scenario against one design ("hub": this one; "reference": bench/reference.py),
    recording each figure as soon as it is measured."""
    token = mint_token("bench", ["admin"])
    module = "bench.reference" if design == "reference" else "local"
    stack = StackProcess(environment=stack_environment(args), module=module)
    await stack.start()
    subscribers: list[RealtimeClient] = []
    key = f"{design}."
    try:
        print(f"{design}: local stack at {stack.ws_url} and {stack.rest_url}", flush=True)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=stack.rest_url, headers=headers, timeout=300) as http:
            print(f"{design}: connect, {args.handshakes} handshakes…", flush=True)
            connect = await outcomes.run(
                key + "connect", scenarios.connect_latency(stack.ws_url, token, args.handshakes)
            )
            if connect is not None:
                outcomes.measured[key + "connect"] = report.latency_figures(connect)
            await _settle(http, outcomes, key + "connect")
            for count in sorted(args.subscribers):
                name = f"{key}delivery_{count}"
                publishes = args.large_publishes if count > QUEUED_ABOVE else args.publishes
                print(f"{design}: publish->delivery, {count} subscribers, {publishes} publishes…", flush=True)
                more = await outcomes.run(
                    name, scenarios.open_subscribers(stack.ws_url, token, count - len(subscribers))
                )
                if more is None:
                    break  # larger groups would fail the same way
                subscribers += more
                measured = await outcomes.run(name, scenarios.delivery_latency(http, subscribers, publishes))
                if measured is not None:
                    latency, throughput = measured
                    outcomes.measured[name] = {
                        **report.latency_figures(latency),
                        **report.throughput_figures(throughput),
                    }
            print(f"{design}: {len(subscribers)} disconnects at once…", flush=True)
            name = f"{key}disconnects_{len(subscribers)}"
            settled = await outcomes.run(name, scenarios.disconnects(http, subscribers))
            if settled is not None:
                outcomes.measured[name] = report.settled_figures(settled)
                if not settled.complete:
                    outcomes.note(f"{design}: {settled.remaining} $disconnects still pending after {settled.seconds} s")
            if design == "hub":
                print(f"{design}: resume of {args.resume_missed} missed messages, {args.resume_rounds} times…")
                resume = await outcomes.run(
                    key + "resume",
                    scenarios.resume_latency(stack.ws_url, token, http, args.resume_missed, args.resume_rounds),
                )
                if resume is not None:
                    outcomes.measured[key + "resume"] = {
                        **report.latency_figures(resume),
                        "missed": args.resume_missed,
                    }
    finally:
        await scenarios.close_all(subscribers)
        await stack.stop()


async def _settle(http: httpx.AsyncClient, outcomes: record.Outcomes, after: str) -> None:
    settled = await scenarios.settle(http)
    if not settled.complete:
        outcomes.note(f"after {after}: gave up settling after {settled.seconds} s ({settled.remaining} left)")


async def run_contention(args: argparse.Namespace, outcomes: record.Outcomes) -> None:
    print(f"contention: {args.publishers} publishers x {args.each} publishes to one group…", flush=True)
    result = await outcomes.run("hub.contention", contention.run(args.publishers, args.each, stack_environment(args)))
    if result is not None:
        outcomes.measured["hub.contention"] = result.to_dict()
        contention.print_result(result)


def run_fanout(options: fanout_scale.Options) -> None:
    # The simulated API holds one connection per delivery thread of every worker.
    raise_open_files_limit(max(options.workers) * options.concurrency)
    results = fanout_scale.run(options, progress=lambda line: print(line, flush=True))
    report.print_fanout_table(results)
    print(f"saved {report.save_fanout(results)}")


def run_coldstart(argv: list[str]) -> int:
    coldstart.main(argv)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["coldstart"]:  # its own flags: python -m bench coldstart --help
        return run_coldstart(argv[1:])
    args = parse_args(argv)
    parts = [args.only] if args.only else list(PARTS)
    outcomes = record.Outcomes()
    stack_parts = [part for part in parts if part in ("stack", "reference", "contention")]
    exit_code = 0
    if stack_parts:
        raise_open_files_limit(max(args.subscribers) + args.handshakes)
        try:
            for part in stack_parts:
                if part == "contention":
                    asyncio.run(run_contention(args, outcomes))
                else:
                    asyncio.run(run_design("hub" if part == "stack" else "reference", args, outcomes))
        finally:
            # Whatever was measured is printed and saved, even if a part crashed.
            # The parts not run now keep their saved figures (same latency model only), so
            # `python -m bench stack` still prints the side-by-side table.
            previous = record.load_previous(report.RESULTS_FILE)
            document = report.stack_document(outcomes, _parameters(args), stack_parts)
            merged = record.merge_parts(previous, document)
            report.print_stack_tables(report.outcomes_of(merged), latency_model=args.latency_model)
            for line in record.carried_over(merged, document):
                print(f"note: {line}")
            print(f"saved {report.save_document(merged)}")
            if previous is not None:
                print("\n".join(record.comparison(previous, document)))
        exit_code = 1 if outcomes.failed else 0
    if "fanout" in parts:
        run_fanout(fanout_options(args))
    if "coldstart" in parts:
        exit_code = run_coldstart([]) or exit_code
    return exit_code


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, tuple) else value for name, value in vars(args).items()}


if __name__ == "__main__":
    sys.exit(main())
