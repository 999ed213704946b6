"""The embedded store: concurrency, restart, index rebuild, encryption at rest."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import settings_for
from cryptography.fernet import Fernet

from vectorcache.clock import utcnow
from vectorcache.index import HybridIndex
from vectorcache.models import NewEntry
from vectorcache.runtime import Runtime
from vectorcache.service.requests import CacheRequest, StoreRequest
from vectorcache.store.sqlite import SqliteStore
from vectorcache.store.sqlite_schema import SCHEMA_VERSION


def _run(coro):
    return asyncio.run(coro)


async def _project(rt: Runtime):
    # these tests are about storage, not the hit decision: use the plain cosine rule
    project = await rt.admin.create_project("p", decision_mode="static")
    return project, rt.admin.principal_for(project)


def test_concurrent_writes_lose_nothing(tmp_path: Path, encoder) -> None:
    async def main() -> None:
        async with Runtime.open(settings_for(tmp_path), encoder=encoder) as rt:
            _, who = await _project(rt)
            ids = await asyncio.gather(*(
                rt.cache.store(who, StoreRequest(prompt=f"question number {i} about {i * 7}",
                                                 response=f"answer {i}", model="m"))
                for i in range(60)))
            assert len(set(ids)) == 60
            assert await rt.store.count_entries(who.project.id) == 60
            # the same prompt stored concurrently is kept once
            same = await asyncio.gather(*(
                rt.cache.store(who, StoreRequest(prompt="one prompt", response="r", model="m"))
                for _ in range(10)))
            assert len(set(same)) == 1
            for i in (0, 31, 59):
                got = await rt.cache.lookup(who, CacheRequest(
                    prompt=f"question number {i} about {i * 7}", model="m"))
                assert got.hit and got.response == f"answer {i}"

    _run(main())
    with sqlite3.connect(tmp_path / "vectorcache.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_index_is_persisted_and_rebuilt_from_records(tmp_path: Path, encoder) -> None:
    settings = settings_for(tmp_path)

    async def fill() -> str:
        async with Runtime.open(settings, encoder=encoder) as rt:
            _, who = await _project(rt)
            await rt.cache.store(who, StoreRequest(prompt="How tall is Mount Everest?",
                                                   response="8849 m", model="m"))
            return str(await rt.cache.store(who, StoreRequest(
                prompt="Who painted the Mona Lisa?", response="Leonardo", model="m")))

    async def lookups() -> list[bool]:
        async with Runtime.open(settings, encoder=encoder) as rt:
            who = rt.admin.principal_for(await rt.admin.project("p"))
            out = []
            for prompt in ("What is the height of Mount Everest?",
                           "Who was the painter of the Mona Lisa?"):
                out.append((await rt.cache.lookup(who, CacheRequest(prompt=prompt,
                                                                    model="m"))).hit)
            return out

    deleted = _run(fill())
    snapshot = tmp_path / "vectorcache.db.index"
    assert snapshot.exists()
    assert _run(lookups()) == [True, True]  # from the snapshot
    # rows changed behind the snapshot's back: the records win
    with sqlite3.connect(tmp_path / "vectorcache.db") as conn:
        conn.execute("DELETE FROM entries WHERE id = ?", (deleted,))
    assert _run(lookups()) == [True, False]
    # no snapshot at all: rebuilt from the records
    for f in tmp_path.glob("vectorcache.db.index*"):
        f.unlink() if f.is_file() else None
    assert _run(lookups()) == [True, False]


def test_nothing_sensitive_is_stored_in_plaintext(tmp_path: Path, encoder) -> None:
    secrets = ["quokka-sapphire-prompt-9931", "walrus-ember-answer-5517",
               "narwhal-context-2208", "metadata-okapi-7781"]

    async def main() -> str:
        async with Runtime.open(settings_for(tmp_path), encoder=encoder) as rt:
            project, who = await _project(rt)
            key = await rt.admin.create_key(project)
            await rt.admin.set_provider(project, provider="openai",
                                        api_key="sk-provider-kiwi-3141", base_url=None)
            await rt.cache.store(who, StoreRequest(
                prompt=f"Tell me about {secrets[0]}", response=secrets[1], model="m",
                context=secrets[2], metadata={"tag": secrets[3]}, user="alice@example.com"))
            return str(key.key)

    api_key = _run(main())
    blob = b"".join(f.read_bytes() for f in tmp_path.rglob("*") if f.is_file())
    for needle in [*secrets, api_key, "sk-provider-kiwi-3141", "alice@example.com"]:
        assert needle.encode() not in blob, needle


def test_rows_written_before_encryption_still_read(tmp_path: Path, encoder) -> None:
    async def main() -> None:
        async with Runtime.open(settings_for(tmp_path), encoder=encoder) as rt:
            _, who = await _project(rt)
            entry_id = await rt.cache.store(who, StoreRequest(prompt="legacy question",
                                                              response="x", model="m"))
        with sqlite3.connect(tmp_path / "vectorcache.db") as conn:
            conn.execute("UPDATE entries SET kid = NULL, prompt = ?, response = ? WHERE id = ?",
                         (b"legacy question", b"plain answer", entry_id))
        async with Runtime.open(settings_for(tmp_path), encoder=encoder) as rt:
            who = rt.admin.principal_for(await rt.admin.project("p"))
            got = await rt.cache.lookup(who, CacheRequest(prompt="legacy question", model="m"))
            assert got.hit and got.response == "plain answer"

    _run(main())


def _back_to_version_1(conn: sqlite3.Connection) -> None:
    """Drop every table, index and column that a later schema step added (the data stays)."""
    from vectorcache.store.sqlite_schema import _STEPS, _split

    v1 = sqlite3.connect(":memory:")
    for statement in _split(_STEPS[0]):
        v1.execute(statement)
    names = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    keep = set(v1.execute(names).fetchall())
    for kind, name in conn.execute(names).fetchall():
        if (kind, name) not in keep and kind in ("index", "trigger"):
            conn.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    for kind, name in conn.execute(names).fetchall():
        if kind == "table" and (kind, name) not in keep:
            conn.execute(f"DROP TABLE {name}")
        elif kind == "table":
            wanted = {r[1] for r in v1.execute(f"PRAGMA table_info({name})")}
            for column in [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]:
                if column not in wanted:
                    conn.execute(f"ALTER TABLE {name} DROP COLUMN {column}")
    conn.execute("PRAGMA user_version = 1")


def test_a_version_1_database_is_migrated_in_place(tmp_path: Path, encoder) -> None:
    """A data dir made before entries kept their conversation shape (schema 1)."""
    async def main() -> None:
        async with Runtime.open(settings_for(tmp_path), encoder=encoder) as rt:
            _, who = await _project(rt)
            await rt.cache.store(who, StoreRequest(prompt="old question", response="old",
                                                   model="m"))
        with sqlite3.connect(tmp_path / "vectorcache.db") as conn:
            _back_to_version_1(conn)
        async with Runtime.open(settings_for(tmp_path), encoder=encoder) as rt:
            who = rt.admin.principal_for(await rt.admin.project("p"))
            got = await rt.cache.lookup(who, CacheRequest(prompt="old question", model="m"))
            assert got.hit and got.response == "old"
        with sqlite3.connect(tmp_path / "vectorcache.db") as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            columns = [r[1] for r in conn.execute("PRAGMA table_info(entries)")]
            assert {"shape", "min_similarity", "wrong_reports", "space"} <= set(columns)

    _run(main())


def test_a_serving_process_catches_up_with_entries_added_elsewhere(tmp_path: Path,
                                                                   encoder) -> None:
    settings = settings_for(tmp_path)

    async def main() -> None:
        async with Runtime.open(settings, encoder=encoder) as server:
            _, who = await _project(server)
            await server.cache.store(who, StoreRequest(prompt="Who discovered penicillin?",
                                                       response="Fleming", model="m"))
            # another process (the CLI's import, say) writes to the same file meanwhile
            async with Runtime.open(settings, encoder=encoder) as other:
                other_who = other.admin.principal_for(await other.admin.project("p"))
                await other.cache.store(other_who, StoreRequest(
                    prompt="What is the speed of light in vacuum?", response="c", model="m"))
            ask = CacheRequest(prompt="How fast does light travel in a vacuum?", model="m")
            assert await server.store.catch_up() == 1  # the other one's entry, not our own
            assert (await server.cache.lookup(who, ask)).hit
            assert await server.store.catch_up() == 0

    _run(main())


def test_a_big_partition_scores_candidates_exactly(tmp_path: Path) -> None:
    """Past its threshold a partition is searched over 8-bit codes (faiss IVF), whose scores
    run ~1e-3 low; the store rescores the candidates with their float vectors, so a decision
    sees the same cosine at 100k entries as at 100."""
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(400, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[7] + 0.3 * vectors[8]
    query = (query / np.linalg.norm(query)).astype(np.float32)
    index = HybridIndex(32, ann_threshold=100)

    async def main() -> None:
        store = SqliteStore(tmp_path / "v.db", Fernet.generate_key(), 32, index=index)
        await store.open()
        try:
            project = await store.create_project("p")
            for i, v in enumerate(vectors):
                await store.insert_entry(NewEntry(project_id=project.id, partition="part",
                                                  exact_key=str(i), model="m", prompt=str(i),
                                                  response="r", embedding=v))
            assert await asyncio.to_thread(index.wait_idle, 60)
            assert index.partition_kinds() == {"part": "hnsw"}  # the approximate index
            found = await store.search("part", query, 8, utcnow())
            scores = [score for _, score in found]
            exact = [float(vectors[int(e.prompt)] @ query) for e, _ in found]
            assert scores == pytest.approx(exact, abs=1e-6)
            assert scores == sorted(scores, reverse=True) and found[0][0].prompt == "7"
        finally:
            await store.close()

    _run(main())
