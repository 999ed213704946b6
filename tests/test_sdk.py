"""The Python client (``vectorcache_client``, built from ``clients/python``) against a real
server, plus its retry policy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import vectorcache_client as vcc
from served import Served, serve

from vectorcache.testing import FakeProvider


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           provider: FakeProvider) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("sdk"), provider.api_key or "", provider.base_url) as s:
        yield s


@pytest.fixture
def vc(served: Served) -> Iterator[vcc.VectorcacheClient]:
    with vcc.VectorcacheClient(api_key=served.key, base_url=served.base,
                               project_id="default", max_retries=0) as c:
        yield c


def test_sdk_imports_nothing_from_the_server() -> None:
    code = ("import sys, vectorcache_client; "
            "print(sorted(m for m in sys.modules if m.startswith('vectorcache')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = json.loads(out.replace("'", '"'))
    assert all(m.split(".")[0] == "vectorcache_client" for m in loaded), loaded


def test_the_old_import_path_is_the_same_client() -> None:
    """``vectorcache.client`` re-exports the client, with the error names it had before."""
    from vectorcache import client as old

    assert old.VectorcacheClient is vcc.VectorcacheClient
    assert old.VectorcacheError is vcc.VectorcacheClientError
    assert old.TimeoutError is vcc.RequestTimeout
    assert old.ConfigurationError is vcc.ClientConfigurationError
    assert set(vcc.__all__) <= set(old.__all__)


def test_each_method(vc: vcc.VectorcacheClient) -> None:
    assert vc.health().status == "healthy"
    miss = vc.query("What is the tallest mountain on Earth?", model="gpt-4o")
    assert isinstance(miss, vcc.QueryResult) and not miss.cache_hit and miss.response
    hit = vc.lookup("What's the tallest mountain on Earth?", model="gpt-4o")
    assert hit.cache_hit and hit.response == miss.response and hit.similarity_score
    report = vc.feedback(hit.cache_entry_id, "What's the tallest mountain on Earth?",
                         correct=False)
    assert isinstance(report, vcc.FeedbackResult) and not report.deleted
    assert report.min_similarity is not None and report.min_similarity > hit.similarity_score
    assert not vc.lookup("What's the tallest mountain on Earth?", model="gpt-4o").cache_hit
    stored = vc.store("Who wrote Hamlet?", "Shakespeare.", model="gpt-4o",
                      metadata={"source": "sdk"})
    assert stored.cache_entry_id
    similar = vc.similar("who is the author of hamlet", model="gpt-4o")
    assert similar.similar_entries[0].original_query == "Who wrote Hamlet?"
    assert similar.total_found == len(similar.similar_entries)
    stats = vc.stats()
    assert isinstance(stats, vcc.ProjectStats) and stats.total_entries >= 2
    cleared = vc.clear()
    assert cleared.entries_cleared >= 2
    assert not vc.lookup("Who wrote Hamlet?", model="gpt-4o").cache_hit


def test_async_client(served: Served) -> None:
    async def main() -> None:
        async with vcc.AsyncVectorcacheClient(api_key=served.key, base_url=served.base,
                                              max_retries=0) as c:
            first = await c.query("How far is the Moon from Earth?", model="gpt-4o")
            second = await c.query("How far is the Moon from Earth?", model="gpt-4o")
            assert not first.cache_hit and second.cache_hit
            with pytest.raises(vcc.ClientConfigurationError):
                await c.stats()  # no project given anywhere

    asyncio.run(main())


def test_error_types(served: Served, vc: vcc.VectorcacheClient) -> None:
    with vcc.VectorcacheClient(api_key="vc_" + "0" * 32, base_url=served.base,
                               max_retries=0) as bad, \
            pytest.raises(vcc.AuthenticationError) as auth:
        bad.lookup("hello", model="gpt-4o")
    assert auth.value.status == 401 and auth.value.code == "invalid_api_key"
    with pytest.raises(vcc.PermissionDeniedError):
        vc.stats(project_id="someone-else")
    with pytest.raises(vcc.ValidationError) as invalid:
        vc.lookup("hello", model="gpt-4o", similarity_threshold=2)
    assert "similarity_threshold" in invalid.value.message
    with pytest.raises(vcc.ServerError) as upstream:
        vc.query("break [[status:503]]", model="gpt-4o")
    assert upstream.value.status == 502
    with vcc.VectorcacheClient(api_key=served.key, base_url="http://127.0.0.1:9",
                               max_retries=0) as down, pytest.raises(vcc.APIConnectionError):
        down.health()
    for error in (vcc.AuthenticationError, vcc.RateLimitError, vcc.RequestTimeout,
                  vcc.ClientConfigurationError):
        assert issubclass(error, vcc.VectorcacheClientError)


def test_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORCACHE_API_KEY", "vc_" + "1" * 32)
    monkeypatch.setenv("VECTORCACHE_BASE_URL", "https://cache.example.com/v1")
    c = vcc.VectorcacheClient()
    assert c.base_url == "https://cache.example.com" and "vc_" not in repr(c)
    with pytest.raises(vcc.ClientConfigurationError, match="plain http"):
        vcc.VectorcacheClient(base_url="http://cache.example.com")
    assert vcc.VectorcacheClient(base_url="http://cache.example.com", allow_insecure_http=True)
    assert vcc.VectorcacheClient(base_url="http://localhost:8000")
    monkeypatch.delenv("VECTORCACHE_API_KEY")
    with pytest.raises(vcc.ClientConfigurationError, match="VECTORCACHE_API_KEY"):
        vcc.VectorcacheClient()


def _flaky(statuses: list[int], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses[len(seen) - 1] if len(seen) <= len(statuses) else 200
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        if status == 200:
            return httpx.Response(200, json={"status": "healthy", "timestamp": "now"})
        return httpx.Response(status, headers={"Retry-After": "0"},
                              json={"detail": "busy", "code": "x", "retry_after": 0})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("statuses", [[503], [429, 502], [0, 500]])
def test_retries_then_success(statuses: list[int]) -> None:
    seen: list[httpx.Request] = []
    with vcc.VectorcacheClient(api_key="vc_x", max_retries=2, retry_backoff=0.001,
                               http_client=httpx.Client(transport=_flaky(statuses, seen))) as c:
        assert c.health().status == "healthy"
    assert len(seen) == len(statuses) + 1
    assert seen[0].headers["authorization"] == "Bearer vc_x"


def test_retries_give_up_with_the_typed_error() -> None:
    seen: list[httpx.Request] = []
    with vcc.VectorcacheClient(api_key="vc_x", max_retries=1, retry_backoff=0.001,
                               http_client=httpx.Client(
                                   transport=_flaky([429, 429, 429], seen))) as c, \
            pytest.raises(vcc.RateLimitError) as limited:
        c.health()
    assert len(seen) == 2 and limited.value.retry_after == 0
    seen.clear()
    with vcc.VectorcacheClient(api_key="vc_x", max_retries=3, retry_backoff=0.001,
                               http_client=httpx.Client(transport=_flaky([400], seen))) as c, \
            pytest.raises(vcc.ValidationError):
        c.health()
    assert len(seen) == 1  # a 400 is never retried


def test_async_retries() -> None:
    seen: list[httpx.Request] = []

    async def main() -> str:
        transport = _flaky([503, 0], seen)
        async with vcc.AsyncVectorcacheClient(
                api_key="vc_x", max_retries=2, retry_backoff=0.001,
                http_client=httpx.AsyncClient(transport=transport)) as c:
            return (await c.health()).status

    assert asyncio.run(main()) == "healthy" and len(seen) == 3
