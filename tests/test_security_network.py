"""Client IPs, allow-lists, rate limits and quotas, and the X-RateLimit-* headers.

Requests come from chosen socket peers through httpx's ASGI transport, on the running app's
own event loop, so that concurrent requests really are concurrent.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import Tenant, make_tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.security.client_ip import parse_ip, parse_networks, resolve_client_ip

STATS = "/v1/cache/projects/{}/stats"


def send(client: TestClient, method: str, path: str, *, peer: str = "testclient",
         headers: dict[str, str] | None = None, json: Any = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.request(method, path, headers=headers, json=json)

    return client.portal.call(go)  # type: ignore[union-attr]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def code_of(resp: httpx.Response) -> str | None:
    return resp.json().get("code")


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, encoder) -> Iterator[TestClient]:
    """An app behind trusted proxies 10.9.0.0/16 and fd00::/8, with a per-IP limit of 5."""
    settings = settings_for(tmp_path_factory.mktemp("proxied"),
                            trusted_proxies=["10.9.0.0/16", "fd00::/8"],
                            ip_rate_limit_per_minute=5)
    with TestClient(create_app(settings, encoder=encoder)) as client:
        yield client


def test_resolve_client_ip_reads_forwarded_for_right_to_left_skipping_trusted_only() -> None:
    trusted = parse_networks(["10.9.0.0/16", "fd00::/8"])
    ip = ipaddress.ip_address
    assert resolve_client_ip("203.0.113.5", ["1.2.3.4"], trusted) == ip("203.0.113.5")
    assert resolve_client_ip("10.9.0.1", ["1.2.3.4"], trusted) == ip("1.2.3.4")
    assert resolve_client_ip("10.9.0.1", ["6.6.6.6, 1.2.3.4, 10.9.0.2"], trusted) \
        == ip("1.2.3.4")  # the spoofed leftmost entry is never reached
    assert resolve_client_ip("10.9.0.1", ["6.6.6.6", "1.2.3.4"], trusted) == ip("1.2.3.4")
    assert resolve_client_ip("fd00::1", ["2001:db8::7"], trusted) == ip("2001:db8::7")
    assert resolve_client_ip("10.9.0.1", ["garbage"], trusted) == ip("10.9.0.1")
    assert resolve_client_ip("10.9.0.1", [], trusted) == ip("10.9.0.1")
    assert resolve_client_ip("testclient", ["1.2.3.4"], trusted) is None
    assert parse_ip("::ffff:192.0.2.1") == ip("192.0.2.1")
    assert parse_ip("[2001:db8::1]:443") == ip("2001:db8::1")


def test_ip_allow_list_uses_the_socket_peer_and_ignores_spoofed_headers(
        app_client: TestClient, provider) -> None:
    t = make_tenant(app_client, provider)
    key = bearer(t.new_key(allowed_ips=("192.0.2.0/24", "2001:db8::/32")))
    path = STATS.format(t.project.id)
    assert send(app_client, "GET", path, peer="192.0.2.10", headers=key).status_code == 200
    assert send(app_client, "GET", path, peer="2001:db8::5", headers=key).status_code == 200
    assert send(app_client, "GET", path, peer="::ffff:192.0.2.11",
                headers=key).status_code == 200  # IPv4-mapped IPv6 is the IPv4 address
    for peer in ("198.51.100.7", "2001:db9::1", "testclient"):
        resp = send(app_client, "GET", path, peer=peer, headers=key)
        assert resp.status_code == 403 and code_of(resp) == "ip_not_allowed", (peer, resp.text)
    # a header from an untrusted peer changes nothing
    spoofed = send(app_client, "GET", path, peer="198.51.100.7",
                   headers={**key, "X-Forwarded-For": "192.0.2.10"})
    assert spoofed.status_code == 403 and code_of(spoofed) == "ip_not_allowed"
    assert set(spoofed.json()) == {"detail", "code"}


def test_forwarded_for_from_a_trusted_proxy_is_used(proxied: TestClient, provider) -> None:
    t = make_tenant(proxied, provider)
    key = bearer(t.new_key(allowed_ips=("192.0.2.0/24",)))
    path = STATS.format(t.project.id)
    ok = send(proxied, "GET", path, peer="10.9.1.1",
              headers={**key, "X-Forwarded-For": "198.51.100.1, 192.0.2.10"})
    assert ok.status_code == 200, ok.text
    ok6 = send(proxied, "GET", path, peer="fd00::2",
               headers={**key, "X-Forwarded-For": "192.0.2.11, 10.9.3.3"})
    assert ok6.status_code == 200, ok6.text
    outside = send(proxied, "GET", path, peer="10.9.1.1",
                   headers={**key, "X-Forwarded-For": "192.0.2.10, 198.51.100.1"})
    assert outside.status_code == 403 and code_of(outside) == "ip_not_allowed"


def test_per_ip_limit_counts_the_forwarded_client(proxied: TestClient, provider) -> None:
    t = make_tenant(proxied, provider)
    path = STATS.format(t.project.id)
    headers = {**bearer(t.key), "X-Forwarded-For": "203.0.113.77"}
    codes = [send(proxied, "GET", path, peer="10.9.0.9", headers=headers).status_code
             for _ in range(6)]
    assert codes == [200] * 5 + [429]
    # a different client behind the same proxy has its own allowance
    other = send(proxied, "GET", path, peer="10.9.0.9",
                 headers={**bearer(t.key), "X-Forwarded-For": "203.0.113.78"})
    assert other.status_code == 200
    # and bad keys are slowed by the same per-IP limit
    for _ in range(5):
        send(proxied, "GET", path, peer="198.51.100.99", headers=bearer("vc_" + "0" * 32))
    flood = send(proxied, "GET", path, peer="198.51.100.99", headers=bearer("vc_" + "0" * 32))
    assert flood.status_code == 429


def test_fifty_concurrent_requests_against_a_limit_of_ten_admit_exactly_ten(
        app_client: TestClient, provider) -> None:
    t = make_tenant(app_client, provider)
    key = bearer(t.new_key(rate_limit_per_minute=10))
    path = STATS.format(t.project.id)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app_client.app, client=("testclient", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return list(await asyncio.gather(*(http.get(path, headers=key)
                                               for _ in range(50))))

    responses = app_client.portal.call(burst)  # type: ignore[union-attr]
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10 and statuses.count(429) == 40, statuses
    for r in responses:
        assert r.headers["X-RateLimit-Limit"] == "10"
        assert int(r.headers["X-RateLimit-Reset"]) > 1_600_000_000
    limited = next(r for r in responses if r.status_code == 429)
    body = limited.json()
    assert set(body) == {"detail", "code", "retry_after"} and body["code"] == "rate_limit_exceeded"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60 and body["retry_after"] >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_rate_limit_headers_on_every_authenticated_response(tenant: Tenant) -> None:
    key = bearer(tenant.new_key(rate_limit_per_minute=100, scopes=("cache:read",)))
    path = STATS.format(tenant.project.id)
    seen = [
        tenant.client.get("/v1/cache/users/u1/export", headers=key),   # 200
        tenant.client.get(path, headers=key),                          # 403 scope
        tenant.client.post("/v1/cache/lookup", json={}, headers=key),  # 400
        tenant.client.get("/v1/models", headers=key),                  # gateway route
    ]
    remaining = []
    for resp in seen:
        assert resp.headers.get("X-RateLimit-Limit") == "100", (resp.status_code, resp.text)
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert [r.status_code for r in seen[:3]] == [200, 403, 400]
    assert remaining == sorted(remaining, reverse=True) and remaining[0] == 99
    default = tenant.get(path)  # a key with no limit of its own gets the default
    assert int(default.headers["X-RateLimit-Limit"]) == 60_000


def test_quota_per_key(tenant: Tenant) -> None:
    key = bearer(tenant.new_key(quota_requests=3, quota_period="day"))
    path = STATS.format(tenant.project.id)
    statuses = [tenant.client.get(path, headers=key) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["code"] == "quota_exceeded"
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 86400
    assert statuses[1].headers["X-RateLimit-Limit"] == "3"
    assert statuses[1].headers["X-RateLimit-Remaining"] == "1"


def test_request_validation_never_500(tenant: Tenant) -> None:
    q = "/v1/cache/query"
    assert tenant.post(q, {"prompt": "x" * 32_001, "model": "gpt-4o"}).status_code == 400
    assert tenant.client.post(q, content=b"{" + b" " * 300_000 + b"}",
                              headers=tenant.headers).status_code == 413
    assert tenant.client.post(q, content=b"{not json", headers=tenant.headers).status_code == 400
    t2 = make_tenant(tenant.client, tenant.provider, allowed_models=["gpt-4o-mini"])
    resp = t2.post(q, {"prompt": "hello there", "model": "gpt-4o"})
    assert resp.status_code == 403 and resp.json()["code"] == "model_access_denied"
