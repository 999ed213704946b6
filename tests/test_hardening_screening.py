"""Issue 22, "One request freezes the whole server": every pattern run over user text is linear
in its input, and a 1 MB body does not hold up ``/health``.

Time is compared, never judged absolutely: the CPU time (of this thread, so other processes on
a shared machine do not count) of an input four times as long must be under eight times that
of the short one (linear: 4; quadratic: 16).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import make_tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.decision.analysis import analyse
from vectorcache.decision.reading import code_chunks, without_courtesy
from vectorcache.embeddings import Encoder
from vectorcache.hashing import normalize_prompt
from vectorcache.security.pii import find_pii, redact
from vectorcache.service.sse import split_text
from vectorcache.testing import FakeProvider

SHORT, LONG = 50_000, 200_000


def _cpu_seconds(fn: Callable[[str], object], text: str, runs: int) -> float:
    """The least CPU time of two measures of ``runs`` calls."""
    best = float("inf")
    for _ in range(2):
        start = time.thread_time()
        for _ in range(runs):
            fn(text)
        best = min(best, time.thread_time() - start)
    return max(best, 1e-6)


def _runs_for(fn: Callable[[str], object], text: str, at_least: float = 0.05) -> int:
    """How many calls make a measure long enough (``at_least`` seconds) to compare."""
    start = time.thread_time()
    fn(text)
    once = max(time.thread_time() - start, 1e-6)
    return max(1, math.ceil(at_least / once))


def _repeat(unit: str, size: int, tail: str) -> str:
    return (unit * (size // len(unit) + 1))[:size] + tail


# (the pattern, the function that runs it on user text, an input built to make it backtrack)
CASES: list[tuple[str, Callable[[str], object], str, str]] = [
    ("pii-email-letters", find_pii, "a", "@"),
    ("pii-email-digits", find_pii, "7", "@x"),
    ("pii-email-local-dots", find_pii, "a.", "@"),
    ("pii-email-many-ats", find_pii, "a@", ""),
    ("pii-email-domain-no-tld", find_pii, "@a.b", "1"),
    ("pii-email-long-domain", find_pii, "b", "x@"),
    ("pii-ssn", find_pii, "123-45-", "x"),
    ("pii-ssn-bare-words", find_pii, "ssn 123456789 ", "x"),
    ("pii-ssn-words-spaces", find_pii, "social  ", "x"),
    ("pii-card", find_pii, "4 ", "x"),
    ("pii-phone-nanp", find_pii, "(555) ", "x"),
    ("pii-phone-intl", find_pii, "+1 (2", "x"),
    ("pii-phone-trunk", find_pii, "0", "x"),
    ("pii-phone-bare-words", find_pii, "call 5551234567 ", "x"),
    ("pii-redact", redact, "a@b.co ", "x"),
    ("normalize-trailing-marks", normalize_prompt, "?", "x"),
    ("normalize-trailing-spaced-marks", normalize_prompt, ". ", "x"),
    ("normalize-factorial", normalize_prompt, "!", "x"),
    ("courtesy-commas", without_courtesy, ",", "x"),
    ("courtesy-greetings", without_courtesy, "hi,", "x"),
    ("courtesy-thanks", without_courtesy, ", thanks", "x"),
    ("code-chunks-operators", lambda t: code_chunks(t, True), "+1 ", "x"),
    ("code-chunks-backslashes", lambda t: code_chunks(t, True), "\\", "x"),
    ("features-tokens-brackets", analyse, "(1)", "x"),
    ("features-tokens-quotes", analyse, "a'", "x"),
    ("features-tokens-numbers", analyse, "1.2,", "x"),
    ("sse-pieces", split_text, " ", "x"),
]


@pytest.mark.parametrize(("unit", "fn", "piece", "tail"), [(c[0], c[1], c[2], c[3]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_screening_pattern_is_linear_in_its_input(unit: str, fn: Callable[[str], object],
                                                  piece: str, tail: str) -> None:
    short_text, long_text = _repeat(piece, SHORT, tail), _repeat(piece, LONG, tail)
    runs = _runs_for(fn, short_text)
    short = _cpu_seconds(fn, short_text, runs)
    long = _cpu_seconds(fn, long_text, runs)
    assert long / short < 8, f"{unit}: {short:.3f}s for {SHORT}, {long:.3f}s for {LONG}"


def test_email_scan_finds_what_the_pattern_found() -> None:
    """The scan from each '@' finds the spans the old pattern did, at the edges too."""
    assert [(f.start, f.end) for f in find_pii("mail a.b+c@mail.example.com now")] == [(5, 27)]
    assert redact("x@y.com1 and q@r.io.") == "[EMAIL]1 and [EMAIL]."
    assert find_pii("a@b.c") == [] and find_pii("@example.com") == []
    assert redact("a@b.com.c@d.org") == "[EMAIL][EMAIL]"


@pytest.fixture(scope="module")
def big_client(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("big")
    app = create_app(settings_for(data_dir, max_body_bytes=2_000_000), encoder=encoder)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _health_latencies(client: TestClient, while_busy: threading.Thread | None,
                      count: int = 21) -> list[tuple[float, float]]:
    """(CPU seconds the server's process spent, wall seconds) while each ``/health`` waited."""
    latencies = []
    while (while_busy is None and len(latencies) < count) or \
            (while_busy is not None and while_busy.is_alive()):
        cpu, wall = time.process_time(), time.perf_counter()
        assert client.get("/health").status_code == 200
        latencies.append((time.process_time() - cpu, time.perf_counter() - wall))
        time.sleep(0.002)
    return latencies


def test_one_request_does_not_freeze_the_whole_server(big_client: TestClient,
                                                      provider: FakeProvider) -> None:
    """A 1 MB answer made of what the old e-mail pattern backtracked on (runs of letters and
    digits) is stored while ``/health`` keeps answering within 50 ms of its idle latency.

    Latency is counted in CPU time of the process (server and client run in it): whatever
    kept ``/health`` waiting (the event loop busy, the GIL held) is there, and the stalls of a
    machine shared with other work (load 20 on 2 cores, where we run) are not."""
    tenant = make_tenant(big_client, provider)
    answer = _repeat(("a" * 1000 + " " + "7" * 1000 + " "), 999_000, ".")
    delays: list[float] = []
    walls: list[float] = []
    for _ in range(3):  # the best of three: one may still be unlucky
        statuses: list[int] = []
        idle = sorted(cpu for cpu, _ in _health_latencies(big_client, None))[10]
        body = {"prompt": f"a long answer {len(delays)}", "model": "gpt-4o", "response": answer}

        def store(into: list[int] = statuses, body: dict[str, str] = body) -> None:
            into.append(tenant.post("/v1/cache/store", body).status_code)

        worker = threading.Thread(target=store)
        worker.start()
        busy = _health_latencies(big_client, worker)
        worker.join()
        assert statuses == [201]
        delays.append(max(cpu for cpu, _ in busy) - idle)
        walls.append(max(wall for _, wall in busy))
        if delays[-1] <= 0.050:
            break
    assert min(delays) <= 0.050, (f"/health delayed by {[round(d * 1000) for d in delays]} ms "
                                  f"of CPU ({[round(w * 1000) for w in walls]} ms wall)")
