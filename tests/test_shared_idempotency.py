"""Issue 22: an ``Idempotency-Key`` retry that lands on another replica is answered with the
first response, without a second provider call. Two app instances (two runtimes, two event
loops) share one SQLite database, one master key, one server secret and one real Redis
(``redis-server`` on loopback), as replicas behind a load balancer do; the loopback fake
provider counts the calls. Answers marked ``[[length]]`` are truncated, so never cached: only
the idempotency record can spare the second call."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import redis
from conftest import Tenant, settings_for
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.embeddings import Encoder
from vectorcache.testing import FakeProvider

QUERY = "/v1/cache/query"
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder, redis_url: str,
             provider: FakeProvider) -> Iterator[tuple[Tenant, Tenant]]:
    root = tmp_path_factory.mktemp("idempotency-replicas")
    shared = {"database_url": f"sqlite:///{root / 'shared.db'}",
              "rate_limit_storage_url": redis_url,
              "master_key": Fernet.generate_key().decode(),
              "server_secret": secrets.token_hex(32)}
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(
            create_app(settings_for(root / name, **shared), encoder=encoder),
            raise_server_exceptions=False)) for name in ("a", "b")]
        a = clients[0].app.state.runtime  # type: ignore[attr-defined]

        async def setup() -> tuple[Any, str]:
            project = await a.admin.create_project(f"idem-{uuid.uuid4().hex[:8]}")
            created = await a.admin.create_key(project, name="replicas")
            await a.admin.set_provider(project, provider="openai", api_key=provider.api_key,
                                       base_url=provider.base_url)
            return project, created.key

        project, key = clients[0].portal.call(setup)  # type: ignore[union-attr]
        headers = {"Authorization": f"Bearer {key}"}
        yield (Tenant(clients[0], project, key, provider, headers),
               Tenant(clients[1], project, key, provider, headers))


def _post(t: Tenant, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    response: httpx.Response = t.post(path, body, headers={"Idempotency-Key": key})
    return response


def _chat(question: str) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": question}]}


@pytest.mark.parametrize(("path", "body"), [
    (QUERY, {"prompt": "Write an essay about glaciers [[length]]", "model": "gpt-4o"}),
    (CHAT, _chat("Write an essay about deserts [[length]]")),
])
def test_a_retry_on_another_replica_replays_the_first_answer(
        replicas: tuple[Tenant, Tenant], path: str, body: dict[str, Any]) -> None:
    a, b = replicas
    key = uuid.uuid4().hex
    before = a.provider.calls
    first = _post(a, path, body, key)
    assert first.status_code == 200, first.text
    assert a.provider.calls == before + 1
    again = _post(b, path, body, key)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers.get("x-vectorcache-cache") == first.headers.get("x-vectorcache-cache")
    assert a.provider.calls == before + 1
    # without the key, replica b asks the provider itself (the answer is never cached)
    assert b.post(path, body).status_code == 200
    assert a.provider.calls == before + 2


def test_the_same_key_with_another_body_is_refused_on_another_replica(
        replicas: tuple[Tenant, Tenant]) -> None:
    a, b = replicas
    key = uuid.uuid4().hex
    body = {"prompt": "Write an essay about volcanoes [[length]]", "model": "gpt-4o"}
    assert _post(a, QUERY, body, key).status_code == 200
    before = a.provider.calls
    reused = _post(b, QUERY, {**body, "prompt": "Something else [[length]]"}, key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert a.provider.calls == before


def test_a_retry_arriving_while_the_first_request_runs_waits_for_it(
        replicas: tuple[Tenant, Tenant]) -> None:
    a, b = replicas
    key = uuid.uuid4().hex
    body = {"prompt": "Write an essay about tides [[length]] [[sleep:1.5]]", "model": "gpt-4o"}
    before = a.provider.calls
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_post, a, QUERY, body, key)
        assert a.provider.wait_for_calls(before + 1)  # a is asking the provider
        retry = _post(b, QUERY, body, key)
        answered = first.result(timeout=30)
    assert answered.status_code == retry.status_code == 200, (answered.text, retry.text)
    assert retry.json() == answered.json() and retry.headers["idempotent-replayed"] == "true"
    assert a.provider.calls == before + 1


def test_a_failed_call_is_not_shared_a_retry_on_another_replica_asks_again(
        replicas: tuple[Tenant, Tenant]) -> None:
    a, b = replicas
    key = uuid.uuid4().hex
    failing = {"prompt": "Down again [[status:503]]", "model": "gpt-4o"}
    assert _post(a, QUERY, failing, key).status_code == 502
    before = a.provider.calls
    assert _post(b, QUERY, failing, key).status_code == 502
    assert a.provider.calls == before + 1


def test_redis_holds_no_answer_prompt_or_key_in_clear(replicas: tuple[Tenant, Tenant],
                                                      redis_url: str) -> None:
    a, b = replicas
    key = f"visible-{uuid.uuid4().hex}"
    prompt = "Write an essay about the Zanzibar archipelago [[length]]"
    answer = _post(a, QUERY, {"prompt": prompt, "model": "gpt-4o"}, key).json()["response"]
    assert "Zanzibar" in answer
    replayed = _post(b, QUERY, {"prompt": prompt, "model": "gpt-4o"}, key)
    assert replayed.json()["response"] == answer  # sealed, and opened by the other replica
    with redis.Redis.from_url(redis_url) as r:
        names = [n for n in r.scan_iter("vectorcache:idempotency:*")]
        assert names
        for name in names:
            value = r.get(name)
            assert value is not None
            for secret in (b"Zanzibar", key.encode(), a.project.id.encode()):
                assert secret not in name and secret not in value


def test_a_record_sealed_under_a_data_key_added_since_is_replayed(
        replicas: tuple[Tenant, Tenant]) -> None:
    """Replica a rotates the data keys, then seals a response under the new one: replica b,
    which started before that key existed, loads it rather than asking the provider again."""
    a, b = replicas
    kid = a.call(a.runtime.store.add_data_key)
    assert kid not in b.runtime.store.cipher.key_ids
    key = uuid.uuid4().hex
    body = {"prompt": "Write an essay about fjords [[length]]", "model": "gpt-4o"}
    before = a.provider.calls
    first = _post(a, QUERY, body, key)
    assert first.status_code == 200, first.text
    again = _post(b, QUERY, body, key)
    assert again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert a.provider.calls == before + 1
