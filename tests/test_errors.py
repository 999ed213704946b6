"""Bad input gets the documented status and body: never a 500, never FastAPI's 422."""

from __future__ import annotations

import pytest
from conftest import Tenant

Q = "/v1/cache/query"


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"detail", "code"}
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(("body", "detail"), [
    ({"model": "gpt-4o"}, "Field required: prompt"),
    ({"prompt": "hi", "model": "gpt-4o", "similarity_threshold": 1.5},
     "similarity_threshold must be between 0 and 1"),
    ({"prompt": "hi", "model": "gpt-4o", "similarity_threshold": -0.1},
     "similarity_threshold must be between 0 and 1"),
    ({"prompt": "hi", "model": "gpt-4o", "max_tokens": 0}, "max_tokens must be between 1 and 4000"),
    ({"prompt": "hi", "model": "gpt-4o", "temperature": 3}, "temperature must be between 0 and 2"),
    ({"prompt": "x" * 32_001, "model": "gpt-4o"}, "prompt must be at most 32000 characters"),
    ({"prompt": "   ", "model": "gpt-4o"}, "prompt must not be empty"),
    ({"prompt": "hi"}, "Field required: model"),
    ({"prompt": 12, "model": "gpt-4o"}, None),
    ({"messages": [{"role": "wizard", "content": "hi"}], "model": "gpt-4o"}, None),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
      "model": "gpt-4o"}, "The last message must have role 'user'"),
])
def test_validation_is_400_with_documented_detail(tenant: Tenant, body: dict,
                                                  detail: str | None) -> None:
    err = _error(tenant.post(Q, body), 400)
    if detail is not None:
        assert err["detail"] == detail


def test_malformed_json_is_400(tenant: Tenant) -> None:
    r = tenant.client.post(Q, content=b'{"prompt": "hi", ', headers={
        **tenant.headers, "Content-Type": "application/json"})
    assert _error(r, 400)["detail"] == "Invalid JSON format"


def test_non_object_body_is_400(tenant: Tenant) -> None:
    _error(tenant.post(Q, ["not", "an", "object"]), 400)


def test_missing_body_is_400_and_says_so(tenant: Tenant) -> None:
    assert _error(tenant.client.post(Q, headers=tenant.headers), 400)["detail"] == \
        "Request body required"


def test_oversized_body_is_413(tenant: Tenant) -> None:
    r = tenant.post(Q, {"prompt": "y" * 250_000, "model": "gpt-4o"})
    _error(r, 413)


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer nope"},
    {"Authorization": "Bearer vc_" + "g" * 32},
    {"Authorization": "Bearer vc_" + "0" * 32},
    {"Authorization": "Basic dmM6eA=="},
    {"X-API-Key": "vc_" + "1" * 31},
])
def test_bad_keys_are_401(tenant: Tenant, headers: dict) -> None:
    r = tenant.client.post(Q, json={"prompt": "hi", "model": "gpt-4o"}, headers=headers)
    assert _error(r, 401)["detail"] == "Invalid or missing API key"


def test_x_api_key_header_works_and_authorization_wins(tenant: Tenant) -> None:
    body = {"prompt": "hello there", "model": "gpt-4o"}
    ok = tenant.client.post("/v1/cache/lookup", json=body, headers={"X-API-Key": tenant.key})
    assert ok.status_code == 200
    both = tenant.client.post("/v1/cache/lookup", json=body, headers={
        "X-API-Key": tenant.key, "Authorization": "Bearer vc_" + "0" * 32})
    _error(both, 401)


def test_other_project_id_is_403(tenant: Tenant) -> None:
    r = tenant.post(Q, {"prompt": "hi", "model": "gpt-4o", "project_id": "someone-else"})
    assert _error(r, 403)["detail"] == "API key does not have permission to access this project"
    stats = tenant.get("/v1/cache/projects/someone-else/stats")
    _error(stats, 403)


def test_unknown_entry_is_404(tenant: Tenant) -> None:
    _error(tenant.delete("/v1/cache/entries/00000000-0000-0000-0000-000000000000"), 404)


def test_unknown_route_is_404_in_native_shape(tenant: Tenant) -> None:
    _error(tenant.get("/v1/cache/nope"), 404)


def test_non_text_content_is_422(tenant: Tenant) -> None:
    r = tenant.post(Q, {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}], "model": "gpt-4o"})
    _error(r, 422)


def test_revoked_key_is_refused_on_the_next_request(tenant: Tenant) -> None:
    key = tenant.new_key(name="short-lived")
    h = {"Authorization": f"Bearer {key}"}
    body = {"prompt": "hello", "model": "gpt-4o"}
    assert tenant.client.post("/v1/cache/lookup", json=body, headers=h).status_code == 200
    tenant.call(tenant.runtime.admin.revoke_key, key)
    _error(tenant.client.post("/v1/cache/lookup", json=body, headers=h), 401)
