"""The in-process rate-limit counters (``memory://``), on a controlled clock."""

from __future__ import annotations

from vectorcache.security.local_limits import LocalCounters


class _Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_moving_window_never_admits_more_than_the_limit_in_any_window() -> None:
    clock = _Clock()
    counters = LocalCounters(clock)
    admitted: list[float] = []
    for _ in range(3000):  # a hit every 0.1 s for 300 s against 50 per minute
        if counters.moving("key/a", 50, 60.0).admitted:
            admitted.append(clock.now)
        clock.now += 0.1
    for i, t in enumerate(admitted):  # any 60 s span holds at most 50 admitted hits
        assert sum(1 for u in admitted[i:] if u - t < 60.0) <= 50
    assert len(admitted) >= 5 * 50 - 10  # and the limit is not much stricter than asked


def test_a_refused_hit_is_told_when_to_come_back_within_the_window() -> None:
    clock = _Clock()
    counters = LocalCounters(clock)
    for _ in range(10):
        assert counters.moving("k", 10, 60.0).admitted
    clock.now += 5
    refused = counters.moving("k", 10, 60.0)
    assert not refused.admitted and refused.remaining == 0
    assert clock.now < refused.reset <= clock.now + 60.0
    clock.now = refused.reset
    assert counters.moving("k", 10, 60.0).admitted


def test_keys_are_counted_apart_and_idle_keys_are_forgotten() -> None:
    clock = _Clock()
    counters = LocalCounters(clock)
    assert counters.moving("ip/1", 1, 60.0).admitted
    assert counters.moving("ip/2", 1, 60.0).admitted
    assert not counters.moving("ip/1", 1, 60.0).admitted
    clock.now += 3600
    for _ in range(5000):  # enough hits to trigger a sweep of idle keys
        counters.moving("busy", 10**6, 60.0)
    assert len(counters) == 1


def test_fixed_window_quota_restarts_after_its_period() -> None:
    clock = _Clock()
    counters = LocalCounters(clock)
    first = [counters.fixed("quota/k", 3, 86400.0) for _ in range(4)]
    assert [c.admitted for c in first] == [True, True, True, False]
    assert first[-1].reset == clock.now + 86400.0
    clock.now += 86400.0
    assert counters.fixed("quota/k", 3, 86400.0).admitted
