"""The personal-data gate: what is detected, what is never stored, and how often benign
look-alikes are mistaken for personal data (the false-positive rate is printed)."""

from __future__ import annotations

import pytest
from conftest import Tenant, make_tenant

from vectorcache.security.pii import contains_pii, find_pii, luhn_ok, redact

CARDS = [
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
    "5500 0000 0000 0004", "5555555555554444", "2223003122003222",
    "3782 822463 10005", "378282246310005", "6011 1111 1111 1117", "3530111333300000",
    "4222222222222", "6304000000000000", "4000 0566 5566 5556",
]
SSNS = ["123-45-6789", "078-05-1120", "219 09 9999", "SSN: 123456789",
        "social security number 536-22-1874"]
EMAILS = ["jane.doe@example.com", "x+tag@sub.example.co.uk", "ADMIN@EXAMPLE.ORG"]
PHONES = ["(415) 555-2671", "415-555-2671", "415.555.2671", "+1 415 555 2671",
          "+44 20 7946 0958", "+49 30 901820", "020 7946 0958", "07700 900123",
          "call me at 4155552671", "+33 1 23 45 67 89", "1-800-555-0199", "(212) 555 0123"]

LOOK_ALIKES = [
    "Order #A-12345-678 shipped", "order 4829104829 is delayed", "Invoice INV-2023-000123",
    "2024-01-15T12:30:45Z", "2024-01-15 12:30:45", "timestamp 1705320645",
    "ISBN 978-0-306-40615-7", "ISBN 0-306-40615-2", "9780306406157",
    "version 3.11.4", "v1.12.3-rc.1", "upgrade from 10.2.1 to 10.3.0",
    "price $1,299.99", "€ 49.90 per month", "costs 1299.99 USD",
    "192.168.1.10", "10.0.0.255:8080", "2001:db8::1", "550e8400-e29b-41d4-a716-446655440000",
    "sha256 9f86d081884c7d659a2feaa0c55ad015", "tracking 1Z999AA10123456784",
    "zip code 94103-1234", "12/31/2023", "37.7749, -122.4194", "Room 404, floor 12",
    "4111 1111 1111 1112", "1234 5678 9012 3456", "000-12-3456", "666-12-3456",
    "912-34-5678", "123-00-4567", "123-45-0000", "pi is 3.141592653589793",
    "the year 1984 and 2001", "error code 0x80070005", "PO box 12345",
    "call stack depth 1024", "user@localhost", "a @ b", "30 * 24 * 3600 = 2592000",
    "port 65535", "matrix 1920x1080", "ticket JIRA-12345", "lat 48.8566 lon 2.3522",
    "account balance 1,234,567.89", "build 20240115.3", "step 1-2-3",
    "ratio 16:9", "SKU 100-200-3000", "part no. 100-555-2671", "route 123.456.7890",
]


@pytest.mark.parametrize("card", CARDS)
def test_luhn_valid_cards_are_found_in_any_format(card: str) -> None:
    assert luhn_ok("".join(c for c in card if c.isdigit()))
    assert "card" in [f.kind for f in find_pii(f"my card is {card}, thanks")]
    assert card not in redact(f"pay with {card} today")


@pytest.mark.parametrize("text", SSNS + EMAILS + PHONES)
def test_ssns_emails_and_phones_are_found(text: str) -> None:
    assert contains_pii(f"please note: {text}."), text


def test_look_alike_false_positive_rate_is_measured_and_bounded(
        capsys: pytest.CaptureFixture[str]) -> None:
    flagged = [(t, [f.kind for f in find_pii(t)]) for t in LOOK_ALIKES if find_pii(t)]
    rate = len(flagged) / len(LOOK_ALIKES)
    report = (f"PII false-positive rate on {len(LOOK_ALIKES)} benign look-alikes: "
              f"{rate:.1%} ({len(flagged)} flagged: {flagged})")
    with capsys.disabled():  # shown with or without -s
        print("\n" + report)
    assert rate <= 0.10, report


def _entries(t: Tenant) -> int:
    return int(t.call(t.runtime.store.count_entries, t.project.id))


def _db_text(t: Tenant) -> bytes:
    path = t.runtime.store.path
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "5555-5555-5555-4444",
                                  "378282246310005"])
def test_prompts_with_cards_are_answered_but_never_looked_up_or_stored(
        app_client, provider, card: str) -> None:
    t = make_tenant(app_client, provider, decision_mode="static")
    q = {"prompt": f"Is my card {card} still valid?", "model": "gpt-4o"}
    for _ in range(2):
        resp = t.post("/v1/cache/query", q)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["cache_hit"] is False and body["cache_bypassed"] == "pii"
        assert card in body["response"]  # answered all the same
    assert t.post("/v1/cache/lookup", q).json()["cache_bypassed"] == "pii"
    assert _entries(t) == 0
    stored = t.post("/v1/cache/store", {**q, "response": "ok"})
    assert stored.status_code == 422 and stored.json()["code"] == "personal_data"
    assert _entries(t) == 0


def test_ssn_in_the_answer_is_not_stored(app_client, provider) -> None:
    t = make_tenant(app_client, provider, decision_mode="static")
    # the fake provider echoes the prompt without its [[x]] marker: only the answer has an SSN
    q = {"prompt": "Repeat 123-45[[x]]-6789 back to me", "model": "gpt-4o"}
    body = t.post("/v1/cache/query", q).json()
    assert "123-45-6789" in body["response"] and body["cache_bypassed"] == "pii"
    assert _entries(t) == 0
    ok = t.post("/v1/cache/store", {"prompt": "What is my SSN?", "model": "gpt-4o",
                                    "response": "It is 219 09 9999."})
    assert ok.status_code == 422 and _entries(t) == 0


def test_redact_policy_stores_and_matches_the_redacted_form(app_client, provider) -> None:
    t = make_tenant(app_client, provider, decision_mode="static", pii_policy="redact")
    first = t.post("/v1/cache/query", {"prompt": "Email jane.doe@example.com the invoice",
                                       "model": "gpt-4o", "user": "u-redact"}).json()
    assert first["cache_hit"] is False and "cache_bypassed" not in first
    assert "jane.doe@example.com" in first["response"]  # the provider saw the real prompt
    exported = t.get("/v1/cache/users/u-redact/export").json()["entries"]
    assert len(exported) == 1
    assert exported[0]["prompt"] == "Email [EMAIL] the invoice"
    assert "jane.doe" not in str(exported)
    again = t.post("/v1/cache/query", {"prompt": "Email bob@example.org the invoice",
                                       "model": "gpt-4o", "user": "u-redact"}).json()
    assert again["cache_hit"] is True and "bob@" not in again["response"]
    # a redacted entry is its user's only (issue 22: never served across users)
    other = t.post("/v1/cache/query", {"prompt": "Email bob@example.org the invoice",
                                       "model": "gpt-4o", "user": "u-other"}).json()
    assert other["cache_hit"] is False


def test_personal_data_in_metadata_is_screened_like_the_prompt(app_client, provider) -> None:
    t = make_tenant(app_client, provider, decision_mode="static")
    meta = {"ticket": "T-1", "contact": {"email": "jane.doe@example.com"}}
    body = t.post("/v1/cache/query", {"prompt": "How do tides work?", "model": "gpt-4o",
                                      "metadata": meta}).json()
    assert body["cache_bypassed"] == "pii" and _entries(t) == 0  # answered, not stored
    refused = t.post("/v1/cache/store", {"prompt": "How do tides work?", "model": "gpt-4o",
                                         "response": "The moon.", "metadata": meta})
    assert refused.status_code == 422 and "metadata" in refused.json()["detail"]

    r = make_tenant(app_client, provider, decision_mode="static", pii_policy="redact")
    r.post("/v1/cache/store", {"prompt": "How do tides work?", "model": "gpt-4o",
                               "response": "The moon.", "metadata": meta, "user": "u-meta"})
    exported = r.get("/v1/cache/users/u-meta/export").json()["entries"]
    assert exported[0]["metadata"] == {"ticket": "T-1", "contact": {"email": "[EMAIL]"}}


def test_the_gate_is_inside_the_cache_service(tenant: Tenant) -> None:
    """What the gateway builds on (plan / lookup_plan / store_answer) is gated too."""
    from vectorcache.models import Usage

    cache = tenant.runtime.cache
    principal = tenant.runtime.admin.principal_for(tenant.project)
    plan = cache.plan(principal, prompt=None, model="gpt-4o", context=None, params={},
                      threshold=None, messages=[{"role": "user",
                                                 "content": "card 4111-1111-1111-1111"}])
    assert plan.pii_bypass
    assert tenant.call(cache.lookup_plan, plan).bypass == "pii"
    stored = tenant.call(lambda: cache.store_answer(
        principal, plan, response="fine", usage=Usage(), provider=None, user=None,
        metadata=None, context=None, ttl_seconds=None))
    assert stored is None and _entries(tenant) == 0
