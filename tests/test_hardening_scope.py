"""Issue 22, item 3: per-user cache scope. In a project (or behind a key) scoped ``user``, one
end user's cached answer is never served to another, exactly asked or paraphrased; a request
naming no user is answered but not cached; redacted entries stay with their user; ``shared``
keeps today's behaviour. Real app, real embedder, real loopback provider, the real ``openai``
client on the gateway, and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import Tenant, make_tenant
from cryptography.fernet import Fernet

from vectorcache.store import open_store_for_url

Q = "/v1/cache/query"
ASKED = "What is the boiling point of water at sea level?"
PARAPHRASE = "What's the boiling point of water at sea level?"


def _ask(t: Tenant, prompt: str, user: str | None, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": prompt, "model": "gpt-4o", **more}
    if user is not None:
        body["user"] = user
    r = t.post(Q, body)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
def scoped(app_client, provider) -> Tenant:
    return make_tenant(app_client, provider, decision_mode="static", cache_scope="user")


def test_user_scope_never_serves_alices_answer_to_bob(scoped: Tenant) -> None:
    calls = scoped.provider.calls
    first = _ask(scoped, ASKED, "alice")
    assert first["cache_hit"] is False
    # alice gets her own answer back, exactly and paraphrased
    assert _ask(scoped, ASKED, "alice")["cache_hit"] is True
    again = _ask(scoped, PARAPHRASE, "alice")
    assert again["cache_hit"] is True and again["response"] == first["response"]
    assert scoped.provider.calls == calls + 1
    # another user never: not paraphrased, not exactly, not by lookup
    for prompt, user in ((PARAPHRASE, "bob"), (ASKED, "carol")):
        other = _ask(scoped, prompt, user)
        assert other["cache_hit"] is False and other["llm_provider"] != "cache", other
        assert other["cache_entry_id"] != first["cache_entry_id"]
    assert scoped.provider.calls == calls + 3
    looked = scoped.post("/v1/cache/lookup", {"prompt": ASKED, "model": "gpt-4o",
                                              "user": "dave"}).json()
    assert looked["cache_hit"] is False
    # bob's own answer is his
    assert _ask(scoped, ASKED, "bob")["cache_hit"] is True


def test_user_scope_request_without_user_is_answered_not_cached(scoped: Tenant) -> None:
    calls = scoped.provider.calls
    _ask(scoped, ASKED, "alice")
    for _ in range(2):
        body = _ask(scoped, ASKED, None)
        assert body["cache_hit"] is False and body["response"].startswith("Answer to:")
        assert body["cache_bypassed"] == "no_user"
    assert scoped.provider.calls == calls + 3
    assert scoped.post("/v1/cache/lookup", {"prompt": ASKED, "model": "gpt-4o"}) \
        .json()["cache_bypassed"] == "no_user"
    stored = scoped.post("/v1/cache/store", {"prompt": "Who wrote Hamlet?", "model": "gpt-4o",
                                             "response": "Shakespeare."})
    assert stored.status_code == 422 and stored.json()["code"] == "user_required"


def test_user_scope_store_route_partitions_by_user(scoped: Tenant) -> None:
    stored = scoped.post("/v1/cache/store", {"prompt": "Who wrote Hamlet?", "model": "gpt-4o",
                                             "response": "Shakespeare.", "user": "alice"})
    assert stored.status_code == 201, stored.text
    lookup = {"prompt": "Who wrote Hamlet?", "model": "gpt-4o"}
    assert scoped.post("/v1/cache/lookup", {**lookup, "user": "alice"}).json()["cache_hit"]
    assert not scoped.post("/v1/cache/lookup", {**lookup, "user": "bob"}).json()["cache_hit"]


def test_shared_scope_keeps_serving_across_users(app_client, provider) -> None:
    t = make_tenant(app_client, provider, decision_mode="static")
    assert t.get(f"/v1/cache/projects/{t.project.id}").json()["cache_scope"] == "shared"
    first = _ask(t, ASKED, "alice")
    bob = _ask(t, PARAPHRASE, "bob")
    assert bob["cache_hit"] is True and bob["response"] == first["response"]
    assert _ask(t, ASKED, None)["cache_hit"] is True


def test_user_scope_partition_is_a_filter_not_prompt_text(scoped: Tenant) -> None:
    """The stored prompt is the prompt as asked, nothing mixed in; the user is hashed."""
    _ask(scoped, ASKED, "alice-filter")
    exported = scoped.get("/v1/cache/users/alice-filter/export").json()["entries"]
    assert [e["prompt"] for e in exported] == [ASKED]
    assert "alice-filter" not in json.dumps(exported)


def test_redacted_entries_are_never_served_across_users(app_client, provider) -> None:
    t = make_tenant(app_client, provider, decision_mode="static", pii_policy="redact")
    first = _ask(t, "Email jane.doe@example.com the invoice", "jane")
    assert first["cache_hit"] is False and "cache_bypassed" not in first
    # the same redacted text from another user, or from no user: not served
    assert _ask(t, "Email bob@example.org the invoice", "bob")["cache_hit"] is False
    anonymous = _ask(t, "Email eve@example.net the invoice", None)
    assert anonymous["cache_hit"] is False and anonymous["cache_bypassed"] == "pii"
    # the user it was redacted for is served it
    assert _ask(t, "Email jane.d@example.com the invoice", "jane")["cache_hit"] is True
    # plain prompts stay shared
    _ask(t, ASKED, "jane")
    assert _ask(t, ASKED, "bob")["cache_hit"] is True


@pytest.mark.parametrize("scope", ["shared", "user"])
def test_redacted_answer_to_a_plain_prompt_is_never_served_across_users(
        app_client, provider, scope: str) -> None:
    t = make_tenant(app_client, provider, decision_mode="static", pii_policy="redact",
                    cache_scope=scope)
    # the provider echoes the prompt without its [[x]] marker: only the answer has an email
    prompt = "Repeat jane.doe@exa[[x]]mple.com back to me"
    first = _ask(t, prompt, "jane")
    assert "jane.doe@example.com" in first["response"]
    if scope == "shared":  # not stored where every user would be served it
        assert first["cache_bypassed"] == "pii"
        assert _ask(t, prompt, "jane")["cache_hit"] is False
    else:  # stored, redacted, in jane's partition
        assert _ask(t, prompt, "jane")["response"] == "Answer to: Repeat [EMAIL] back to me"
    assert _ask(t, prompt, "bob")["cache_hit"] is False


def test_key_cache_scope_overrides_the_project(tenant: Tenant) -> None:
    made = tenant.post("/v1/keys", {"name": "per-user", "cache_scope": "user"})
    assert made.status_code == 201, made.text
    assert made.json()["cache_scope"] == "user"
    per_user = Tenant(tenant.client, tenant.project, made.json()["key"], tenant.provider,
                      {"Authorization": f"Bearer {made.json()['key']}"})
    first = _ask(per_user, ASKED, "alice")
    assert _ask(per_user, PARAPHRASE, "bob")["cache_hit"] is False
    assert _ask(per_user, PARAPHRASE, "alice")["cache_hit"] is True
    assert _ask(per_user, ASKED, None)["cache_bypassed"] == "no_user"
    # the project's shared key does not see the per-user partition either
    assert _ask(tenant, ASKED, "alice")["cache_entry_id"] != first["cache_entry_id"]
    # a key scoped 'user' cannot create a key that reads across users
    wider = per_user.post("/v1/keys", {"name": "wider", "cache_scope": "shared"})
    assert wider.status_code == 403 and wider.json()["code"] == "privilege_escalation"
    inherited = per_user.post("/v1/keys", {"name": "inherits"})
    assert inherited.status_code == 201 and inherited.json()["cache_scope"] == "user"
    bad = tenant.post("/v1/keys", {"name": "bad", "cache_scope": "everyone"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"


ALICE = "What should I eat with my type 2 diabetes diagnosis?"
BOB = "What should I eat while on chemotherapy for my lymphoma?"


def _listed(t: Tenant, **params: str) -> dict[str, Any]:
    r = t.get(f"/v1/cache/projects/{t.project.id}/similar",
              params={"query": "What should I eat with my illness?", **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _prompts(body: dict[str, Any]) -> set[str]:
    return {e["original_query"] for e in body["similar_entries"]}


def test_similar_listing_in_user_scope_never_shows_another_users_prompts(
        app_client, provider) -> None:
    t = make_tenant(app_client, provider, decision_mode="static", cache_scope="user")
    for prompt, user in ((ALICE, "alice"), (BOB, "bob")):
        stored = t.post("/v1/cache/store", {"prompt": prompt, "model": "gpt-4o",
                                            "response": "Ask your doctor.", "user": user})
        assert stored.status_code == 201, stored.text
    # across the project's models (the TypeScript SDK's call) and in one partition alike
    for more in ({}, {"model": "gpt-4o"}):
        nobody = _listed(t, **more)
        assert nobody["similar_entries"] == [] and nobody["total_found"] == 0, nobody
        assert nobody["cache_bypassed"] == "no_user"
        assert _prompts(_listed(t, user="alice", **more)) == {ALICE}
        assert _prompts(_listed(t, user="bob", **more)) == {BOB}
        assert _listed(t, user="carol", **more)["similar_entries"] == []
    # the dry run shows no neighbours of other users either
    dry = t.post("/v1/cache/test", {"prompt": ALICE, "model": "gpt-4o"}).json()
    assert dry["similar_entries"] == [] and dry["cache_bypassed"] == "no_user"
    dry = t.post("/v1/cache/test", {"prompt": ALICE, "model": "gpt-4o", "user": "bob"}).json()
    assert {e["original_query"] for e in dry["similar_entries"]} == {BOB}

    # a key scoped 'user' in a shared project: the shared entries are not its users' to list
    shared = make_tenant(app_client, provider, decision_mode="static")
    for prompt, user in ((ALICE, "alice"), (BOB, "bob")):
        assert shared.post("/v1/cache/store", {"prompt": prompt, "model": "gpt-4o",
                                               "response": "Ask.", "user": user}
                           ).status_code == 201
    assert _prompts(_listed(shared)) == {ALICE, BOB}  # shared scope: listed as before
    per_user = Tenant(shared.client, shared.project, "", shared.provider, {
        "Authorization": f"Bearer {shared.new_key(name='per-user', cache_scope='user')}"})
    for more in ({}, {"model": "gpt-4o"}):
        assert _listed(per_user, **more)["similar_entries"] == []
    assert _prompts(_listed(per_user, user="alice")) == {ALICE}
    assert _listed(per_user, user="alice", model="gpt-4o")["similar_entries"] == []

def test_cache_scope_is_a_project_setting(tenant: Tenant) -> None:
    path = f"/v1/cache/projects/{tenant.project.id}"
    r = tenant.client.patch(path, json={"cache_scope": "user"}, headers=tenant.headers)
    assert r.status_code == 200 and r.json()["cache_scope"] == "user"
    _ask(tenant, ASKED, "alice")
    assert _ask(tenant, ASKED, "bob")["cache_hit"] is False
    for bad in ("everyone", None, 1, True):
        r = tenant.client.patch(path, json={"cache_scope": bad}, headers=tenant.headers)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["code"] == "invalid_request"
    r = tenant.client.patch(path, json={"cache_scope": "shared"}, headers=tenant.headers)
    assert r.status_code == 200 and r.json()["cache_scope"] == "shared"


def test_cache_scope_from_the_cli(cli_run) -> None:
    made = json.loads(cli_run("projects", "create", "medical", "--cache-scope", "user",
                              "--json").output)
    assert made["cache_scope"] == "user"
    cli_run("projects", "update", "medical", "--cache-scope", "shared")
    listed = json.loads(cli_run("projects", "list", "--json").output)
    assert [p["cache_scope"] for p in listed if p["name"] == "medical"] == ["shared"]
    key = json.loads(cli_run("keys", "create", "--project", "medical", "--cache-scope",
                             "user", "--json").output)
    assert key["cache_scope"] == "user"
    cli_run("keys", "update", key["id"], "--cache-scope", "project")
    rows = json.loads(cli_run("keys", "list", "--project", "medical", "--json").output)
    assert [k["cache_scope"] for k in rows if k["id"] == key["id"]] == ["project"]
    bad = cli_run("keys", "create", "--project", "medical", "--cache-scope", "all", ok=False)
    assert bad.exit_code == 2


@pytest.fixture
def gateway_client(scoped: Tenant) -> openai.OpenAI:
    """The official client on the in-process app (never closed: it would close the app's
    session-wide test client)."""
    return openai.OpenAI(api_key=scoped.key, base_url="http://testserver/v1", max_retries=0,
                         http_client=scoped.client)


def _chat(client: openai.OpenAI, question: str, **kwargs: Any) -> tuple[str, Any]:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": question}], **kwargs)
    return raw.parse().choices[0].message.content or "", raw.headers


@pytest.mark.parametrize("stream", [False, True])
def test_gateway_user_scope_never_serves_alices_answer_to_bob(
        gateway_client: openai.OpenAI, scoped: Tenant, stream: bool) -> None:
    question = f"How tall is Mount Everest? ({stream})"
    if stream:
        def chat(q: str, **kw: Any) -> str:
            raw = gateway_client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=[{"role": "user", "content": q}], stream=True, **kw)
            text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
            return f"{raw.headers['x-vectorcache-cache']}|{text}"
    else:
        def chat(q: str, **kw: Any) -> str:
            text, headers = _chat(gateway_client, q, **kw)
            return f"{headers['x-vectorcache-cache']}|{text}"
    assert chat(question, user="alice").startswith("miss|")
    assert chat(question, user="alice").startswith("hit|")
    assert chat(question, user="bob").startswith("miss|")
    assert chat(question).startswith("bypass|")
    _, headers = _chat(gateway_client, question)
    assert headers["x-vectorcache-reason"] == "no_user"


def _old_database(url: str, sqlite_path: Path | None) -> None:
    """A database as the release before the cache scope made it: the schema's steps up to
    the one adding it, and a project row written then."""
    row = ("INSERT INTO projects (id, name, created_at) VALUES ('old-id', 'old', 0)")
    if sqlite_path is not None:
        from vectorcache.store import sqlite_schema as schema

        before = next(i for i, step in enumerate(schema._STEPS) if "cache_scope" in step)
        with contextlib.closing(sqlite3.connect(sqlite_path, isolation_level=None)) as conn:
            for step in schema._STEPS[:before]:
                for statement in schema._split(step):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {before}")
            conn.execute(row)
        return
    import psycopg

    from vectorcache.store import pg_schema

    before = next(i for i, step in enumerate(pg_schema._STEPS) if "cache_scope" in step)
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE EXTENSION IF NOT EXISTS vector")
        for step in pg_schema._STEPS[:before]:
            for statement in step.replace("{dims}", "4").split(";\n"):
                if statement.strip():
                    pg.execute(statement)  # type: ignore[call-overload]
        pg.execute("CREATE TABLE vectorcache_schema (version INTEGER NOT NULL)")
        pg.execute("INSERT INTO vectorcache_schema (version) VALUES (%s)", (before,))
        pg.execute(row)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_cache_scope_column_migrates_and_round_trips(backend: str, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    """Databases made before the cache scope gain it (existing projects stay 'shared');
    project and key scopes round-trip on SQLite and PostgreSQL."""
    from vectorcache.clock import utcnow
    from vectorcache.models import ApiKey

    sqlite_path = tmp_path / "vectorcache.db" if backend == "sqlite" else None
    url = f"sqlite:///{sqlite_path}" if sqlite_path else str(
        request.getfixturevalue("postgres_url"))
    master = Fernet.generate_key()

    _old_database(url, sqlite_path)
    project_id = "old-id"

    async def reopen() -> None:
        store = open_store_for_url(url, master, 4)
        await store.open()
        try:
            old = await store.get_project(project_id)
            assert old is not None and old.cache_scope == "shared"
            new = await store.create_project("new", cache_scope="user")
            assert (await store.get_project(new.id)).cache_scope == "user"  # type: ignore[union-attr]
            updated = await store.update_project(project_id, cache_scope="user")
            assert updated.cache_scope == "user"
            token = uuid.uuid4().hex
            key = ApiKey(id=f"k-{token[:8]}", project_id=project_id, name="k",
                         prefix="vc_x", key_hash=f"h-{token}", created_at=utcnow(),
                         cache_scope="user")
            await store.add_api_key(key)
            assert (await store.get_api_key(key.id)) == key
            plain = ApiKey(id=f"k-{token[8:16]}", project_id=project_id, name="k2",
                           prefix="vc_y", key_hash=f"h2-{token}", created_at=utcnow())
            await store.add_api_key(plain)
            assert (await store.get_api_key(plain.id)).cache_scope is None  # type: ignore[union-attr]
        finally:
            await store.close()

    asyncio.run(reopen())
