"""The Vectorcache TypeScript SDK, used unchanged, against the real ``vectorcache serve``: each
test sends exactly what one SDK method sends (path, method, headers, field names; see
``js_sdk_types``) and checks every field of the answer against the type the SDK declares."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from js_sdk_types import (
    CACHE_STATS_RESPONSE,
    CACHE_TEST_RESPONSE,
    CLEAR_CACHE_RESPONSE,
    HEALTH_RESPONSE,
    SEMANTIC_QUERY_RESPONSE,
    SIMILAR_QUERIES_RESPONSE,
    error_class,
    sdk_headers,
    similar_path,
    violations,
)
from served import Served, serve

from vectorcache.testing import FakeProvider

SCHEMES = ["bearer", "x-api-key"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           provider: FakeProvider) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("js-sdk") / "data", provider.api_key or "",
               provider.base_url) as server:
        server.env.update(OPENAI_API_KEY=provider.api_key or "", OPENAI_BASE_URL=provider.base_url)
        yield server


class Sdk:
    """What ``new VectorcacheClient({apiKey, baseUrl})`` puts on the wire, method by method."""

    def __init__(self, served: Served, key: str, scheme: str = "bearer") -> None:
        self.base = served.base
        self.headers = sdk_headers(key, scheme)

    def _send(self, method: str, endpoint: str, body: Any = None) -> httpx.Response:
        content = None if body is None else json.dumps(body)  # ...(body && {body: ...})
        return httpx.request(method, self.base + endpoint, headers=self.headers,
                             content=content, timeout=30)

    def query(self, request: dict[str, Any]) -> httpx.Response:
        return self._send("POST", "/v1/cache/query", request)

    def test_cache(self, request: dict[str, Any]) -> httpx.Response:
        return self._send("POST", "/v1/cache/test", request)

    def get_cache_stats(self, project_id: str) -> httpx.Response:
        return self._send("GET", f"/v1/cache/projects/{project_id}/stats")

    def clear_cache(self, request: dict[str, Any]) -> httpx.Response:
        return self._send("POST", "/v1/cache/clear", request)

    def find_similar_queries(self, query: str, project_id: str) -> httpx.Response:
        return self._send("GET", similar_path(project_id, query))

    def health(self) -> httpx.Response:
        return self._send("GET", "/health")


def _new_project(served: Served, *options: str) -> tuple[str, str]:
    """A new project calling the loopback provider (no default model unless given)."""
    name = f"js-{uuid.uuid4().hex[:8]}"
    project = json.loads(served.cli("projects", "create", name, *options, "--json"))
    served.cli("providers", "set", "--project", name, "--base-url",
               served.env["OPENAI_BASE_URL"], input=served.env["OPENAI_API_KEY"])
    return name, project["id"]


def _project(served: Served, *options: str) -> tuple[str, str]:
    """A new project and a full-scope key for it."""
    name, project_id = _new_project(served, *options)
    return project_id, served.new_key(project=name)


def _ok(response: httpx.Response, spec: dict[str, Any]) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert violations(body, spec) == [], body
    return body


@pytest.mark.parametrize("scheme", SCHEMES)
def test_query_answers_typed_as_the_sdk_declares(served: Served, scheme: str) -> None:
    _, key = _project(served)
    sdk = Sdk(served, key, scheme)
    miss = _ok(sdk.query({"query": f"What is machine learning, {scheme}?",
                          "context": "AI tutorial", "model": "gpt-4", "max_tokens": 150,
                          "temperature": 0.7, "metadata": {"userId": "123"}}),
               SEMANTIC_QUERY_RESPONSE)
    assert miss["is_cache_hit"] is False and miss["response"]
    hit = _ok(sdk.query({"query": f"What is machine learning, {scheme}?",
                         "context": "AI tutorial", "model": "gpt-4", "max_tokens": 150,
                         "temperature": 0.7}), SEMANTIC_QUERY_RESPONSE)
    assert hit["is_cache_hit"] is True and isinstance(hit["similarity_score"], float)
    assert hit["cache_entry_id"] == miss["cache_entry_id"]


def test_query_cache_entry_id_absent_not_null_when_nothing_was_stored(served: Served) -> None:
    """A read-only key is answered but stores nothing: ``cache_entry_id`` (typed optional
    string) was null."""
    name, _ = _new_project(served)
    reader = served.new_key("--scopes", "cache:read", project=name)
    body = _ok(Sdk(served, reader).query({"query": "Name a prime number.", "model": "gpt-4"}),
               SEMANTIC_QUERY_RESPONSE)
    assert "cache_entry_id" not in body


@pytest.mark.parametrize("scheme", SCHEMES)
def test_find_similar_queries_without_a_model(served: Served, scheme: str) -> None:
    """The SDK cannot send a model: the listing spans the project's models (was a 400
    "Field required: model")."""
    project_id, key = _project(served)
    sdk = Sdk(served, key, scheme)
    for model, prompt in (("gpt-4", "What is artificial intelligence?"),
                          ("gpt-3.5-turbo", "Explain artificial intelligence simply"),
                          ("gpt-4", "How do I bake sourdough bread?")):
        assert sdk.query({"query": prompt, "model": model}).status_code == 200
    body = _ok(sdk.find_similar_queries("What is AI & why? (100%)", project_id),
               SIMILAR_QUERIES_RESPONSE)
    assert body["query"] == "What is AI & why? (100%)" and body["total_found"] == 3
    top = [e["original_query"] for e in body["similar_entries"][:2]]
    assert set(top) == {"What is artificial intelligence?",
                        "Explain artificial intelligence simply"}
    scores = [e["similarity"] for e in body["similar_entries"]]
    assert scores == sorted(scores, reverse=True)


def test_find_similar_queries_never_crosses_projects(served: Served) -> None:
    project_a, key_a = _project(served)
    _, key_b = _project(served)
    Sdk(served, key_b).query({"query": "What is the tallest mountain?", "model": "gpt-4"})
    body = _ok(Sdk(served, key_a).find_similar_queries("tallest mountain", project_a),
               SIMILAR_QUERIES_RESPONSE)
    assert body["total_found"] == 0 and body["similar_entries"] == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_test_cache_workflow_steps_typed_as_the_sdk_declares(served: Served,
                                                             scheme: str) -> None:
    """Step ids were strings and statuses "completed"; a miss's ``response`` was null."""
    project_id, key = _project(served, "--default-model", "gpt-4")
    sdk = Sdk(served, key, scheme)
    miss = _ok(sdk.test_cache({"project_id": project_id, "prompt": "What is AI?",
                               "similarity_threshold": 0.8, "include_debug": True}),
               CACHE_TEST_RESPONSE)
    assert miss["cache_hit"] is False and miss["response"] == ""
    assert "similarity_score" not in miss and "cache_entry_id" not in miss
    steps = miss["workflow_steps"]
    assert [s["id"] for s in steps] == list(range(1, len(steps) + 1))
    assert steps[-1]["status"] == "skipped"
    sdk.query({"query": "What is AI?"})
    hit = _ok(sdk.test_cache({"project_id": project_id, "prompt": "What is AI?",
                              "model": "gpt-4"}), CACHE_TEST_RESPONSE)
    assert hit["cache_hit"] is True and hit["response"] and hit["cache_entry_id"]
    assert hit["similarity_score"] == 1.0 and len(hit["similar_entries"]) == 1
    assert {s["status"] for s in hit["workflow_steps"]} == {"success"}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_cache_stats_average_similarity_is_a_number(served: Served, scheme: str) -> None:
    """``avg_similarity_score: number`` was null until the project served a hit."""
    project_id, key = _project(served)
    sdk = Sdk(served, key, scheme)
    fresh = _ok(sdk.get_cache_stats(project_id), CACHE_STATS_RESPONSE)
    assert fresh["avg_similarity_score"] == 0 and fresh["total_entries"] == 0
    for _ in range(2):
        sdk.query({"query": "Who wrote Hamlet?", "model": "gpt-4"})
    served_hits = _ok(sdk.get_cache_stats(project_id), CACHE_STATS_RESPONSE)
    assert served_hits["total_entries"] == 1 and served_hits["project_id"] == project_id


@pytest.mark.parametrize("scheme", SCHEMES)
def test_clear_cache_typed_as_the_sdk_declares(served: Served, scheme: str) -> None:
    project_id, key = _project(served)
    sdk = Sdk(served, key, scheme)
    sdk.query({"query": "What is the boiling point of water?", "model": "gpt-4"})
    kept = _ok(sdk.clear_cache({"project_id": project_id, "expired_only": True,
                                "older_than_hours": 24}), CLEAR_CACHE_RESPONSE)
    assert kept["entries_cleared"] == 0
    cleared = _ok(sdk.clear_cache({}), CLEAR_CACHE_RESPONSE)
    assert cleared["entries_cleared"] == 1


def test_health_typed_as_the_sdk_declares(served: Served) -> None:
    body = _ok(Sdk(served, "unused").health(), HEALTH_RESPONSE)
    assert body["status"] == "healthy"


def _sdk_error(response: httpx.Response) -> tuple[str, str]:
    """The error class and message the SDK would throw for this response."""
    body = response.json()
    message = body.get("message") or body.get("detail") or response.reason_phrase
    return error_class(response.status_code), message


def test_errors_map_to_the_sdk_classes_with_readable_messages(served: Served) -> None:
    project_id, key = _project(served)
    sdk = Sdk(served, key)
    assert _sdk_error(sdk.query({"query": "", "model": "gpt-4"}))[0] == \
        "VectorcacheValidationError"
    cls, message = _sdk_error(Sdk(served, "vc_" + "0" * 32).get_cache_stats(project_id))
    assert (cls, message) == ("VectorcacheAuthenticationError", "Invalid or missing API key")
    other_id, _ = _project(served)
    denied = sdk.get_cache_stats(other_id)
    assert denied.status_code == 403 and denied.json()["code"]
    assert _sdk_error(denied) == ("VectorcacheAuthenticationError",
                                  "API key does not have permission to access this project")
    name, _ = _new_project(served)
    reader = Sdk(served, served.new_key("--scopes", "cache:read", project=name))
    cls, message = _sdk_error(reader.clear_cache({}))
    assert cls == "VectorcacheAuthenticationError" and "cache:write" in message
    limited = Sdk(served, served.new_key("--rate-limit", "1", project=name))
    limited.get_cache_stats("x")
    throttled = limited.find_similar_queries("anything", "x")
    assert throttled.status_code == 429
    assert _sdk_error(throttled)[0] == "VectorcacheRateLimitError"
    assert int(throttled.headers["Retry-After"]) >= 1


def test_contract_checker_catches_what_the_sdk_types_forbid() -> None:
    """The checker itself: null for an optional number, a string id, an unknown status."""
    assert violations({"cache_hit": False, "response": None, "response_time": 1,
                       "similar_entries": [], "similarity_score": None,
                       "workflow_steps": [{"id": "auth", "name": "x", "status": "completed",
                                           "icon": "key"}]}, CACHE_TEST_RESPONSE) == [
        "$.similarity_score: null, declared number",
        "$.response: null, declared string",
        "$.workflow_steps[0].id: 'auth' is not a number",
        "$.workflow_steps[0].status: 'completed' not in "
        "('pending', 'running', 'success', 'error', 'skipped')",
    ]
    assert violations({"project_id": "p", "total_entries": True}, {
        "total_entries": ("number", True)}) == ["$.total_entries: True is not a number"]

