"""Issue 22, item 4: a fallback model's answer is labelled and never cached as the requested
model's; the provider's 4xx reach the client with their status and the route's error shape,
its 429 as a 429 with ``Retry-After``; 5xx and timeouts stay 502. And the SDK never retries a
POST that may have reached the provider unless it carries an ``Idempotency-Key``, which the
server honours by replaying the answer instead of asking the provider again.

Real parts only: the in-process app, a loopback ``FakeProvider`` (a real HTTP server), the
official ``openai`` client and the SDK.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import Tenant, make_tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache import client as vcc
from vectorcache.api.app import create_app
from vectorcache.testing import FakeProvider

Q = "/v1/cache/query"
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def flaky() -> Iterator[FakeProvider]:
    """A provider whose model ``gpt-down`` always answers 503 (the fallback is gpt-4o-mini)."""
    with FakeProvider(api_key="sk-flaky", failing_models={"gpt-down": 503}) as fake:
        yield fake


@pytest.fixture
def fallback(app_client, flaky: FakeProvider) -> Tenant:
    t = make_tenant(app_client, flaky, decision_mode="static")
    t.call(t.runtime.admin.set_provider, t.project, provider="openai", api_key=flaky.api_key,
           base_url=flaky.base_url, fallback_models=("gpt-4o-mini",))
    return t


def _gpt(t: Tenant) -> openai.OpenAI:
    """The official client on the in-process app (not closed: that would close the app's
    session-wide test client)."""
    return openai.OpenAI(api_key=t.key, base_url="http://testserver/v1", max_retries=0,
                         http_client=t.client)


# ---------------------------------------------------------------- fallback models
@pytest.mark.parametrize("stream", [False, True])
def test_fallback_answer_is_labelled_and_not_cached_as_the_requested_model(
        fallback: Tenant, flaky: FakeProvider, stream: bool) -> None:
    gpt = _gpt(fallback)
    messages = [{"role": "user", "content": f"Which model answers? ({stream})"}]
    for _ in range(2):
        before = flaky.calls
        raw = gpt.chat.completions.with_raw_response.create(
            model="gpt-down", messages=messages, stream=stream)  # type: ignore[call-overload]
        assert raw.headers["x-fallback-used"] == "gpt-4o-mini"
        assert raw.headers["x-vectorcache-model"] == "gpt-4o-mini"
        assert raw.headers["x-vectorcache-cache"] == "miss"  # never a hit as gpt-down's
        parsed = raw.parse()
        if stream:
            models = {chunk.model for chunk in parsed}
            assert models == {"gpt-4o-mini"}
        else:
            assert parsed.model == "gpt-4o-mini"
        assert flaky.calls == before + 2  # gpt-down failed, gpt-4o-mini answered


def test_native_fallback_answer_is_labelled_and_not_cached(fallback: Tenant,
                                                           flaky: FakeProvider) -> None:
    body = {"prompt": "Who answers this one?", "model": "gpt-down"}
    for _ in range(2):
        r = fallback.post(Q, body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["cache_hit"] is False and answer["model"] == "gpt-4o-mini"
        assert answer["cache_bypassed"] == "fallback"
    assert fallback.post("/v1/cache/lookup", body).json()["cache_hit"] is False
    # the primary model's own answers are cached and labelled as usual
    fine = {"prompt": "Who answers this one?", "model": "gpt-4o"}
    assert fallback.post(Q, fine).json()["model"] == "gpt-4o"
    hit = fallback.post(Q, fine).json()
    assert hit["cache_hit"] is True and hit["model"] == "gpt-4o"


# ---------------------------------------------------------------- provider 4xx and 429
@pytest.mark.parametrize(("status", "code"), [(400, "context_length_exceeded"),
                                              (404, "model_not_found"), (422, None)])
def test_provider_4xx_is_passed_through_on_the_native_api(tenant: Tenant, status: int,
                                                          code: str | None) -> None:
    marks = f"[[status:{status}]]" + (f"[[code:{code}]]" if code else "")
    r = tenant.post(Q, {"prompt": f"A very long document {marks}", "model": "gpt-4o"})
    assert r.status_code == status, r.text
    assert r.json() == {"detail": f"LLM provider error: fake failure {status}",
                        "code": code or "upstream_bad_request"}


@pytest.mark.parametrize("stream", [False, True])
def test_provider_4xx_is_passed_through_on_the_gateway(tenant: Tenant, stream: bool) -> None:
    gpt = _gpt(tenant)
    with pytest.raises(openai.BadRequestError) as bad:
        gpt.chat.completions.create(model="gpt-4o", stream=stream, messages=[  # type: ignore[call-overload]
            {"role": "user", "content": "Too long [[status:400]][[code:context_length_exceeded]]"}])
    assert bad.value.status_code == 400
    assert bad.value.code == "context_length_exceeded"
    assert bad.value.type == "invalid_request_error"
    assert "fake failure 400" in bad.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        gpt.chat.completions.create(model="gpt-4o", stream=stream, messages=[  # type: ignore[call-overload]
            {"role": "user", "content": "Which model? [[status:404]][[code:model_not_found]]"}])
    assert missing.value.code == "model_not_found"


def test_provider_429_is_a_429_with_its_retry_after(tenant: Tenant) -> None:
    r = tenant.post(Q, {"prompt": "Busy? [[status:429]][[retry:7]]", "model": "gpt-4o"})
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == "7" and r.json()["retry_after"] == 7
    assert r.json()["code"] == "upstream_rate_limited"
    # no Retry-After from the provider: a default one
    r = tenant.post(Q, {"prompt": "Busy again? [[status:429]]", "model": "gpt-4o"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    gpt = _gpt(tenant)
    with pytest.raises(openai.RateLimitError) as limited:
        gpt.chat.completions.create(model="gpt-4o", messages=[
            {"role": "user", "content": "Busy? [[status:429]][[retry:9]]"}])
    assert limited.value.status_code == 429
    assert limited.value.response.headers["retry-after"] == "9"
    assert limited.value.type == "rate_limit_error"


def test_provider_5xx_and_bad_provider_key_stay_502(tenant: Tenant) -> None:
    r = tenant.post(Q, {"prompt": "Down? [[status:500]]", "model": "gpt-4o"})
    assert r.status_code == 502 and r.json()["code"] == "upstream_error"
    gpt = _gpt(tenant)
    with pytest.raises(openai.InternalServerError) as failed:
        gpt.chat.completions.create(model="gpt-4o", messages=[
            {"role": "user", "content": "Down? [[status:503]]"}])
    assert failed.value.status_code == 502


# ---------------------------------------------------------------- idempotency
def _post(t: Tenant, body: dict[str, Any], key: str, path: str = Q) -> httpx.Response:
    return t.post(path, body, headers={"Idempotency-Key": key})


def test_idempotency_key_replays_the_answer_without_asking_the_provider(
        tenant: Tenant) -> None:
    # an answer that is never cached ([[length]]: truncated), so only the key can save a call
    body = {"prompt": "Write an essay about rivers [[length]]", "model": "gpt-4o"}
    key = uuid.uuid4().hex
    before = tenant.provider.calls
    first = _post(tenant, body, key)
    again = _post(tenant, body, key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert tenant.provider.calls == before + 1
    # another key asks again; the same key with another body is refused
    assert _post(tenant, body, uuid.uuid4().hex).status_code == 200
    assert tenant.provider.calls == before + 2
    reused = _post(tenant, {**body, "prompt": "Something else [[length]]"}, key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # keys are per project: another project's same key is its own
    other = make_tenant(tenant.client, tenant.provider)
    assert "idempotent-replayed" not in _post(other, body, key).headers
    # a failed call is not remembered: a retry asks again
    failing = {"prompt": "Down [[status:503]]", "model": "gpt-4o"}
    assert _post(tenant, failing, key + "-f").status_code == 502
    calls = tenant.provider.calls
    assert _post(tenant, failing, key + "-f").status_code == 502
    assert tenant.provider.calls == calls + 1


def test_idempotency_key_on_non_streaming_chat_completions(tenant: Tenant) -> None:
    body = {"model": "gpt-4o", "messages": [
        {"role": "user", "content": "Write an essay about lakes [[length]]"}]}
    key = uuid.uuid4().hex
    before = tenant.provider.calls
    first = _post(tenant, body, key, CHAT)
    again = _post(tenant, body, key, CHAT)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and tenant.provider.calls == before + 1


@pytest.mark.parametrize("bad", ["", "x" * 256, "two words"])
def test_malformed_idempotency_key_is_a_400(tenant: Tenant, bad: str) -> None:
    r = tenant.post(Q, {"prompt": "hi", "model": "gpt-4o"}, headers={"Idempotency-Key": bad})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text


def test_sdk_query_is_not_retried_without_a_key_the_server_honours(tenant: Tenant) -> None:
    """The SDK sends an Idempotency-Key on every query and retries (a 502, a timeout) only
    with it; the server then replays a produced answer, never asking twice."""
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=_Recording(tenant.client, seen))
    vc = vcc.VectorcacheClient(api_key=tenant.key, base_url="http://testserver",
                               allow_insecure_http=True, http_client=http, max_retries=2,
                               retry_backoff=0.01)
    with pytest.raises(vcc.APIError):
        vc.query("Down [[status:503]]", model="gpt-4o")
    keys = [r.headers.get("idempotency-key") for r in seen]
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1  # one key, every attempt
    seen.clear()
    vc.query("An essay on seas [[length]]", model="gpt-4o", idempotency_key="mine-1")
    assert seen[0].headers["idempotency-key"] == "mine-1"
    # lookups and reads still retry as before, without a key
    seen.clear()
    vc.lookup("hello", model="gpt-4o")
    assert "idempotency-key" not in seen[0].headers


class _Recording(httpx.BaseTransport):
    """Sends through the in-process app (a real ASGI round trip), keeping each request."""

    def __init__(self, app: Any, seen: list[httpx.Request]) -> None:
        self._app = app
        self._seen = seen

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._seen.append(request)
        response = self._app.request(request.method, str(request.url),
                                     headers=dict(request.headers), content=request.read())
        return httpx.Response(response.status_code, headers=dict(response.headers),
                              content=response.content)


def test_sdk_retry_after_a_provider_timeout_never_asks_the_provider_twice(
        tmp_path: Path, encoder: Any, provider: FakeProvider) -> None:
    """A provider call the server gave up on may still have been billed: the SDK's retries
    (same key) are answered with that outcome, never by asking the provider again."""
    app = create_app(settings_for(tmp_path, upstream_timeout_seconds=0.3), encoder=encoder)
    with TestClient(app) as client:
        t = make_tenant(client, provider)
        http = httpx.Client(transport=_Recording(client, []))
        vc = vcc.VectorcacheClient(api_key=t.key, base_url="http://testserver",
                                   allow_insecure_http=True, http_client=http,
                                   max_retries=2, retry_backoff=0.01)
        before = provider.calls
        with pytest.raises(vcc.ServerError) as failed:
            vc.query("A slow essay [[sleep:0.6]]", model="gpt-4o")
        assert failed.value.status == 502 and "timed out" in str(failed.value)
        assert provider.calls == before + 1
