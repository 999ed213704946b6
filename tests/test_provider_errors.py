"""Provider failures are 502 with the documented detail, and nothing is cached."""

from __future__ import annotations

from pathlib import Path

from conftest import Tenant, make_tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app

Q = "/v1/cache/query"


def _assert_502_not_cached(t: Tenant, prompt: str, detail: str) -> None:
    r = t.post(Q, {"prompt": prompt, "model": "gpt-4o"})
    assert r.status_code == 502, r.text
    assert r.json()["detail"] == detail and r.json()["code"]
    again = t.post("/v1/cache/lookup", {"prompt": prompt, "model": "gpt-4o"}).json()
    assert again["cache_hit"] is False


def test_provider_5xx_is_502(tenant: Tenant) -> None:
    _assert_502_not_cached(tenant, "Tell me a joke [[status:503]]",
                           "LLM provider error: Provider returned HTTP 503")


def test_bad_provider_key_is_502_without_echoing_it(tenant: Tenant) -> None:
    tenant.call(tenant.runtime.admin.set_provider, tenant.project, provider="openai",
                api_key="sk-wrong-key-123", base_url=tenant.provider.base_url)
    r = tenant.post(Q, {"prompt": "What is 2+2?", "model": "gpt-4o"})
    assert r.status_code == 502
    assert r.json()["detail"] == "LLM provider error: Invalid API key"
    assert "sk-wrong" not in r.text


def test_unreachable_provider_is_502(tenant: Tenant) -> None:
    tenant.call(tenant.runtime.admin.set_provider, tenant.project, provider="openai",
                api_key="sk-x", base_url="http://127.0.0.1:9/v1")
    _assert_502_not_cached(tenant, "Is anyone there?",
                           "LLM provider error: Could not reach the provider")


def test_no_provider_configured_is_502(app_client) -> None:
    rt = app_client.app.state.runtime

    async def setup() -> str:
        project = await rt.admin.create_project("no-provider")
        return str((await rt.admin.create_key(project)).key)

    key = app_client.portal.call(setup)
    r = app_client.post(Q, json={"prompt": "hello", "model": "gpt-4o"},
                        headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 502 and "No provider key configured" in r.json()["detail"]


def test_incomplete_answers_are_not_cached(tenant: Tenant) -> None:
    for prompt in ("Write a long essay [[length]]", "Look this up [[tool]]"):
        r = tenant.post(Q, {"prompt": prompt, "model": "gpt-4o"})
        assert r.status_code == 200
        assert tenant.post("/v1/cache/lookup", {"prompt": prompt, "model": "gpt-4o"}) \
            .json()["cache_hit"] is False


def test_provider_timeout_is_502(tmp_path: Path, encoder, provider) -> None:
    app = create_app(settings_for(tmp_path, upstream_timeout_seconds=0.3), encoder=encoder)
    with TestClient(app) as client:
        t = make_tenant(client, provider)
        _assert_502_not_cached(t, "Slow question [[sleep:1.5]]",
                               "LLM provider error: Request timed out")
