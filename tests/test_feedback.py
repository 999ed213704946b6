"""Wrong-answer reports (``POST /v1/cache/feedback``): real model, real SQLite, loopback
provider."""

from __future__ import annotations

import pytest
from conftest import Tenant

from vectorcache.service.feedback import floor_after_report

Q = "/v1/cache/query"
F = "/v1/cache/feedback"
MODEL = "gpt-4o"


def ask(tenant: Tenant, prompt: str) -> dict:
    res = tenant.post(Q, {"prompt": prompt, "model": MODEL, "include_debug": True})
    assert res.status_code == 200, res.text
    return res.json()


def test_a_wrong_hit_reported_is_not_served_again(tenant: Tenant) -> None:
    stored = ask(tenant, "What is the capital of France?")
    hit = ask(tenant, "What's the capital city of France?")
    assert hit["cache_hit"] and hit["cache_entry_id"] == stored["cache_entry_id"]

    res = tenant.post(F, {"prompt": "What's the capital city of France?",
                          "cache_entry_id": hit["cache_entry_id"], "correct": False})
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["deleted"] is False and out["correct"] is False
    assert out["similarity"] == pytest.approx(hit["similarity_score"], abs=1e-3)
    assert out["min_similarity"] == pytest.approx(floor_after_report(out["similarity"]))
    assert hit["similarity_score"] < out["min_similarity"] < 1.0

    calls = tenant.provider.calls
    again = ask(tenant, "What's the capital city of France?")
    assert again["cache_hit"] is False and tenant.provider.calls == calls + 1
    assert "reported wrong" in again["debug"]["decision_reason"]
    # the entry still answers its own prompt
    own = ask(tenant, "What is the capital of France?")
    assert own["cache_hit"] and own["cache_entry_id"] == stored["cache_entry_id"]

    audit = tenant.call(tenant.runtime.store.list_audit, project_id=tenant.project.id)
    report = next(a for a in audit if a.action == "cache.feedback")
    assert report.target == stored["cache_entry_id"] and report.details["correct"] is False
    assert "France" not in str(report.details)  # ids and figures, never the prompt


def test_a_wrong_hit_found_without_its_slip_is_not_served_again(tenant: Tenant) -> None:
    stored = ask(tenant, "Which vitamins should I take in the winter?")
    asked = "Which vitamins should I take in the wintr?"  # found only without the slip
    hit = ask(tenant, asked)
    assert hit["cache_hit"] and hit["debug"]["respelt"] is True
    out = tenant.post(F, {"prompt": asked, "cache_entry_id": stored["cache_entry_id"],
                          "correct": False}).json()
    # measured as near as the search that served it (the prompt as typed is far farther)
    assert out["similarity"] == pytest.approx(hit["similarity_score"], abs=1e-3)
    assert ask(tenant, asked)["cache_hit"] is False


def test_a_floor_is_only_ever_raised(tenant: Tenant) -> None:
    stored = ask(tenant, "What are good exercises for lower back pain?")
    first = tenant.post(F, {"prompt": "What are some good exercises for lower back pain?",
                            "cache_entry_id": stored["cache_entry_id"], "correct": False}).json()
    farther = tenant.post(F, {"prompt": "How do I treat back pain?",
                              "cache_entry_id": stored["cache_entry_id"],
                              "correct": False}).json()
    assert farther["similarity"] < first["similarity"]
    entry = tenant.call(tenant.runtime.store.get_entry, stored["cache_entry_id"])
    assert entry.min_similarity == pytest.approx(first["min_similarity"])
    assert entry.wrong_reports == 2
    # "it was right" is recorded and changes nothing
    right = tenant.post(F, {"prompt": "What are some good exercises for lower back pain?",
                            "cache_entry_id": stored["cache_entry_id"], "correct": True}).json()
    assert right["min_similarity"] is None and right["deleted"] is False
    entry = tenant.call(tenant.runtime.store.get_entry, stored["cache_entry_id"])
    assert entry.min_similarity == pytest.approx(first["min_similarity"])


def test_an_answer_wrong_for_its_own_prompt_is_deleted(tenant: Tenant) -> None:
    stored = ask(tenant, "Name the largest planet in the solar system")
    res = tenant.post(F, {"prompt": "name the largest planet in the solar system",
                          "cache_entry_id": stored["cache_entry_id"], "correct": False})
    assert res.status_code == 200 and res.json()["deleted"] is True
    assert tenant.call(tenant.runtime.store.get_entry, stored["cache_entry_id"]) is None
    calls = tenant.provider.calls
    fresh = ask(tenant, "Name the largest planet in the solar system")
    assert fresh["cache_hit"] is False and tenant.provider.calls == calls + 1


def test_a_wrong_exact_hit_without_its_question_mark_is_deleted(tenant: Tenant) -> None:
    # the exact-match path serves it (cosine only 0.90), so a raised floor would not stop it
    stored = ask(tenant, "What is the boiling point of ethanol?")
    hit = ask(tenant, "what is the boiling point of ethanol")
    assert hit["debug"]["exact_match"] is True
    res = tenant.post(F, {"prompt": "what is the boiling point of ethanol",
                          "cache_entry_id": stored["cache_entry_id"], "correct": False}).json()
    assert res["deleted"] is True
    again = ask(tenant, "what is the boiling point of ethanol")
    assert again["cache_hit"] is False


def test_gateway_hits_can_be_reported_with_their_messages(tenant: Tenant) -> None:
    chat = {"model": MODEL, "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is the boiling point of water at sea level?"}]}
    tenant.post("/v1/chat/completions", chat)
    para = {**chat, "messages": [chat["messages"][0], {
        "role": "user", "content": "What's the boiling point of water at sea level?"}]}
    hit = tenant.post("/v1/chat/completions", para)
    assert hit.headers["X-Vectorcache-Cache"] == "hit"
    entry_id = hit.headers["X-Vectorcache-Entry-Id"]
    res = tenant.post(F, {**para, "cache_entry_id": entry_id, "correct": False, "top_p": 1})
    assert res.status_code == 200, res.text
    assert tenant.post("/v1/chat/completions", para).headers["X-Vectorcache-Cache"] == "miss"


def test_bad_reports_get_clear_errors(tenant: Tenant, app_client, provider) -> None:
    from conftest import make_tenant

    stored = ask(tenant, "How long should I boil an egg?")
    entry_id = stored["cache_entry_id"]
    missing = tenant.post(F, {"prompt": "How long do I boil an egg?", "cache_entry_id": entry_id})
    assert missing.status_code == 400 and missing.json()["detail"] == "Field required: correct"
    no_prompt = tenant.post(F, {"cache_entry_id": entry_id, "correct": False})
    assert no_prompt.status_code == 400 and "prompt" in no_prompt.json()["detail"]
    unknown = tenant.post(F, {"prompt": "x", "cache_entry_id": "nope", "correct": False})
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    other = make_tenant(app_client, provider)
    foreign = other.post(F, {"prompt": "How long do I boil an egg?", "cache_entry_id": entry_id,
                             "correct": False})
    assert foreign.status_code == 404
    reader = tenant.new_key(scopes=["cache:read"])
    denied = tenant.client.post(F, json={"prompt": "x", "cache_entry_id": entry_id,
                                         "correct": False},
                                headers={"Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403
    entry = tenant.call(tenant.runtime.store.get_entry, entry_id)
    assert entry.min_similarity == 0.0 and entry.wrong_reports == 0
