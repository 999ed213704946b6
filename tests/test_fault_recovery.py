"""Issue 22, item 9: replicas recover from faults in seconds. Real ``vectorcache serve``
replicas on one PostgreSQL (``pgserver``) and one Redis (``redis-server``, restarted on its
port when a test says so), a replica killed with SIGKILL while the provider is slow.

Replica ``a`` refuses requests while Redis is down (the default); replica ``b`` is set to fall
back to per-replica limits (``VECTORCACHE_RATE_LIMITS_WITHOUT_REDIS=local``)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from backends import REDIS, fresh_database, redis_server
from cryptography.fernet import Fernet
from served import Served, serve

from vectorcache.testing import FakeProvider
from vectorcache.testing.loopback import free_port

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


@dataclass
class Redis:
    """One ``redis-server`` that can be stopped and started again on the same port."""

    workdir: Path
    port: int = field(default_factory=free_port)
    _running: ExitStack | None = None

    def start(self) -> None:
        self._running = ExitStack()
        self._running.enter_context(redis_server(self.workdir, self.port))

    def stop(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    a: Served
    b: Served
    redis: Redis
    start: dict[str, Any]  # how to start one more replica


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_server: Any,
            provider: FakeProvider) -> Iterator[Cluster]:
    redis = Redis(tmp_path_factory.mktemp("redis"))
    with ExitStack() as stack:
        redis.start()
        stack.callback(redis.stop)
        shared = {"VECTORCACHE_DATABASE_URL": stack.enter_context(fresh_database(pg_server)),
                  "VECTORCACHE_RATE_LIMIT_STORAGE_URL": redis.url,
                  "VECTORCACHE_MASTER_KEY": Fernet.generate_key().decode(),
                  "VECTORCACHE_SERVER_SECRET": secrets.token_hex(32)}
        start = {"provider_key": provider.api_key or "", "provider_url": provider.base_url,
                 "env": shared}
        a = stack.enter_context(serve(tmp_path_factory.mktemp("replica-a"), **start))
        b = stack.enter_context(serve(
            tmp_path_factory.mktemp("replica-b"), first_start=False, **{
                **start, "env": {**shared, "VECTORCACHE_RATE_LIMITS_WITHOUT_REDIS": "local"}}))
        b.key = a.key
        yield Cluster(a, b, redis, start)


def _query(served: Served, question: str, key: str | None = None,
           timeout: float = 30) -> httpx.Response:
    return httpx.post(f"{served.base}/v1/cache/query",
                      json={"prompt": question, "model": "gpt-4o"}, timeout=timeout,
                      headers={"Authorization": f"Bearer {key or served.key}"})


def _ready(served: Served) -> httpx.Response:
    return httpx.get(f"{served.base}/health/ready", timeout=10)


def _eventually(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def test_a_replica_killed_during_a_provider_call_stalls_the_others_for_seconds(
        cluster: Cluster, provider: FakeProvider,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The killed replica held the miss lease on the prompt; it stops renewing it, so the
    lease runs out within its (short) length and replica b asks the provider itself."""
    question = "Which is the longest river in Africa? [[sleep_first:30]]"
    with serve(tmp_path_factory.mktemp("victim"), first_start=False,
               **cluster.start) as victim, ThreadPoolExecutor(1) as pool:
        before = provider.calls
        doomed = pool.submit(_query, victim, question, cluster.a.key)
        assert provider.wait_for_calls(before + 1)  # the victim holds the lease, and waits
        victim.proc.kill()
        victim.proc.wait(10)
        with pytest.raises(httpx.TransportError):
            doomed.result(timeout=10)
    started = time.monotonic()
    answer = _query(cluster.b, question, timeout=60)
    waited = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert answer.json()["response"].startswith("Answer to: Which is the longest river")
    assert waited < 12, f"replica b waited {waited:.1f} s for a dead replica's lease"
    assert provider.calls == before + 2


def test_ready_reports_redis_and_a_replica_refuses_or_counts_locally_while_it_is_down(
        cluster: Cluster) -> None:
    limited = cluster.a.new_key("--rate-limit", "3")
    assert _ready(cluster.a).json()["checks"]["redis"] == "ok"
    cluster.redis.stop()
    try:
        down = _ready(cluster.a)
        assert down.status_code == 503 and down.json()["checks"]["redis"] == "unavailable"
        assert down.headers["Retry-After"]
        refused = _query(cluster.a, "What is the capital of Peru?")
        assert refused.status_code == 503 and refused.json()["code"] == "service_unavailable"
        # b falls back to its own limits: ready, serving, and still counting per key
        degraded = _ready(cluster.b)
        assert degraded.status_code == 200, degraded.text
        assert degraded.json()["checks"]["redis"] == "unavailable (per-replica limits)"
        codes = [_query(cluster.b, "What is the capital of Peru?", limited).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
    finally:
        cluster.redis.start()
    _eventually(lambda: _ready(cluster.a).status_code == 200)
    assert _query(cluster.a, "What is the capital of Peru?").status_code == 200


def test_a_redis_restart_under_load_gives_no_503_and_no_duplicate_provider_call(
        cluster: Cluster, provider: FakeProvider) -> None:
    """Pooled connections to the old Redis are dead after it restarts: each client reconnects
    and retries once, so no request fails and identical misses still make one call."""
    stop = threading.Event()
    statuses: list[tuple[float, int]] = []

    def load(served: Served, n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            sent = time.monotonic()
            status = _query(served, f"Load question {n}.{i % 5}: what is {i % 5} plus 1?"
                            ).status_code
            statuses.append((sent, status))

    with ThreadPoolExecutor(4) as pool:
        runs = [pool.submit(load, served, n)
                for n, served in enumerate((cluster.a, cluster.b, cluster.a, cluster.b))]
        try:
            _eventually(lambda: len(statuses) >= 8, timeout=120)
            cluster.redis.stop()
            cluster.redis.start()
            back = time.monotonic()  # two requests a thread, on connections made before
            _eventually(lambda: sum(1 for sent, _ in statuses if sent > back) >= 8,
                        timeout=120)
        finally:
            stop.set()
        for run in runs:
            run.result(timeout=60)
    after = [status for sent, status in statuses if sent > back]
    assert set(after) == {200}, after
    # identical misses on both replicas, right after the restart: one provider call
    cluster.redis.stop()
    cluster.redis.start()
    question = "Who wrote the novel Middlemarch? [[sleep:1.5]]"
    before = provider.calls
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_query, cluster.a, question)
        assert provider.wait_for_calls(before + 1)
        second = pool.submit(_query, cluster.b, question)
        answers = [first.result(timeout=60), second.result(timeout=60)]
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    assert [r.json()["cache_hit"] for r in answers] == [False, True]
    assert provider.calls == before + 1
