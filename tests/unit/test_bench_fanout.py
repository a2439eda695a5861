"""The fan-out scale benchmark's machinery at a tiny scale: counts only, never timing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from bench.__main__ import fanout_options, parse_args
from bench.fanout_scale import FanoutResults, Options, member_ids, run, slices
from bench.fanout_server import is_gone


@pytest.fixture(scope="module")
def results() -> FanoutResults:
    options = Options(
        members=(200, 130),
        workers=(2,),
        latency_ms=1,
        slice_size=40,
        concurrency=4,
        naive_sample=10,
        gone_share=0.1,
    )
    return run(options, progress=lambda _line: None)


def test_every_member_gets_the_frame_exactly_once(results: FanoutResults) -> None:
    assert [(r.members, r.workers) for r in results.runs] == [(200, 2), (130, 2)]
    for fanout in results.runs:
        ids = member_ids(fanout.members)
        expected_gone = sum(is_gone(connection_id, 0.1) for connection_id in ids)
        assert 0 < expected_gone < fanout.members  # the 410 path is exercised
        assert fanout.exactly_once
        assert (fanout.delivered, fanout.gone, fanout.failed) == (fanout.members - expected_gone, expected_gone, 0)
        assert fanout.slices == len(list(slices(ids, 40)))
        assert fanout.server.requests == fanout.server.distinct_ids == fanout.members
        assert fanout.server.max_per_id == 1
        assert fanout.server.connections_opened == 0  # the workers' pools were warm
    assert results.naive is not None and results.naive.calls == 10


def test_the_report_has_a_row_per_run_and_per_naive_extrapolation(
    results: FanoutResults, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report.print_fanout_table(results)
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [row[:2] for row in rows] == [["200", "2"], ["130", "2"], ["200", "naive"], ["130", "naive"]]
    assert any("EXTRAPOLATED" in line for line in lines)
    assert any(line.startswith("target: 10,000 members") and "not measured" in line for line in lines)
    assert any(line.startswith("target: CPU per delivery") for line in lines)

    saved = json.loads(report.save_fanout(results, tmp_path / "fanout.json").read_text())
    assert [(r["members"], r["workers"], r["exactly_once"]) for r in saved["results"]["runs"]] == [
        (200, 2, True),
        (130, 2, True),
    ]
    assert saved["results"]["naive"]["calls"] == 10
    assert set(saved["results"]["naive_extrapolated_seconds"]) == {"200", "130"}
    assert saved["targets"]["ten_thousand_in_two_seconds"]["met"] is None


def test_member_ids_look_like_api_gateway_ids_and_are_distinct() -> None:
    ids = member_ids(1000)
    assert len(set(ids)) == 1000
    assert all(len(connection_id) == 16 and connection_id.endswith("=") for connection_id in ids)


def test_command_line() -> None:
    args = parse_args(["fanout", "--members", "10_000,100000", "--workers", "1,16", "--latency-ms", "5"])
    assert args.only == "fanout"
    options = fanout_options(args)
    assert (options.members, options.workers, options.latency_ms) == ((10_000, 100_000), (1, 16), 5.0)
    assert (options.slice_size, options.concurrency, options.naive_sample) == (1000, 64, 300)
    assert parse_args([]).only is None
    assert parse_args(["--only", "stack", "--handshakes", "5"]).handshakes == 5
    with pytest.raises(SystemExit):
        parse_args(["fanout", "--workers", "0"])
