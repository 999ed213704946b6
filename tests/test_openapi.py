"""The OpenAPI document tells the truth, and ``/docs`` works offline (issue 22, item 6)."""

from __future__ import annotations

import re
from typing import Any

from conftest import Tenant
from fastapi.testclient import TestClient


def _doc(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def _ref(op: dict[str, Any], status: str) -> str:
    return str(op["responses"][status]["content"]["application/json"]["schema"]["$ref"])


def test_openapi_lists_the_real_statuses_with_their_bodies(app_client: TestClient) -> None:
    paths = _doc(app_client)["paths"]
    query = paths["/v1/cache/query"]["post"]
    assert {"400", "401", "403", "413", "422", "429", "502", "503"} <= set(query["responses"])
    assert "422" in query["responses"] and _ref(query, "400").endswith("/Error")
    stats = paths["/v1/cache/projects/{project_id}/stats"]["get"]
    assert {"401", "403", "404", "429", "503"} <= set(stats["responses"])
    chat = paths["/v1/chat/completions"]["post"]
    assert _ref(chat, "401").endswith("/GatewayError") and "502" in chat["responses"]
    assert "Retry-After" in query["responses"]["429"]["headers"]
    for path, operations in paths.items():
        for method, op in operations.items():
            assert any(s.startswith("2") for s in op["responses"]), (method, path)
            if "security" in op:  # bad input is a documented 400, never FastAPI's 422
                assert "400" in op["responses"], (method, path)
                assert "422" not in op["responses"] or _ref(op, "422").endswith("Error")


def test_openapi_marks_required_fields(app_client: TestClient) -> None:
    schemas = _doc(app_client)["components"]["schemas"]
    assert {"required": ["query"]} in schemas["QueryBody"]["anyOf"]
    assert "response" in schemas["StoreBody"]["required"]
    assert set(schemas["ChatCompletionRequest"]["required"]) == {"model", "messages"}
    assert {"cache_hit", "response", "query_id"} <= set(schemas["QueryResponse"]["required"])
    assert "avg_similarity_score" in schemas["StatsResponse"]["required"]
    assert schemas["WorkflowStep"]["properties"]["id"]["type"] == "integer"


def test_openapi_types_the_gateway_bodies(app_client: TestClient) -> None:
    chat = _doc(app_client)["paths"]["/v1/chat/completions"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChatCompletionRequest"}
    assert _ref(chat, "200") == "#/components/schemas/ChatCompletion"
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    embeddings = _doc(app_client)["paths"]["/v1/embeddings"]["post"]
    assert _ref(embeddings, "200") == "#/components/schemas/EmbeddingList"


def test_openapi_declares_the_bearer_and_api_key_schemes(app_client: TestClient) -> None:
    doc = _doc(app_client)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header",
                                 "name": "X-API-Key"}
    query = doc["paths"]["/v1/cache/query"]["post"]
    assert query["security"] == [{"bearer": ["cache:read"]}, {"apiKey": ["cache:read"]}]
    assert "security" not in doc["paths"]["/health"]["get"]


def test_docs_load_offline_from_the_apps_own_assets(app_client: TestClient) -> None:
    page = app_client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text, re.I), page.text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(assets) >= 3, page.text
    for url in assets:
        asset = app_client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert '"validatorUrl": null' in page.text  # no badge fetched from validator.swagger.io
    redirect = app_client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "//" not in re.sub(r"//.*", "", redirect.text)


def test_405_carries_allow(tenant: Tenant) -> None:
    response = tenant.client.delete("/v1/cache/query", headers=tenant.headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"
    gateway = tenant.client.put("/v1/chat/completions", headers=tenant.headers)
    assert gateway.status_code == 405 and gateway.headers["Allow"] == "POST"
    assert gateway.json()["error"]["code"] == "method_not_allowed"


def test_405_allow_names_every_method_of_the_path(tenant: Tenant) -> None:
    """Starlette named only the first route's method: ``GET`` for a path that takes PATCH."""
    response = tenant.client.delete(f"/v1/cache/projects/{tenant.project.id}",
                                    headers=tenant.headers)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PATCH"}


def test_a_non_latin_1_model_name_is_no_server_error(tenant: Tenant) -> None:
    """Found by Schemathesis: the model name, echoed in ``X-Vectorcache-Model``, could not be
    encoded as a header (a 500)."""
    response = tenant.post("/v1/chat/completions", {
        "model": "gpt-\U0003ab23\u00e9", "messages": [{"role": "user", "content": "Hi there"}]})
    assert response.status_code < 500, response.text
    if "X-Vectorcache-Model" in response.headers:
        assert response.headers["X-Vectorcache-Model"] == "gpt-%F0%BA%AC%A3%C3%A9"


def test_405_allow_matches_the_document_where_a_path_parameter_could_swallow_it(
        tenant: Tenant) -> None:
    """Found by Schemathesis: ``/v1/cache/users/{user}/export`` answered ``Allow: DELETE, GET``
    (``DELETE /v1/cache/users/{user:path}`` reads "alice/export" as a user id); the document
    names GET."""
    response = tenant.client.put("/v1/cache/users/alice/export", headers=tenant.headers)
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
