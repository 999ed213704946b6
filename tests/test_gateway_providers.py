"""Gateway in-process: the Anthropic adapter, fallback models, models/embeddings, and the
native similar/test routes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from conftest import Tenant, make_tenant

from vectorcache.errors import UpstreamError
from vectorcache.testing import FakeAnthropic
from vectorcache.upstream import ChatRequest, build_upstream
from vectorcache.upstream.anthropic import AnthropicMessages

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key="sk-ant-test", failing_models={"claude-down": 503}) as fake:
        yield fake


@pytest.fixture
def claude(app_client, provider, anthropic: FakeAnthropic) -> Tenant:
    t = make_tenant(app_client, provider)
    t.call(t.runtime.admin.set_provider, t.project, provider="anthropic",
           api_key=anthropic.api_key, base_url=anthropic.base_url,
           fallback_models=("claude-haiku-4-5",))
    return t


def _events(text: str) -> list[dict]:
    parts = [e.removeprefix("data: ") for e in text.split("\n\n") if e]
    assert parts[-1] == "[DONE]"
    return [json.loads(p) for p in parts[:-1]]


def test_anthropic_adapter_translates_both_ways(anthropic: FakeAnthropic) -> None:
    asyncio.run(_adapter_round_trip(anthropic))


async def _adapter_round_trip(anthropic: FakeAnthropic) -> None:
    async with httpx.AsyncClient() as http:
        up = AnthropicMessages(http, api_key="sk-ant-test", base_url=anthropic.base_url)
        request = ChatRequest("claude-sonnet-4-5", [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is Rust?"}], {"temperature": 0.1, "stop": "\n"})
        done = await up.complete(request)
        sent = anthropic.requests[-1]
        assert sent["system"] == "Be brief." and sent["stop_sequences"] == ["\n"]
        assert sent["max_tokens"] > 0 and [m["role"] for m in sent["messages"]] == ["user"]
        assert done.text == "Answer to: What is Rust?" and done.cacheable
        assert done.raw["object"] == "chat.completion" and done.usage.completion_tokens == 5
        chunks = [c.data async for c in up.stream(request)]
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        text = "".join(c["choices"][0]["delta"].get("content") or ""
                       for c in chunks if c["choices"])
        assert text == done.text and chunks[-2]["choices"][0]["finish_reason"] == "stop"
        assert chunks[-1]["usage"]["completion_tokens"] == 5
        bad = AnthropicMessages(http, api_key="wrong", base_url=anthropic.base_url)
        with pytest.raises(UpstreamError, match="Invalid API key"):
            await bad.complete(request)
        length = await up.complete(ChatRequest("claude-sonnet-4-5", [
            {"role": "user", "content": "Go on [[length]]"}]))
        assert length.finish_reason == "length" and not length.cacheable


def test_anthropic_project_through_the_gateway(claude: Tenant, anthropic: FakeAnthropic) -> None:
    body = {"model": "claude-sonnet-4-5",
            "messages": [{"role": "user", "content": "Why is the sky blue?"}]}
    miss = claude.post(CHAT, body)
    assert miss.status_code == 200, miss.text
    assert miss.headers["x-vectorcache-cache"] == "miss"
    assert "x-fallback-used" not in miss.headers
    hit = claude.post(CHAT, {**body, "stream": True})
    assert hit.headers["x-vectorcache-cache"] == "hit"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in _events(hit.text)
                   if c["choices"])
    assert text == miss.json()["choices"][0]["message"]["content"]
    models = claude.get("/v1/models").json()
    assert {m["id"] for m in models["data"]} == {"claude-sonnet-4-5", "claude-haiku-4-5"}


@pytest.mark.parametrize("stream", [False, True])
def test_fallback_model_on_5xx(claude: Tenant, stream: bool) -> None:
    r = claude.post(CHAT, {"model": "claude-down", "stream": stream, "messages": [
        {"role": "user", "content": f"Fallback please (stream={stream})"}]})
    assert r.status_code == 200, r.text
    assert r.headers["x-fallback-used"] == "claude-haiku-4-5"


def test_no_fallback_is_a_502_in_openai_shape(claude: Tenant, anthropic) -> None:
    claude.call(claude.runtime.admin.set_provider, claude.project, provider="anthropic",
                api_key=anthropic.api_key, base_url=anthropic.base_url)
    r = claude.post(CHAT, {"model": "claude-down", "messages": [
        {"role": "user", "content": "Anyone?"}]})
    assert r.status_code == 502
    assert r.json()["error"]["type"] == "server_error" and r.json()["error"]["code"]


def test_build_upstream_wraps_only_with_fallbacks(claude: Tenant) -> None:
    config = claude.call(claude.runtime.store.get_provider, claude.project.id)
    assert type(build_upstream(httpx.AsyncClient(), config)).__name__ == "FallbackUpstream"


def test_gateway_errors_are_openai_shaped(tenant: Tenant) -> None:
    r = tenant.post(CHAT, {"model": "gpt-4o"})
    assert r.status_code == 400
    assert r.json()["error"] == {"message": r.json()["error"]["message"],
                                 "type": "invalid_request_error", "code": "invalid_request",
                                 "param": "messages"}
    r = tenant.client.post(CHAT, json={"model": "gpt-4o", "messages": []})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = tenant.post("/v1/embeddings", {"model": "x", "input": [1, 2, 3]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"


def test_chat_with_a_read_only_key_answers_but_does_not_store(tenant: Tenant) -> None:
    key = tenant.new_key(scopes=("cache:read",))
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Read only?"}]}
    h = {"Authorization": f"Bearer {key}"}
    assert tenant.client.post(CHAT, json=body, headers=h).status_code == 200
    again = tenant.client.post(CHAT, json=body, headers=h)
    assert again.headers["x-vectorcache-cache"] == "miss"


def test_embeddings_shape(tenant: Tenant) -> None:
    r = tenant.post("/v1/embeddings", {"model": "text-embedding-3-small",
                                       "input": ["a cat", "a dog"]}).json()
    assert r["object"] == "list" and r["model"] and r["usage"]["prompt_tokens"] == 4
    assert [d["index"] for d in r["data"]] == [0, 1]
    assert all(len(d["embedding"]) == 384 for d in r["data"])


def test_similar_and_dry_run(tenant: Tenant) -> None:
    for prompt in ("How do I reset my password?", "How do I delete my account?"):
        tenant.post("/v1/cache/store", {"prompt": prompt, "response": "Like this.",
                                        "model": "gpt-4o"})
    r = tenant.get(f"/v1/cache/projects/{tenant.project.id}/similar",
                   params={"query": "password reset", "model": "gpt-4o", "limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_found"] == 2 and body["query"] == "password reset"
    top = body["similar_entries"][0]
    assert top["original_query"] == "How do I reset my password?"
    assert set(top) == {"id", "original_query", "similarity", "created_at"}
    other = tenant.get("/v1/cache/projects/someone-else/similar", params={"query": "x"})
    assert other.status_code == 403
    dry = tenant.post("/v1/cache/test", {"prompt": "How can I reset my password?",
                                         "model": "gpt-4o"}).json()
    assert dry["cache_hit"] is True and dry["similarity_score"] > 0.85
    assert dry["similar_entries"] and dry["response_time"] >= 0
    assert [s["id"] for s in dry["workflow_steps"]] == [1, 2, 3, 4, 5, 6]  # the JS SDK's type
    assert all(set(s) == {"id", "name", "status", "duration", "details", "icon"}
               for s in dry["workflow_steps"])
