"""Issue 22: bad input is always a documented 4xx, never a 500, a 503 or a silent change.

Header size limits (431), strict and bounded numbers (400), lone surrogates (400), non-JSON
bodies (415), a 405's ``Allow``, and the catch-all 500's ``Connection: close``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.bounds import MAX_CONTEXT_HEADER_BYTES, MAX_TTL_SECONDS
from vectorcache.embeddings import Encoder
from vectorcache.errors import ValidationFailed

BIG = 2**63 + 1  # one past what a signed 64-bit column holds
CHAT = "/v1/chat/completions"


def _native_400(response: Any, *words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) >= {"detail", "code"} and body["code"] == "invalid_request"
    for word in words:
        assert word in body["detail"], body["detail"]


def _gateway_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    return error


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi there"}],
            **extra}


# ---------------------------------------------------------------- header limits
def test_header_limits_context_over_4kb_is_431(tenant: Tenant) -> None:
    context = "c" * (MAX_CONTEXT_HEADER_BYTES + 1)
    error = _gateway_error(tenant.post(CHAT, _chat(),
                                       headers={"X-Vectorcache-Context": context}), 431)
    assert error["code"] == "header_too_large" and "X-Vectorcache-Context" in error["message"]
    ok = tenant.post(CHAT, _chat(), headers={"X-Vectorcache-Context": "c" * 4000})
    assert ok.status_code == 200, ok.text


def test_header_limits_any_header_over_8kb_is_431_in_each_family(tenant: Tenant) -> None:
    huge = {"X-Filler": "f" * 9000}
    assert _gateway_error(tenant.post(CHAT, _chat(), headers=huge), 431)["code"] == \
        "header_too_large"
    native = tenant.post("/v1/cache/lookup", {"prompt": "hi", "model": "m"}, headers=huge)
    assert native.status_code == 431
    assert native.json() == {"detail": "Each request header must be at most 8192 bytes",
                             "code": "header_too_large"}
    many = {f"X-Filler-{i}": "f" * 4000 for i in range(9)}  # 36 KB in all
    assert tenant.get("/health", headers=many).status_code == 431


# ---------------------------------------------------------------- numbers, strictly
@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/cache/store", {"ttl_seconds": BIG}, "ttl_seconds"),
    ("/v1/cache/store", {"ttl_seconds": MAX_TTL_SECONDS + 1}, "ttl_seconds"),
    ("/v1/cache/store", {"usage": {"prompt_tokens": BIG}}, "prompt_tokens"),
    ("/v1/cache/store", {"usage": {"completion_tokens": 10**12}}, "completion_tokens"),
    ("/v1/cache/clear", {"older_than_hours": BIG}, "older_than_hours"),
    ("/v1/cache/clear", {"older_than_hours": 1e300}, "older_than_hours"),
])
def test_integers_past_2_63_are_400_not_500(tenant: Tenant, path: str, body: dict[str, Any],
                                            field: str) -> None:
    base = {"prompt": "what is the boiling point of water", "model": "gpt-4o-mini",
            "response": "100 C"} if path.endswith("store") else {}
    _native_400(tenant.post(path, {**base, **body}), field)


def test_integers_past_2_63_in_a_keys_rate_limit_are_400(tenant: Tenant) -> None:
    for limit in (BIG, 10**9):
        _native_400(tenant.post("/v1/keys", {"name": "k", "rate_limit_per_minute": limit}),
                    "rate_limit_per_minute")
    _native_400(tenant.post("/v1/keys", {"name": "k", "quota": {"requests": BIG}}),
                "requests")


def test_integers_past_2_63_anywhere_in_a_gateway_body_are_400(tenant: Tenant) -> None:
    error = _gateway_error(tenant.post(CHAT, _chat(seed=BIG)), 400)
    assert error["param"] == "seed" and "64 bits" in error["message"]


def test_a_lone_surrogate_in_a_prompt_is_400(tenant: Tenant) -> None:
    raw = '{"prompt": "caf\\ud800 menu", "model": "gpt-4o-mini"}'
    headers = {**tenant.headers, "Content-Type": "application/json"}
    _native_400(tenant.client.post("/v1/cache/query", content=raw, headers=headers),
                "surrogate")
    chat = ('{"model": "gpt-4o-mini", "messages": [{"role": "user", '
            '"content": "x\\udfff"}]}')
    error = _gateway_error(tenant.client.post(CHAT, content=chat, headers=headers), 400)
    assert error["param"] == "messages.0.content"
    paired = '{"prompt": "smile \\ud83d\\ude00", "model": "gpt-4o-mini"}'  # a real pair
    assert tenant.client.post("/v1/cache/lookup", content=paired,
                              headers=headers).status_code == 200


@pytest.mark.parametrize("number", ["1e400", "NaN", "-Infinity"])
def test_chat_temperature_1e400_or_nan_is_400(tenant: Tenant, number: str) -> None:
    raw = ('{"model": "gpt-4o-mini", "temperature": ' + number +
           ', "messages": [{"role": "user", "content": "hello"}]}')
    response = tenant.client.post(CHAT, content=raw, headers={
        **tenant.headers, "Content-Type": "application/json"})
    assert _gateway_error(response, 400)["param"] == "temperature"
    native = tenant.client.post("/v1/cache/query", content=(
        '{"prompt": "hello", "model": "m", "temperature": ' + number + "}"),
        headers=tenant.headers)
    _native_400(native, "temperature")


def test_pii_policy_null_is_400_not_503(tenant: Tenant) -> None:
    path = f"/v1/cache/projects/{tenant.project.id}"
    _native_400(tenant.client.patch(path, json={"pii_policy": None}, headers=tenant.headers),
                "pii_policy")
    _native_400(tenant.client.patch(path, json={"similarity_threshold": None},
                                    headers=tenant.headers), "similarity_threshold")
    assert tenant.get(path).json()["pii_policy"] == "bypass"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/cache/query", {"prompt": "hello", "model": "m", "similarity_threshold": True},
     "similarity_threshold"),
    ("/v1/cache/lookup", {"prompt": "hello", "model": "m", "temperature": False}, "temperature"),
    ("/v1/cache/query", {"prompt": "hello", "model": "m", "max_tokens": True}, "max_tokens"),
    ("/v1/cache/clear", {"older_than_hours": True}, "older_than_hours"),
    ("/v1/keys", {"name": "k", "rate_limit_per_minute": True}, "rate_limit_per_minute"),
])
def test_true_is_not_a_number(tenant: Tenant, path: str, body: dict[str, Any],
                              field: str) -> None:
    _native_400(tenant.post(path, body), field)


def test_true_is_not_a_number_in_project_settings(tenant: Tenant) -> None:
    path = f"/v1/cache/projects/{tenant.project.id}"
    for body in ({"similarity_threshold": True}, {"ttl_seconds": True},
                 {"target_error_rate": True}, {"ttl_seconds": 3600.0}):
        _native_400(tenant.client.patch(path, json=body, headers=tenant.headers),
                    next(iter(body)))


def test_a_project_ttl_that_would_break_every_write_is_400(tenant: Tenant,
                                                           provider: Any) -> None:
    path = f"/v1/cache/projects/{tenant.project.id}"
    for ttl in (1_000_000_000_000, BIG, MAX_TTL_SECONDS + 1, 0):
        _native_400(tenant.client.patch(path, json={"ttl_seconds": ttl},
                                        headers=tenant.headers), "ttl_seconds")
    limit = tenant.client.patch(path, json={"ttl_seconds": MAX_TTL_SECONDS},
                                headers=tenant.headers)
    assert limit.status_code == 200 and limit.json()["ttl_seconds"] == MAX_TTL_SECONDS
    stored = tenant.post("/v1/cache/store", {"prompt": "how tall is the eiffel tower",
                                             "model": "gpt-4o-mini", "response": "330 m"})
    assert stored.status_code == 201, stored.text
    with pytest.raises(ValidationFailed, match="ttl_seconds"):  # the store's own check
        tenant.call(tenant.runtime.admin.update_project, tenant.project.id,
                    ttl_seconds=1_000_000_000_000)
    with pytest.raises(ValidationFailed, match="pii_policy"):
        tenant.call(tenant.runtime.admin.update_project, tenant.project.id, pii_policy=None)


def test_a_project_ttl_past_the_limit_is_refused_by_the_cli_and_the_store(cli_run: Any) -> None:
    cli_run("projects", "create", "ttl-probe")
    result = cli_run("projects", "update", "ttl-probe", "--ttl-seconds", "1000000000000",
                     ok=False)
    assert result.exit_code != 0 and "ttl" in result.output.lower()
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- HTTP edges
def test_text_plain_body_is_not_parsed_as_json(tenant: Tenant) -> None:
    body = '{"prompt": "what is the capital of france", "model": "gpt-4o-mini"}'
    plain = tenant.client.post("/v1/cache/lookup", content=body, headers={
        **tenant.headers, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json() == {"detail": "Content-Type must be application/json",
                            "code": "unsupported_media_type"}
    chat = tenant.client.post(CHAT, content='{"model": "m"}', headers={
        **tenant.headers, "Content-Type": "text/plain; charset=utf-8"})
    assert _gateway_error(chat, 415)["code"] == "unsupported_media_type"
    for allowed in ("application/json; charset=utf-8", "application/x-www-form-urlencoded"):
        ok = tenant.client.post("/v1/cache/lookup", content=body, headers={
            **tenant.headers, "Content-Type": allowed})
        assert ok.status_code == 200, (allowed, ok.text)


def test_405_responses_carry_allow(tenant: Tenant) -> None:
    response = tenant.client.put("/v1/cache/query", json={}, headers=tenant.headers)
    assert response.status_code == 405 and "POST" in response.headers["allow"]
    assert response.json()["code"] == "method_not_allowed"
    gateway = tenant.client.get(CHAT, headers=tenant.headers)
    assert gateway.status_code == 405 and "POST" in gateway.headers["allow"]
    assert gateway.json()["error"]["code"] == "method_not_allowed"


@pytest.fixture
def failing_client(tmp_path: Path, encoder: Encoder) -> Iterator[TestClient]:
    """An app with one route that fails the way an unforeseen bug would."""
    app = create_app(settings_for(tmp_path), encoder=encoder)

    async def broken() -> None:
        raise RuntimeError("an unforeseen bug")

    app.add_api_route("/v1/cache/broken", broken, methods=["GET"])
    app.add_api_route("/v1/chat/broken", broken, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_after_an_unhandled_error_the_connection_is_closed_openly(
        failing_client: TestClient) -> None:
    native = failing_client.get("/v1/cache/broken")
    assert native.status_code == 500 and native.headers["connection"] == "close"
    assert native.json() == {"detail": "Internal server error", "code": "internal_error"}
    assert "unforeseen" not in native.text
    gateway = failing_client.get("/v1/chat/broken")
    assert gateway.status_code == 500 and gateway.headers["connection"] == "close"
    assert gateway.json()["error"]["type"] == "server_error"
