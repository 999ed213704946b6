"""The ``Store`` contract: what every method means, held the same on SQLite and PostgreSQL.

Each test runs once per backend. The ``store`` fixture gives an opener, not an opened store: a
store is opened and closed inside the event loop that uses it (one ``asyncio.run`` per test).
Vectors are hand-made 4-d unit vectors, so the cosine scores are known in advance.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, LiteralString

import numpy as np
import numpy.typing as npt
import pytest
from cryptography.fernet import Fernet

from vectorcache.clock import utcnow
from vectorcache.errors import ConfigurationError, NotFound, ValidationFailed
from vectorcache.models import (
    ALL_SCOPES,
    ApiKey,
    NewEntry,
    ProjectStats,
    ProviderConfig,
    Usage,
    UsageEvent,
)
from vectorcache.store import SearchResult, Store, open_store_for_url

DIMS = 4
Vector = npt.NDArray[np.float32]


def unit(*xs: float) -> Vector:
    v = np.array(xs, dtype=np.float64)
    out: Vector = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def normalised(rows: npt.ArrayLike) -> Vector:
    m = np.asarray(rows, dtype=np.float64)
    out: Vector = (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)
    return out


Q = unit(1, 0, 0, 0)  # the query; below, each vector's cosine with it is its first coordinate
A = unit(0.99, math.sqrt(1 - 0.99**2), 0, 0)
B = unit(0.8, 0.6, 0, 0)
C = unit(0.5, 0, math.sqrt(0.75), 0)
D = unit(-1, 0, 0, 0)


@dataclass(frozen=True)
class Backend:
    """One fresh database: reached through stores (``open``) or behind their back (``sql``)."""

    url: str
    master_key: bytes
    sqlite_path: Path | None = None

    @contextlib.asynccontextmanager
    async def open(self, master_key: bytes | None = None) -> AsyncIterator[Store]:
        store = open_store_for_url(self.url, master_key or self.master_key, DIMS)
        try:
            await store.open()
        except BaseException:
            with contextlib.suppress(Exception):
                await store.close()
            raise
        try:
            yield store
        finally:
            await store.close()

    def sql(self, query: LiteralString) -> list[tuple[Any, ...]]:
        """Run one statement on a connection of our own (autocommit)."""
        if self.sqlite_path is not None:
            with contextlib.closing(sqlite3.connect(self.sqlite_path,
                                                    isolation_level=None)) as conn:
                return conn.execute(query).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as pg:
            cur = pg.execute(query)
            return cur.fetchall() if cur.description else []

    @property
    def db_error(self) -> type[Exception]:
        if self.sqlite_path is not None:
            return sqlite3.DatabaseError
        import psycopg

        return psycopg.Error

    def bytes_at_rest(self) -> bytes:
        """Every byte the database keeps on disk for this test (the database's own files)."""
        if self.sqlite_path is not None:
            return b"".join(f.read_bytes() for f in self.sqlite_path.parent.iterdir()
                            if f.is_file())
        self.sql("CHECKPOINT")
        ((data_dir, oid),) = self.sql(
            "SELECT current_setting('data_directory'), oid FROM pg_database"
            " WHERE datname = current_database()")
        root = Path(data_dir)
        files = [*(root / "base" / str(oid)).iterdir(), *(root / "pg_wal").iterdir()]
        return b"".join(f.read_bytes() for f in files if f.is_file())


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    key = Fernet.generate_key()
    if request.param == "sqlite":
        path = tmp_path / "vectorcache.db"
        return Backend(f"sqlite:///{path}", key, sqlite_path=path)
    return Backend(str(request.getfixturevalue("postgres_url")), key)


async def new_project(s: Store) -> str:
    return (await s.create_project(f"p-{uuid.uuid4().hex[:10]}")).id


def entry(project_id: str, vector: Vector, partition: str = "part", **fields: Any) -> NewEntry:
    fields.setdefault("exact_key", uuid.uuid4().hex)
    fields.setdefault("prompt", f"prompt {fields['exact_key']}")
    fields.setdefault("response", "response")
    return NewEntry(project_id=project_id, partition=partition, model="m", embedding=vector,
                    **fields)


def api_key(project_id: str, **fields: Any) -> ApiKey:
    token = uuid.uuid4().hex
    return ApiKey(id=f"key-{token[:12]}", project_id=project_id, name="k", prefix=f"vc_{token[:6]}",
                  key_hash=f"hash-{token}", created_at=utcnow(), **fields)


def ids(results: Sequence[SearchResult]) -> list[str]:
    return [e.id for e, _ in results]


def prompts(results: Sequence[SearchResult]) -> list[str]:
    return [e.prompt for e, _ in results]


def test_projects(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            alpha = await s.create_project(
                "alpha", default_model="gpt-4o", similarity_threshold=0.9, decision_mode="static",
                target_error_rate=0.01, pii_policy="redact", allowed_models=("m1", "m2"),
                ttl_seconds=3600)
            assert (alpha.name, alpha.default_model, alpha.similarity_threshold,
                    alpha.decision_mode, alpha.target_error_rate, alpha.pii_policy,
                    alpha.allowed_models, alpha.ttl_seconds) == (
                "alpha", "gpt-4o", 0.9, "static", 0.01, "redact", ("m1", "m2"), 3600)
            beta = await s.create_project("beta")
            assert (beta.similarity_threshold, beta.pii_policy, beta.allowed_models,
                    beta.ttl_seconds, beta.default_model) == (0.85, "bypass", (), None, None)
            assert await s.get_project(alpha.id) == alpha
            assert await s.get_project_by_name("beta") == beta
            # ids are opaque strings: a malformed one is simply not found
            assert await s.get_project("no-such-project") is None
            assert await s.get_project_by_name("gamma") is None
            assert await s.list_projects() == [alpha, beta]
            with pytest.raises(ValidationFailed) as dup:
                await s.create_project("alpha")
            assert dup.value.code == "project_exists"
            updated = await s.update_project(alpha.id, similarity_threshold=0.95,
                                             allowed_models=(), ttl_seconds=None)
            assert updated == replace(alpha, similarity_threshold=0.95, allowed_models=(),
                                      ttl_seconds=None)
            assert await s.get_project(alpha.id) == updated
            with pytest.raises(NotFound):
                await s.update_project("no-such-project", ttl_seconds=5)

    asyncio.run(main())


def test_api_keys(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p, q = await new_project(s), await new_project(s)
            k1 = api_key(p, scopes=("cache:read",), models=("m1",), allowed_ips=("10.0.0.0/8",),
                         expires_at=utcnow() + timedelta(days=1), rate_limit_per_minute=60,
                         quota_requests=1000, quota_period="day")
            k2, k3 = api_key(p), api_key(q)
            for k in (k1, k2, k3):
                await s.add_api_key(k)
            assert await s.get_api_key(k1.id) == k1
            assert await s.find_api_key(k2.key_hash) == k2
            assert k2.scopes == ALL_SCOPES
            assert await s.get_api_key("no-such-key") is None
            assert await s.find_api_key("no-such-hash") is None
            assert await s.find_api_key_and_project(k3.key_hash) == (k3, await s.get_project(q))
            assert await s.find_api_key_and_project("no-such-hash") is None
            assert await s.list_api_keys(p) == [k1, k2]
            assert {k.id for k in await s.list_api_keys()} == {k1.id, k2.id, k3.id}
            now = utcnow()
            updated = await s.update_api_key(k1.id, revoked_at=now, name="renamed",
                                             scopes=("cache:read", "cache:write"))
            assert updated == replace(k1, revoked_at=now, name="renamed",
                                      scopes=("cache:read", "cache:write"))
            assert updated.status == "revoked"
            assert await s.get_api_key(k1.id) == updated
            with pytest.raises(NotFound):
                await s.update_api_key("no-such-key", name="x")

    asyncio.run(main())


def test_provider_round_trip_and_replace(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p, other = await new_project(s), await new_project(s)
            first = ProviderConfig(p, "openai", "sk-contract-1", "https://llm.example/v1",
                                   utcnow(), models=("gpt-4o",), fallback_models=("gpt-4o-mini",))
            await s.set_provider(first)
            assert await s.get_provider(p) == first
            second = ProviderConfig(p, "anthropic", None, None, utcnow())
            await s.set_provider(second)
            assert await s.get_provider(p) == second
            assert await s.get_provider(other) is None

    asyncio.run(main())


def test_insert_is_idempotent_and_an_entry_round_trips(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p = await new_project(s)
            now = utcnow()
            new = entry(p, Q, context="ctx", metadata={"tag": "x", "n": 1}, user_hash="u-1",
                        shape={"history": [{"role": "user", "content": "hi"}], "params": {}},
                        usage=Usage(3, 5), provider="openai", created_by_key="key-1",
                        expires_at=now + timedelta(hours=1))
            first = await s.insert_entry(new)
            # the same partition and exact key while live: the entry already stored
            assert await s.insert_entry(replace(new, response="another answer")) == first
            assert await s.insert_entry(replace(new, partition="other")) != first
            assert await s.count_entries(p) == 2
            assert (await s.index_status())["vectors"] >= 2  # both are searchable (any project)
            got = await s.get_entry(first)
            assert got is not None
            assert (got.id, got.project_id, got.partition, got.model, got.prompt, got.response,
                    got.context, got.metadata, got.shape, got.usage, got.provider,
                    got.created_by_key, got.user_hash, got.expires_at, got.hit_count,
                    got.min_similarity, got.wrong_reports) == (
                first, p, "part", "m", new.prompt, "response", "ctx", {"tag": "x", "n": 1},
                new.shape, Usage(3, 5), "openai", "key-1", "u-1", new.expires_at, 0, 0.0, 0)
            assert abs(got.created_at - now) < timedelta(seconds=10)
            assert await s.find_exact("part", new.exact_key, now) == got
            assert await s.find_exact("part", "no-such-key", now) is None
            assert await s.find_exact("elsewhere", new.exact_key, now) is None
            assert await s.get_entry("no-such-entry") is None
            vector = await s.entry_vector(first)
            assert vector is not None and vector.dtype == np.float32 and np.allclose(vector, Q)
            assert await s.entry_vector("no-such-entry") is None

    asyncio.run(main())


def test_search_is_nearest_first_within_its_partition(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p = await new_project(s)
            for name, vector in (("c", C), ("a", A), ("d", D), ("b", B)):
                await s.insert_entry(entry(p, vector, prompt=name))
            elsewhere = await s.insert_entry(entry(p, Q, partition="elsewhere"))
            now = utcnow()
            found = await s.search("part", Q, 3, now)
            assert prompts(found) == ["a", "b", "c"]
            assert [score for _, score in found] == pytest.approx([0.99, 0.8, 0.5], abs=1e-5)
            everything = await s.search("part", Q, 10, now)
            assert prompts(everything) == ["a", "b", "c", "d"]
            assert everything[-1][1] == pytest.approx(-1.0, abs=1e-5)
            assert ids(await s.search("elsewhere", Q, 10, now)) == [elsewhere]
            assert await s.search("empty", Q, 10, now) == []
            # below min_score only the nearest one comes back, whatever its score
            assert prompts(await s.search("part", Q, 3, now, min_score=0.7)) == ["a", "b"]
            assert prompts(await s.search("part", Q, 3, now, min_score=0.995)) == ["a"]
            assert prompts(await s.search("part", D, 3, now, min_score=0.5)) == ["d"]

    asyncio.run(main())


def test_search_project_lists_across_partitions_and_narrows_to_one_user(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p, other = await new_project(s), await new_project(s)
            await s.insert_entry(entry(p, A, prompt="a", user_hash="u1"))
            await s.insert_entry(entry(p, B, partition="u1-part", prompt="b", user_hash="u1"))
            await s.insert_entry(entry(p, C, partition="u2-part", prompt="c", user_hash="u2"))
            await s.insert_entry(entry(p, D, prompt="d"))
            await s.insert_entry(entry(other, Q, prompt="elsewhere", user_hash="u1"))
            await s.insert_entry(entry(p, Q, prompt="gone", user_hash="u1",
                                       expires_at=utcnow() - timedelta(seconds=1)))
            now = utcnow()
            assert prompts(await s.search_project(p, Q, 10, now)) == ["a", "b", "c", "d"]
            assert prompts(await s.search_project(p, Q, 2, now)) == ["a", "b"]
            found = await s.search_project(p, Q, 10, now, user_hash="u1")
            assert prompts(found) == ["a", "b"]
            assert [score for _, score in found] == pytest.approx([0.99, 0.8], abs=1e-5)
            assert prompts(await s.search_project(p, Q, 1, now, user_hash="u1")) == ["a"]
            assert prompts(await s.search_project(p, Q, 10, now, user_hash="u2")) == ["c"]
            assert await s.search_project(p, Q, 10, now, user_hash="nobody") == []

    asyncio.run(main())


def test_expired_entries_are_never_served(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p = await new_project(s)
            now = utcnow()
            await s.insert_entry(entry(p, A, prompt="live"))
            later = entry(p, B, prompt="later", expires_at=now + timedelta(hours=1))
            await s.insert_entry(later)
            gone = entry(p, Q, prompt="gone", expires_at=now - timedelta(minutes=1))
            gone_id = await s.insert_entry(gone)
            assert prompts(await s.search("part", Q, 10, now)) == ["live", "later"]
            assert await s.find_exact("part", gone.exact_key, now) is None
            assert await s.get_entry(gone_id) is not None  # kept until cleared
            # an expired exact key is stored anew
            again = await s.insert_entry(replace(gone, prompt="again", expires_at=None))
            assert again != gone_id
            found = await s.find_exact("part", gone.exact_key, now)
            assert found is not None and found.id == again
            # expiry is judged at the caller's ``now``
            hence = now + timedelta(hours=2)
            assert prompts(await s.search("part", Q, 10, hence)) == ["again", "live"]
            assert await s.find_exact("part", later.exact_key, hence) is None

    asyncio.run(main())


def test_raise_entry_floor_only_raises(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            eid = await s.insert_entry(entry(await new_project(s), Q))
            assert await s.raise_entry_floor(eid, 0.9) == 0.9
            assert await s.raise_entry_floor(eid, 0.8) == 0.9  # never lowered
            assert await s.raise_entry_floor(eid, 0.95, reports=3) == 0.95
            got = await s.get_entry(eid)
            assert got is not None and (got.min_similarity, got.wrong_reports) == (0.95, 5)
            assert await s.raise_entry_floor("no-such-entry", 0.9) is None

    asyncio.run(main())


def test_delete_clear_count_and_list(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p, other = await new_project(s), await new_project(s)
            mine = [await s.insert_entry(entry(p, Q)) for _ in range(5)]
            theirs = await s.insert_entry(entry(other, Q))
            assert (await s.count_entries(p), await s.count_entries(other),
                    await s.count_entries()) == (5, 1, 6)
            assert [e.id for e in await s.list_entries(p)] == mine  # oldest first
            pages = [[e.id for e in await s.list_entries(p, offset=o, limit=2)]
                     for o in (0, 2, 4, 6)]
            assert pages == [mine[:2], mine[2:4], mine[4:], []]
            # only the project's own entries are deleted
            assert await s.delete_entries(p, [mine[0], theirs, "no-such-entry"]) == 1
            assert await s.get_entry(mine[0]) is None and await s.get_entry(theirs) is not None
            assert mine[0] not in ids(await s.search("part", Q, 10, utcnow()))
            assert await s.delete_entries(p, []) == 0
            now = utcnow()
            for _ in range(2):
                await s.insert_entry(entry(p, Q, expires_at=now - timedelta(minutes=1)))
            count, freed = await s.clear(p, expired_only=True, older_than=None, now=now)
            assert count == 2 and freed > 0
            assert await s.count_entries(p) == 4
            cutoff = utcnow()
            newest = await s.insert_entry(entry(p, Q))
            assert (await s.clear(p, expired_only=False, older_than=cutoff, now=utcnow()))[0] == 4
            assert [e.id for e in await s.list_entries(p)] == [newest]
            assert await s.clear(p, expired_only=True, older_than=None, now=utcnow()) == (0, 0)
            assert (await s.clear(p, expired_only=False, older_than=None, now=utcnow()))[0] == 1
            assert (await s.count_entries(p), await s.count_entries()) == (0, 1)

    asyncio.run(main())


def test_stats(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p, empty = await new_project(s), await new_project(s)
            now = utcnow()
            e1 = await s.insert_entry(entry(p, Q))
            e2 = await s.insert_entry(entry(p, B))
            await s.insert_entry(entry(p, C, expires_at=now - timedelta(seconds=1)))
            await s.add_events([
                UsageEvent(p, "hit", entry_id=e1, similarity=0.9, tokens=10, cost_saved_usd=0.01),
                UsageEvent(p, "hit", entry_id=e2, similarity=0.8, tokens=5, cost_saved_usd=0.02),
                UsageEvent(p, "miss", tokens=99, cost_usd=0.5),
            ])
            st = await s.stats(p, now)
            assert (st.project_id, st.total_entries, st.active_entries, st.expired_entries,
                    st.total_hits, st.total_tokens_saved) == (p, 3, 2, 1, 2, 15)
            assert st.total_cost_saved == pytest.approx(0.03)
            assert st.avg_similarity_score == pytest.approx(0.85)
            assert st.cache_size_mb > 0
            assert await s.stats(empty, now) == ProjectStats(empty, 0, 0, 0, 0, 0, 0.0, None, 0.0)

    asyncio.run(main())


def test_a_small_partition_is_searched_among_many_closer_vectors(store: Backend) -> None:
    """The pgvector trap: an approximate (HNSW) scan of the whole table, filtered by partition
    afterwards, finds none of a small partition's entries when the nearest vectors all belong
    to another one. PostgreSQL's planner takes that path once the table has statistics (as
    autovacuum's ANALYZE gives it), so each search runs before and after them."""
    async def main() -> None:
        rng = np.random.default_rng(7)
        crowd = normalised(Q + 0.05 * rng.standard_normal((2000, DIMS)))  # cosines ~0.99
        few = normalised(np.abs(rng.standard_normal((200, DIMS))) * [0.2, 1, 1, 1])
        cosines = few @ Q
        async with store.open() as s:
            p = await new_project(s)
            stored: dict[str, list[str]] = {"crowd": [], "few": []}
            for partition, vectors in (("crowd", crowd), ("few", few)):
                for start in range(0, len(vectors), 250):
                    stored[partition] += await asyncio.gather(*(
                        s.insert_entry(entry(p, v, partition=partition))
                        for v in vectors[start:start + 250]))
            nearest = [stored["few"][i] for i in np.argsort(-cosines)]
            for analyzed in (False, True):
                if analyzed:
                    store.sql("ANALYZE entries")
                for k in (1, 5, 10):
                    found = await s.search("few", Q, k, utcnow())
                    assert ids(found) == nearest[:k], (analyzed, k)
                    assert [score for _, score in found] == pytest.approx(
                        sorted(cosines, reverse=True)[:k], abs=1e-5)
            crowded = await s.search("crowd", Q, 5, utcnow())
            assert len(crowded) == 5
            assert all(e.partition == "crowd" and score > 0.9 for e, score in crowded)

    asyncio.run(main())


def test_erasing_a_user_removes_their_entries_and_events(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p, q = await new_project(s), await new_project(s)
            u1a = await s.insert_entry(entry(p, Q, user_hash="u1"))
            u1b = await s.insert_entry(entry(q, B, user_hash="u1"))
            u2 = await s.insert_entry(entry(p, C, user_hash="u2"))
            anonymous = await s.insert_entry(entry(p, D))
            await s.add_events([
                UsageEvent(p, "hit", entry_id=u1a, user_hash="u1", similarity=0.9),
                UsageEvent(q, "miss", user_hash="u1"), UsageEvent(p, "store", user_hash="u1"),
                UsageEvent(p, "miss", user_hash="u2")])
            assert [e.id for e in await s.entries_for_user("u1")] == [u1a, u1b]
            assert await s.erase_user("u1") == (2, 3)
            assert await s.entries_for_user("u1") == []
            assert await s.get_entry(u1a) is None and await s.get_entry(u1b) is None
            assert u1a not in ids(await s.search("part", Q, 10, utcnow()))
            assert (await s.stats(p, utcnow())).total_hits == 0  # the hit event went too
            assert [e.id for e in await s.entries_for_user("u2")] == [u2]
            assert await s.erase_user("u2") == (1, 1)
            assert await s.get_entry(anonymous) is not None
            assert await s.erase_user("nobody") == (0, 0)

    asyncio.run(main())


def test_events_bump_hit_counts_and_key_usage(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p = await new_project(s)
            key = api_key(p)
            await s.add_api_key(key)
            e1, e2 = await s.insert_entry(entry(p, Q)), await s.insert_entry(entry(p, B))
            used_at = utcnow()
            await s.add_events([UsageEvent(p, "hit", entry_id=e1, key_id=key.id),
                                UsageEvent(p, "hit", entry_id=e1),
                                UsageEvent(p, "hit", entry_id=e2),
                                UsageEvent(p, "miss", key_id=key.id)],
                               key_usage={key.id: (3, used_at)})
            hits = [(await s.get_entry(e)) for e in (e1, e2)]
            assert [e.hit_count if e else None for e in hits] == [2, 1]
            got = await s.get_api_key(key.id)
            assert got is not None and (got.request_count, got.last_used_at) == (3, used_at)
            # an older flush adds its requests but never moves last_used_at back
            await s.add_events([UsageEvent(p, "hit", entry_id=e1)],
                               key_usage={key.id: (2, used_at - timedelta(minutes=5))})
            got = await s.get_api_key(key.id)
            assert got is not None and (got.request_count, got.last_used_at) == (5, used_at)
            again = await s.get_entry(e1)
            assert again is not None and again.hit_count == 3
            assert (await s.stats(p, utcnow())).total_hits == 4

    asyncio.run(main())


def test_audit_is_newest_first_and_append_only(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p, q = await new_project(s), await new_project(s)
            now = utcnow()
            await s.add_audit("a.one", project_id=p, actor="admin", target="t1", details={"n": 1})
            await s.add_audit("a.two", project_id=q, actor=None, target=None)
            await s.add_audit("a.three", project_id=p, actor="key:abc", target="t3",
                              details={"nested": {"x": [1, 2]}})
            await s.add_audit("a.global", project_id=None, actor="cli", target=None)
            log = await s.list_audit()
            assert [e.action for e in log] == ["a.global", "a.three", "a.two", "a.one"]
            assert [e.id for e in log] == sorted((e.id for e in log), reverse=True)
            assert [e.action for e in await s.list_audit(p)] == ["a.three", "a.one"]
            assert [e.action for e in await s.list_audit(limit=2)] == ["a.global", "a.three"]
            one, two = log[3], log[2]
            assert (one.project_id, one.actor, one.target, one.details) == (
                p, "admin", "t1", {"n": 1})
            assert (two.actor, two.target, two.details) == (None, None, {})
            assert log[1].details == {"nested": {"x": [1, 2]}}
            assert abs(one.at - now) < timedelta(seconds=10)
            with pytest.raises(store.db_error):
                store.sql("UPDATE audit SET action = 'forged'")
            with pytest.raises(store.db_error):
                store.sql("DELETE FROM audit")
            assert await s.list_audit() == log

    asyncio.run(main())


def test_nothing_sensitive_is_stored_in_plaintext(store: Backend) -> None:
    needle = uuid.uuid4().hex
    control = f"partition-{uuid.uuid4().hex}"  # stored as is (looked up by equality)

    async def main() -> None:
        async with store.open() as s:
            p = await new_project(s)
            eid = await s.insert_entry(entry(
                p, Q, control, prompt=f"prompt {needle}", response=f"answer {needle}",
                context=f"context {needle}", metadata={"tag": needle},
                shape={"history": [{"role": "user", "content": needle}]}))
            await s.set_provider(ProviderConfig(p, "openai", f"sk-{needle}", None, utcnow()))
            got, provider = await s.get_entry(eid), await s.get_provider(p)
            assert got is not None and got.response == f"answer {needle}"
            assert provider is not None and provider.api_key == f"sk-{needle}"
            rows = store.sql("SELECT * FROM entries") + store.sql("SELECT * FROM providers")
            cells = [bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                     for row in rows for v in row]
            assert any(control.encode() in c for c in cells)  # the scan sees the rows
            assert not any(needle.encode() in c for c in cells)

    asyncio.run(main())
    on_disk = store.bytes_at_rest()
    assert control.encode() in on_disk and needle.encode() not in on_disk


def test_data_key_rotation(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            p = await new_project(s)
            old_rows = [await s.insert_entry(entry(p, v, prompt=f"rotating {i}"))
                        for i, v in enumerate((Q, B, C))]
            await s.set_provider(ProviderConfig(p, "openai", "sk-rotate", None, utcnow()))
            (old,) = await s.data_keys()
            assert old.active and old.retired_at is None and old.rows == 4
            assert await s.pending_reencryption() == 0
            new_kid = await s.add_data_key()
            keys = {k.kid: k for k in await s.data_keys()}
            assert set(keys) == {old.kid, new_kid}
            assert keys[new_kid].active and not keys[old.kid].active
            assert await s.pending_reencryption() == 4
            await s.insert_entry(entry(p, D, prompt="rotating after"))  # under the new key
            assert await s.pending_reencryption() == 4
            with pytest.raises(ValidationFailed) as in_use:
                await s.retire_data_key(old.kid)
            assert in_use.value.code == "data_key_in_use"
            with pytest.raises(ValidationFailed) as active:
                await s.retire_data_key(new_kid)
            assert active.value.code == "data_key_active"
            with pytest.raises(NotFound):
                await s.retire_data_key("no-such-kid")
            moved = [await s.reencrypt_batch(3) for _ in range(3)]
            assert moved == [3, 1, 0] and await s.pending_reencryption() == 0
            await s.retire_data_key(old.kid)
            await s.retire_data_key(old.kid)  # again: nothing to do
            keys = {k.kid: k for k in await s.data_keys()}
            assert keys[old.kid].retired_at is not None and keys[old.kid].rows == 0
            assert keys[new_kid].rows == 5
        async with store.open() as s:  # a later process: everything reads under the new key
            got = [await s.get_entry(e) for e in old_rows]
            assert [e.prompt if e else None for e in got] == [f"rotating {i}" for i in range(3)]
            provider = await s.get_provider(p)
            assert provider is not None and provider.api_key == "sk-rotate"
            assert prompts(await s.search("part", Q, 1, utcnow())) == ["rotating 0"]

    asyncio.run(main())


def test_rewrap_moves_the_data_keys_to_a_new_master_key(store: Backend) -> None:
    new_master = Fernet.generate_key()

    async def main() -> None:
        async with store.open() as s:
            p = await new_project(s)
            eid = await s.insert_entry(entry(p, Q, prompt="sealed"))
            await s.set_provider(ProviderConfig(p, "openai", "sk-rewrap", None, utcnow()))
            assert await s.rewrap_data_keys(new_master) == 1
            got = await s.get_entry(eid)  # the running process keeps working
            assert got is not None and got.prompt == "sealed"
        async with store.open(new_master) as s:
            got, provider = await s.get_entry(eid), await s.get_provider(p)
            assert got is not None and got.prompt == "sealed"
            assert provider is not None and provider.api_key == "sk-rewrap"
        with pytest.raises(ConfigurationError):
            async with store.open():  # the old master key no longer opens the data keys
                pass

    asyncio.run(main())


def test_meta_ping_and_index_status(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as s:
            await s.ping()
            assert await s.get_meta("contract.missing") is None
            await s.set_meta("contract.k", "v1")
            assert await s.get_meta("contract.k") == "v1"
            await s.set_meta("contract.k", "v2")
            assert await s.get_meta("contract.k") == "v2"
            status = await s.index_status()
            assert {"vectors", "building"} <= set(status)
            assert all(isinstance(v, int) for v in status.values())
        async with store.open() as s:
            assert await s.get_meta("contract.k") == "v2"

    asyncio.run(main())


def test_two_replicas_on_one_database_see_each_others_writes(store: Backend) -> None:
    async def main() -> None:
        async with store.open() as a, store.open() as b:
            project = await a.create_project("shared")
            assert await b.get_project_by_name("shared") == project
            p = project.id
            key = api_key(p)
            await a.add_api_key(key)
            new = entry(p, Q, prompt="from a")
            eid = await a.insert_entry(new)
            found = await b.find_exact("part", new.exact_key, utcnow())
            assert found is not None and found.id == eid
            assert await b.insert_entry(replace(new, response="again")) == eid
            if hasattr(b, "catch_up"):
                # SQLite: another process's in-memory index learns of new rows by polling the
                # table (every ~2 s); PostgreSQL searches the shared table itself
                await b.catch_up()
            assert ids(await b.search("part", Q, 5, utcnow())) == [eid]
            revoked = await b.update_api_key(key.id, revoked_at=utcnow())
            seen = await a.find_api_key(key.key_hash)
            assert seen is not None and seen.revoked_at == revoked.revoked_at
            assert await a.raise_entry_floor(eid, 0.97) == 0.97
            floor = await b.get_entry(eid)
            assert floor is not None and floor.min_similarity == 0.97
            # a data key added by one replica: the other seals its next write under it, and
            # reads rows sealed under it
            await a.add_data_key()
            from_b = await b.insert_entry(entry(p, B, prompt="from b"))
            assert await a.pending_reencryption() == 1  # only the row written before
            from_a = await a.insert_entry(entry(p, C, prompt="from a, rotated"))
            got = [await a.get_entry(from_b), await b.get_entry(from_a)]
            assert [e.prompt if e else None for e in got] == ["from b", "from a, rotated"]

    asyncio.run(main())
