"""The native cache API end to end: real model, real SQLite file, loopback provider."""

from __future__ import annotations

from datetime import timedelta

from conftest import Tenant

from vectorcache.clock import utcnow
from vectorcache.models import NewEntry

Q = "/v1/cache/query"


def test_miss_then_paraphrase_hits_without_calling_the_provider(tenant: Tenant) -> None:
    before = tenant.provider.calls
    miss = tenant.post(Q, {"prompt": "What is the capital of France?", "model": "gpt-4o",
                           "include_debug": True})
    assert miss.status_code == 200, miss.text
    body = miss.json()
    assert body["cache_hit"] is False and body["is_cache_hit"] is False
    assert body["response"] == "Answer to: What is the capital of France?"
    assert body["llm_provider"] == "openai" and body["similarity_score"] is None
    assert body["cost_saved"] == 0 and body["tokens_used"] > 0 and body["estimated_cost"] > 0
    assert tenant.provider.calls == before + 1

    hit = tenant.post(Q, {"prompt": "What's the capital city of France?", "model": "gpt-4o",
                          "include_debug": True}).json()
    assert hit["cache_hit"] is True and hit["llm_provider"] == "cache"
    assert hit["response"] == body["response"]
    assert hit["similarity_score"] >= 0.85
    assert hit["cache_entry_id"] == body["cache_entry_id"]
    assert hit["cost_saved"] > 0 and hit["tokens_used"] == 0
    assert hit["debug"]["matched_cache_entry_id"] == body["cache_entry_id"]
    for timing in ("embedding_time_ms", "search_time_ms", "total_time_ms"):
        assert hit["debug"][timing] >= 0
    assert tenant.provider.calls == before + 1


def test_exact_repeat_is_a_hit_with_similarity_one(tenant: Tenant) -> None:
    tenant.post(Q, {"prompt": "Name three primary colours", "model": "gpt-4o"})
    hit = tenant.post(Q, {"query": "  name three PRIMARY colours ", "model": "gpt-4o",
                          "include_debug": True}).json()
    assert hit["cache_hit"] is True and hit["similarity_score"] == 1.0
    assert hit["debug"]["exact_match"] is True


def test_a_repeat_without_its_question_mark_is_an_exact_hit(tenant: Tenant) -> None:
    # the model alone puts the two at cosine 0.90, under the default point's floor
    tenant.post(Q, {"prompt": "What is the capital of Australia?", "model": "gpt-4o"})
    hit = tenant.post(Q, {"prompt": "what is the capital of australia", "model": "gpt-4o",
                          "include_debug": True}).json()
    assert hit["cache_hit"] is True and hit["debug"]["exact_match"] is True
    tenant.post(Q, {"prompt": "What is 5!", "model": "gpt-4o"})  # a factorial, not a mark
    other = tenant.post(Q, {"prompt": "What is 5", "model": "gpt-4o",
                            "include_debug": True}).json()
    assert other["cache_hit"] is False
    # in code every mark counts: a lazy quantifier is not a question mark
    tenant.post(Q, {"prompt": r"Explain the regex \d+?", "model": "gpt-4o"})
    greedy = tenant.post(Q, {"prompt": r"Explain the regex \d+", "model": "gpt-4o",
                             "include_debug": True}).json()
    assert greedy["debug"]["exact_match"] is False


def test_a_mistyped_repeat_is_found_as_it_reads_without_the_slip(tenant: Tenant) -> None:
    tenant.post(Q, {"prompt": "What is the capital of Australia?", "model": "gpt-4o"})
    # the model puts "captial" at cosine ~0.77 from "capital": under the floor, found only by
    # searching again with the slip read as the word it stands for
    hit = tenant.post(Q, {"prompt": "What is the captial of Australia?", "model": "gpt-4o",
                          "include_debug": True}).json()
    assert hit["cache_hit"] is True, hit["debug"]["decision_reason"]
    assert hit["debug"]["respelt"] is True and "misspellings" in hit["debug"]["decision_reason"]
    # a miss without slips looks once; a real word typed for another is no slip
    for prompt in ("How do I bake sourdough bread?", "What is the capitol of Australia?"):
        other = tenant.post(Q, {"prompt": prompt, "model": "gpt-4o", "include_debug": True})
        assert other.json()["cache_hit"] is False
        assert "respelt_time_ms" not in other.json()["debug"]


def test_unrelated_prompt_misses(tenant: Tenant) -> None:
    tenant.post(Q, {"prompt": "What is the capital of France?", "model": "gpt-4o"})
    other = tenant.post(Q, {"prompt": "How do I bake sourdough bread?", "model": "gpt-4o"})
    assert other.json()["cache_hit"] is False


def test_partition_never_crosses_project_model_or_context(tenant: Tenant,
                                                           app_client, provider) -> None:
    from conftest import make_tenant

    prompt = "Explain how photosynthesis works"
    tenant.post(Q, {"prompt": prompt, "model": "gpt-4o", "context": "biology-class"})
    same = {"prompt": prompt, "model": "gpt-4o", "context": "biology-class"}
    assert tenant.post("/v1/cache/lookup", same).json()["cache_hit"] is True
    for changed in ({"model": "gpt-4o-mini"}, {"context": "chemistry-class"}, {"context": None}):
        assert tenant.post("/v1/cache/lookup", {**same, **changed}).json()["cache_hit"] is False
    other = make_tenant(app_client, provider)
    assert other.post("/v1/cache/lookup", same).json()["cache_hit"] is False


def test_sampling_parameters_partition_the_cache(tenant: Tenant) -> None:
    tenant.post(Q, {"prompt": "Write a haiku about autumn", "model": "gpt-4o",
                    "temperature": 0.2})
    hot = {"prompt": "Write a haiku about autumn", "model": "gpt-4o", "temperature": 1.5}
    assert tenant.post("/v1/cache/lookup", hot).json()["cache_hit"] is False


def test_expired_entry_never_hits(tenant: Tenant) -> None:
    rt = tenant.runtime
    principal = rt.admin.principal_for(tenant.project)
    plan = rt.cache.plan(principal, prompt="When was the Eiffel Tower built?", messages=None,
                         model="gpt-4o", context=None, params={}, threshold=None)

    async def insert_expired() -> str:
        vector = (await rt.embedder.embed([plan.view.text]))[0]
        return str(await rt.store.insert_entry(NewEntry(
            project_id=tenant.project.id, partition=plan.partition, exact_key=plan.exact_key,
            model="gpt-4o", prompt=plan.view.text, response="1889", embedding=vector,
            expires_at=utcnow() - timedelta(seconds=1))))

    tenant.call(insert_expired)
    for prompt in ("When was the Eiffel Tower built?", "When was the Eiffel tower constructed?"):
        body = tenant.post("/v1/cache/lookup", {"prompt": prompt, "model": "gpt-4o"}).json()
        assert body["cache_hit"] is False
    stats = tenant.get(f"/v1/cache/projects/{tenant.project.id}/stats").json()
    assert stats["expired_entries"] == 1 and stats["active_entries"] == 0


def test_ttl_from_store_sets_expiry(tenant: Tenant) -> None:
    r = tenant.post("/v1/cache/store", {"prompt": "ttl prompt", "response": "x",
                                        "model": "gpt-4o", "ttl_seconds": 3600})
    assert r.status_code == 201
    entry = tenant.call(tenant.runtime.store.get_entry, r.json()["cache_entry_id"])
    assert entry.expires_at is not None
    assert timedelta(minutes=59) < entry.expires_at - utcnow() <= timedelta(hours=1)


def test_chat_messages_form_and_lookup_store(tenant: Tenant) -> None:
    stored = tenant.post("/v1/cache/store", {
        "messages": [{"role": "system", "content": "You are terse."},
                     {"role": "user", "content": "What is the boiling point of water?"}],
        "response": "100 °C at sea level", "model": "gpt-4o",
        "usage": {"prompt_tokens": 12, "completion_tokens": 6}})
    assert stored.status_code == 201
    lookup = tenant.post("/v1/cache/lookup", {
        "messages": [{"role": "system", "content": "You are terse."},
                     {"role": "user", "content": "What's the boiling point of water?"}],
        "model": "gpt-4o", "include_debug": True}).json()
    assert lookup["cache_hit"] is True and lookup["response"] == "100 °C at sea level"
    no_system = tenant.post("/v1/cache/lookup", {
        "messages": [{"role": "user", "content": "What is the boiling point of water?"}],
        "model": "gpt-4o"}).json()
    assert no_system["cache_hit"] is False


def test_lookup_never_calls_the_provider(tenant: Tenant) -> None:
    before = tenant.provider.calls
    body = tenant.post("/v1/cache/lookup", {"prompt": "anything new at all", "model": "gpt-4o"})
    assert body.status_code == 200 and body.json()["cache_hit"] is False
    assert tenant.provider.calls == before


def test_project_default_model_and_threshold(app_client, provider) -> None:
    from conftest import make_tenant

    t = make_tenant(app_client, provider, default_model="gpt-4o-mini", similarity_threshold=0.99)
    first = t.post(Q, {"prompt": "Who wrote Hamlet?"}).json()
    assert first["cache_hit"] is False
    assert provider.requests[-1]["model"] == "gpt-4o-mini"
    para = t.post(Q, {"prompt": "Who is the author of Hamlet?"}).json()
    assert para["cache_hit"] is False  # 0.99 is stricter than this paraphrase's similarity
    relaxed = t.post(Q, {"prompt": "Who is the author of Hamlet?",
                         "similarity_threshold": 0.7}).json()
    assert relaxed["cache_hit"] is True


def test_stats_clear_and_delete(tenant: Tenant) -> None:
    ids = [tenant.post("/v1/cache/store", {"prompt": f"fact number {i} about otters",
                                           "response": f"r{i}", "model": "gpt-4o"})
           .json()["cache_entry_id"] for i in range(3)]
    tenant.post(Q, {"prompt": "fact number 0 about otters", "model": "gpt-4o"})
    tenant.flush()
    stats = tenant.get(f"/v1/cache/projects/{tenant.project.id}/stats").json()
    assert stats["total_entries"] == 3 and stats["active_entries"] == 3
    assert stats["total_hits"] == 1 and stats["cache_size_mb"] > 0
    assert set(stats) >= {"project_id", "expired_entries", "total_tokens_saved",
                          "total_cost_saved", "avg_similarity_score"}

    assert tenant.delete(f"/v1/cache/entries/{ids[0]}").status_code == 200
    assert tenant.delete(f"/v1/cache/entries/{ids[0]}").status_code == 404
    cleared = tenant.post("/v1/cache/clear", {}).json()
    assert cleared["entries_cleared"] == 2 and cleared["space_freed_mb"] > 0
    assert "operation_time_ms" in cleared
    lookup = tenant.post("/v1/cache/lookup", {"prompt": "fact number 1 about otters",
                                              "model": "gpt-4o"}).json()
    assert lookup["cache_hit"] is False


def test_store_records_the_writing_key(tenant: Tenant) -> None:
    entry_id = tenant.post("/v1/cache/store", {"prompt": "who wrote it", "response": "me",
                                               "model": "gpt-4o"}).json()["cache_entry_id"]
    entry = tenant.call(tenant.runtime.store.get_entry, entry_id)
    key = tenant.call(tenant.runtime.admin.find_key, tenant.key)
    assert entry.created_by_key == key.id


def test_key_usage_is_tracked(tenant: Tenant) -> None:
    for _ in range(3):
        tenant.post("/v1/cache/lookup", {"prompt": "usage tracking", "model": "gpt-4o"})
    tenant.flush()
    key = tenant.call(tenant.runtime.admin.find_key, tenant.key)
    assert key.request_count == 3 and key.last_used_at is not None


def test_health_and_ready(app_client) -> None:
    health = app_client.get("/health").json()
    assert health["status"] == "healthy" and "timestamp" in health
    ready = app_client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_embeddings_are_never_returned(tenant: Tenant) -> None:
    body = tenant.post(Q, {"prompt": "Tell me about whales", "model": "gpt-4o",
                           "include_debug": True}).text
    assert "embedding\"" not in body and "[0." not in body


def test_identical_concurrent_misses_call_the_provider_once(tenant: Tenant) -> None:
    import asyncio

    from vectorcache.service.requests import CacheRequest

    rt = tenant.runtime
    who = rt.admin.principal_for(tenant.project)
    prompt = "Summarise the plot of Moby Dick [[sleep:0.4]]"

    async def burst() -> list:
        return await asyncio.gather(*(rt.cache.query(who, CacheRequest(
            prompt=prompt, model="gpt-4o", include_debug=True)) for _ in range(8)))

    before = tenant.provider.calls
    results = tenant.call(burst)
    assert tenant.provider.calls == before + 1
    assert len({r.response for r in results}) == 1
    assert sorted(r.hit for r in results) == [False] + [True] * 7
    assert len({r.entry_id for r in results}) == 1
    assert sum(r.debug["coalesced"] for r in results) == 7
