"""Issue 22: on the OpenAI-compatible gateway, ``true`` is not a number either. Every number
and flag a chat or embeddings body may carry is parsed strictly and within OpenAI's ranges:
``temperature: true``, ``top_p: "1"``, ``max_tokens: true``, ``n: 1.5`` are a 400 in OpenAI's
error shape (the official client raises ``BadRequestError``) and never reach the provider."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from conftest import Tenant

CHAT = "/v1/chat/completions"

_BAD = [
    ("temperature", True), ("temperature", "1"), ("temperature", 2.5), ("temperature", -0.1),
    ("top_p", "1"), ("top_p", True), ("top_p", 1.5),
    ("max_tokens", True), ("max_tokens", 1.5), ("max_tokens", "10"), ("max_tokens", 0),
    ("max_tokens", 10**12),
    ("max_completion_tokens", False), ("max_completion_tokens", 8.0),
    ("n", 1.5), ("n", True), ("n", 0), ("n", "1"), ("n", 129),
    ("seed", True), ("seed", 1.5), ("seed", "42"),
    ("presence_penalty", True), ("presence_penalty", 3),
    ("frequency_penalty", "0"), ("frequency_penalty", -2.5),
    ("top_k", True), ("top_k", -1), ("top_k", 5.5),
    ("logprobs", "true"), ("logprobs", 1),
    ("top_logprobs", True), ("top_logprobs", 21),
    ("stream", "false"), ("stream", 1),
    ("stream_options", {"include_usage": "yes"}), ("stream_options", True),
    ("logit_bias", {"50256": True}), ("logit_bias", {"50256": 101}), ("logit_bias", [1, 2]),
]


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "What is the tallest mountain?"}],
            **extra}


def _gateway_400(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_request"
    return error


@pytest.mark.parametrize(("field", "value"), _BAD, ids=[f"{f}={v!r}" for f, v in _BAD])
def test_gateway_strict_sampling_types_are_400_and_never_sent(
        tenant: Tenant, field: str, value: Any) -> None:
    before = tenant.provider.calls
    error = _gateway_400(tenant.post(CHAT, _chat(**{field: value})))
    assert error["param"] == field or error["param"].startswith(field + "."), error
    assert field in error["message"], error
    assert tenant.provider.calls == before


def test_gateway_numbers_within_range_are_answered(tenant: Tenant) -> None:
    """Whole numbers where OpenAI takes real ones (``temperature: 0``, ``top_p: 1``) are
    numbers; every field at an edge of its range is accepted and answered."""
    body = _chat(temperature=0, top_p=1, presence_penalty=-2, frequency_penalty=2.0,
                 max_tokens=1, max_completion_tokens=1_000_000_000, n=1, seed=-(2**63),
                 logprobs=False, top_logprobs=0, stream=False,
                 stream_options=None, logit_bias={"50256": -100, "11": 100.0})
    response = tenant.post(CHAT, body)
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "chat.completion"


def test_the_official_client_raises_bad_request_for_a_boolean_temperature(
        tenant: Tenant) -> None:
    gpt = openai.OpenAI(api_key=tenant.key, base_url="http://testserver/v1", max_retries=0,
                        http_client=tenant.client)
    before = tenant.provider.calls
    with pytest.raises(openai.BadRequestError) as refused:
        gpt.chat.completions.create(model="gpt-4o-mini", temperature=True,  # type: ignore[arg-type]
                                    messages=[{"role": "user", "content": "hello"}])
    assert refused.value.status_code == 400 and refused.value.param == "temperature"  # type: ignore[attr-defined]
    assert tenant.provider.calls == before


@pytest.mark.parametrize("dimensions", [True, 384.0, "384", 0])
def test_embeddings_dimensions_must_be_a_whole_number(tenant: Tenant, dimensions: Any) -> None:
    error = _gateway_400(tenant.post("/v1/embeddings", {
        "model": "text-embedding-3-small", "input": "hello", "dimensions": dimensions}))
    assert error["param"] == "dimensions"
    ok = tenant.post("/v1/embeddings", {"model": "m", "input": "hello", "dimensions": 384})
    assert ok.status_code == 200, ok.text
