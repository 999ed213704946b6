"""The scale-out deployment (DESIGN.md): two real ``vectorcache serve`` replicas sharing one
PostgreSQL with pgvector (``pgserver``) and one Redis (Debian ``redis-server``), talked to
through the official ``openai`` client. Nothing is held in either process that the other needs."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from backends import fresh_database
from cryptography.fernet import Fernet
from served import Served, serve

from vectorcache.testing import FakeProvider
from vectorcache.testing.loopback import free_port


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, pg_server: Any, redis_url: str,
             provider: FakeProvider) -> Iterator[tuple[Served, Served]]:
    with ExitStack() as stack:
        yield from _start_replicas(stack, tmp_path_factory, pg_server, redis_url, provider)


def _start_replicas(stack: ExitStack, tmp_path_factory: pytest.TempPathFactory, pg_server: Any,
                    redis_url: str, provider: FakeProvider) -> Iterator[tuple[Served, Served]]:
    database = stack.enter_context(fresh_database(pg_server))
    shared = {"VECTORCACHE_DATABASE_URL": database,
              "VECTORCACHE_RATE_LIMIT_STORAGE_URL": redis_url,
              # what replicas must share: the master key and the server secret (no data dir)
              "VECTORCACHE_MASTER_KEY": Fernet.generate_key().decode(),
              "VECTORCACHE_SERVER_SECRET": secrets.token_hex(32)}
    start = {"provider_key": provider.api_key or "", "provider_url": provider.base_url,
             "env": shared}
    a = stack.enter_context(serve(tmp_path_factory.mktemp("replica-a"), **start))
    b = stack.enter_context(serve(tmp_path_factory.mktemp("replica-b"), first_start=False,
                                  **start))
    b.key = a.key  # printed once, by the replica that bootstrapped the database
    yield a, b


def _ask(served: Served, key: str, question: str) -> tuple[str, httpx.Headers]:
    with openai.OpenAI(api_key=key, base_url=served.base + "/v1", max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": question}])
        return raw.parse().choices[0].message.content or "", raw.headers


def _new_key(served: Served, **options: Any) -> dict[str, Any]:
    response = httpx.post(f"{served.base}/v1/keys", json={"name": "replica-test", **options},
                          headers={"Authorization": f"Bearer {served.key}"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_answer_stored_by_one_replica_is_served_by_the_other(
        replicas: tuple[Served, Served], provider: FakeProvider) -> None:
    a, b = replicas
    before = provider.calls
    text, headers = _ask(a, a.key, "What is the boiling point of water at sea level?")
    assert headers["x-vectorcache-cache"] == "miss"
    again, headers = _ask(b, b.key, "What is the boiling point of water at sea level?")
    assert headers["x-vectorcache-cache"] == "hit" and again == text
    similar, headers = _ask(b, b.key, "What's the boiling point of water at sea level?")
    assert headers["x-vectorcache-cache"] == "hit" and similar == text
    assert provider.calls == before + 1
    # readiness counts what pgvector can search, not what this process holds (nothing)
    ready = httpx.get(f"{b.base}/health/ready", timeout=10).json()
    assert ready["status"] == "ready" and ready["checks"]["index"]["vectors"] >= 1


def _query(served: Served, question: str) -> tuple[str, bool, dict[str, Any]]:
    response = httpx.post(f"{served.base}/v1/cache/query", timeout=60,
                          headers={"Authorization": f"Bearer {served.key}"},
                          json={"prompt": question, "model": "gpt-4o", "include_debug": True})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["response"], body["cache_hit"], body["debug"]


def _streamed(served: Served, question: str) -> tuple[str, httpx.Headers]:
    client = openai.OpenAI(api_key=served.key, base_url=served.base + "/v1", max_retries=0)
    with client, client.chat.completions.with_streaming_response.create(
            model="gpt-4o", stream=True, messages=[{"role": "user", "content": question}]) as raw:
        text = "".join(chunk.choices[0].delta.content or ""
                       for chunk in raw.parse() if chunk.choices)
        return text, raw.headers


@pytest.mark.parametrize(("route", "question"), [
    ("gateway", "Which river flows through Vienna?"),
    ("gateway-stream", "Who painted the ceiling of the Sistine Chapel?"),
    ("cache-query", "What is the chemical symbol for tungsten?"),
])
def test_identical_misses_on_two_replicas_make_one_provider_call(
        replicas: tuple[Served, Served], provider: FakeProvider, route: str,
        question: str) -> None:
    """Replica a asks the provider (slowly); the same prompt reaching replica b meanwhile waits
    for a's call, through the lease in the shared Redis, and is served the entry a stored."""
    a, b = replicas
    question += " [[sleep:1.5]]"

    def ask(served: Served) -> tuple[str, bool]:
        if route == "cache-query":
            text, hit, debug = _query(served, question)
            assert not hit or debug.get("coalesced") == "waited", debug
            return text, hit
        if route == "gateway-stream":
            text, headers = _streamed(served, question)
        else:
            text, headers = _ask(served, served.key, question)
        hit = headers["x-vectorcache-cache"] == "hit"
        assert not hit or headers["x-vectorcache-coalesced"] == "true"
        return text, hit

    before = provider.calls
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(ask, a)
        assert provider.wait_for_calls(before + 1), first.result()  # a is asking: holds the lease
        second = pool.submit(ask, b)
        (text_a, hit_a), (text_b, hit_b) = first.result(timeout=60), second.result(timeout=60)
    assert (hit_a, hit_b) == (False, True)
    assert text_b == text_a and text_a.startswith("Answer to: " + question[:20])
    assert provider.calls == before + 1


def test_an_answer_that_is_not_stored_lets_the_waiting_replica_ask_itself(
        replicas: tuple[Served, Served], provider: FakeProvider) -> None:
    """Nothing for b to serve (the answer was cut off, so not stored): once a's call has ended,
    b asks the provider itself rather than failing or waiting again."""
    a, b = replicas
    question = "Write a very long poem about the sea [[sleep:1.0]] [[length]]"
    before = provider.calls
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_ask, a, a.key, question)
        assert provider.wait_for_calls(before + 1)
        second = pool.submit(_ask, b, b.key, question)
        (_, headers_a), (_, headers_b) = first.result(timeout=60), second.result(timeout=60)
    assert headers_a["x-vectorcache-cache"] == headers_b["x-vectorcache-cache"] == "miss"
    assert provider.calls == before + 2


def test_a_key_revoked_on_one_replica_is_refused_by_the_other_at_once(
        replicas: tuple[Served, Served]) -> None:
    a, b = replicas
    created = _new_key(a)
    _ask(b, created["key"], "How many legs does a spider have?")  # accepted on b
    revoked = httpx.post(f"{a.base}/v1/keys/{created['id']}/revoke",
                         headers={"Authorization": f"Bearer {a.key}"})
    assert revoked.status_code == 200, revoked.text
    with pytest.raises(openai.AuthenticationError):
        _ask(b, created["key"], "How many legs does a spider have?")
    # the CLI works on the shared database too: a leaked key revoked by its full text
    leaked = a.new_key()
    _ask(a, leaked, "How many legs does a spider have?")
    a.cli("keys", "revoke", leaked)
    for served in (a, b):
        with pytest.raises(openai.AuthenticationError):
            _ask(served, leaked, "How many legs does a spider have?")


def test_one_rate_limit_across_replicas(replicas: tuple[Served, Served]) -> None:
    a, b = replicas
    key = _new_key(a, rate_limit_per_minute=3)["key"]
    for served in (a, b, a):
        _ask(served, key, "What colour is the sky on a clear day?")
    with pytest.raises(openai.RateLimitError):
        _ask(b, key, "What colour is the sky on a clear day?")


def test_a_replica_with_another_server_secret_refuses_to_start(
        replicas: tuple[Served, Served], tmp_path: Path) -> None:
    a, _ = replicas
    env = {**os.environ, **a.env, "VECTORCACHE_DATA_DIR": str(tmp_path),
           "VECTORCACHE_SERVER_SECRET": secrets.token_hex(32)}
    started = subprocess.run(
        [sys.executable, "-m", "vectorcache", "serve", "--port", str(free_port())],
        check=False, env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode != 0
    assert "hashed with another server secret" in started.stderr
    assert "Traceback" not in started.stderr


def test_an_unreachable_database_is_named_without_its_password(
        cli_run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORCACHE_DATABASE_URL",
                       f"postgresql://vc:s3cret%40pw@127.0.0.1:{free_port()}/vectorcache")
    result = cli_run("projects", "list", ok=False)
    assert result.exit_code == 1
    assert "Cannot open the PostgreSQL database postgresql://vc:***@127.0.0.1" in result.output
    assert "s3cret" not in result.output and "Traceback" not in result.output
