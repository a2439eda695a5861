from concurrent.futures import ThreadPoolExecutor

from realtime.domain.delivery import BACKOFF_CAP_SECONDS, fan_out
from tests.fakes import FakeClock, FakeSender


def run(sender: FakeSender, clock: FakeClock, pages: list[list[str]], attempts: int = 4):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return fan_out(pages, b"frame", sender=sender, clock=clock, executor=pool, max_attempts=attempts)


def test_delivers_to_every_member_of_every_page() -> None:
    sender, clock = FakeSender(), FakeClock()
    result = run(sender, clock, [["a", "b"], ["c"], []])
    assert (result.recipients, result.delivered, result.failed) == (3, 3, 0)
    assert {cid: frames for cid, frames in sender.sent.items()} == {
        "a": [b"frame"],
        "b": [b"frame"],
        "c": [b"frame"],
    }


def test_gone_connections_are_reported_not_retried() -> None:
    sender, clock = FakeSender(gone={"b"}), FakeClock()
    result = run(sender, clock, [["a", "b"]])
    assert result.gone_connection_ids == ["b"]
    assert result.delivered == 1
    assert sender.attempts["b"] == 1
    assert clock.sleeps == []


def test_throttling_is_retried_with_growing_capped_backoff() -> None:
    sender, clock = FakeSender(throttle={"a": 3}), FakeClock()
    result = run(sender, clock, [["a"]], attempts=5)
    assert result.delivered == 1
    assert sender.attempts["a"] == 4
    assert len(clock.sleeps) == 3
    assert all(0 < pause <= BACKOFF_CAP_SECONDS for pause in clock.sleeps)
    assert clock.sleeps[2] > clock.sleeps[0]  # exponential: 3rd ceiling is 4x the 1st, jitter is at most 2x


def test_throttling_beyond_the_attempts_counts_as_failed_never_dropped_silently() -> None:
    sender, clock = FakeSender(throttle={"a": 10}), FakeClock()
    result = run(sender, clock, [["a", "b"]], attempts=3)
    assert (result.delivered, result.failed, result.recipients) == (1, 1, 2)
    assert sender.attempts["a"] == 3


def test_permanent_failures_are_counted_without_retry() -> None:
    sender, clock = FakeSender(broken={"a"}), FakeClock()
    result = run(sender, clock, [["a"]])
    assert result.failed == 1
    assert sender.attempts["a"] == 1
