"""Models side by side in one cache: each vector records the model that made it, a search
compares vectors of one model only, and ``vectorcache cache reembed`` moves a cache to the
server's model, on SQLite and PostgreSQL, while the entries not yet moved still hit exactly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from vectorcache.embeddings import Encoder
from vectorcache.embeddings.onnx import OnnxEncoder
from vectorcache.embeddings.shipped import STOCK_MODEL, TRAINED_MODEL, shipped_models
from vectorcache.runtime import Runtime
from vectorcache.service.reembed import Reembedder
from vectorcache.service.requests import CacheRequest
from vectorcache.settings import Settings

PROMPTS = {
    "How many moons does Mars have?": "Two: Phobos and Deimos.",
    "What is the boiling point of water at sea level?": "100 °C.",
    "Who wrote the novel Pride and Prejudice?": "Jane Austen.",
}
PARAPHRASE = ("What's the number of moons that Mars has?", "Two: Phobos and Deimos.")


@pytest.fixture(scope="module")
def other_encoder(encoder: Encoder) -> Iterator[OnnxEncoder]:
    """A shipped model other than the server's (the stock one, or the trained one)."""
    others = [name for name in shipped_models() if name != Settings().embedding_model]
    if others:
        enc = OnnxEncoder(others[0])
    else:  # one model shipped: the same file under another name is another space all the same
        spec = shipped_models()[Settings().embedding_model]
        enc = OnnxEncoder(replace(spec, model_id=spec.model_id + "-relabelled"))
    assert enc.space != getattr(encoder, "space", None)
    yield enc
    enc.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        yield request.getfixturevalue("postgres_url")


async def _fill(settings: Settings, encoder: Any) -> None:
    async with Runtime.open(settings, encoder=encoder) as rt:
        project = await rt.admin.create_project("p", default_model="gpt-4o")
        who = rt.admin.principal_for(project)
        for prompt, answer in PROMPTS.items():
            plan = rt.cache.plan(who, prompt=prompt, messages=None, model=None, context=None,
                                 params={}, threshold=None)
            await rt.cache.store_answer(who, plan, response=answer, usage=_usage(),
                                        provider="test", user=None, metadata=None,
                                        context=None, ttl_seconds=None)


def _usage() -> Any:
    from vectorcache.models import Usage

    return Usage(10, 5)


async def _ask(rt: Runtime, prompt: str) -> Any:
    who = rt.admin.principal_for(await rt.admin.project("p"))
    return await rt.cache.lookup(who, CacheRequest(prompt=prompt, include_debug=True))


def test_entries_of_another_model_hit_exactly_then_by_meaning_once_reembedded(
        tmp_path: Path, encoder: Encoder, other_encoder: OnnxEncoder, database: str | None,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database)
    asyncio.run(_fill(settings, other_encoder))  # a cache made by the other model

    async def served() -> None:
        with caplog.at_level(logging.WARNING, logger="vectorcache"):
            async with Runtime.open(settings, encoder=encoder) as rt:
                assert await rt.store.count_other_space() == len(PROMPTS)
                exact = await _ask(rt, "How many moons does Mars have?")
                assert exact.hit and exact.response == "Two: Phobos and Deimos."
                # a vector of another model is never compared with this server's
                assert not (await _ask(rt, PARAPHRASE[0])).hit
                moved = await Reembedder(rt.store, rt.embedder, rt.cache.respelt_vector,
                                         rt.store.get_project).run(batch=2)
                assert moved.moved == len(PROMPTS) and moved.vanished == 0
                assert await rt.store.count_other_space() == 0
                found = await _ask(rt, PARAPHRASE[0])  # the running server finds it at once
                assert found.hit and found.response == PARAPHRASE[1]
                # nothing else changed: the same entries, answers and counts
                assert await rt.store.count_entries() == len(PROMPTS)

    asyncio.run(served())
    assert "vectorcache cache reembed" in caplog.text

    async def restarted() -> None:  # and after a restart (the index is rebuilt from records)
        async with Runtime.open(settings, encoder=encoder) as rt:
            assert await rt.store.count_other_space() == 0
            assert (await _ask(rt, PARAPHRASE[0])).hit

    asyncio.run(restarted())


def test_reembed_command_moves_a_cache_and_is_resumable(
        cli_run: Any, tmp_path: Path, other_encoder: OnnxEncoder) -> None:
    data = tmp_path / "data"  # cli_run's data dir
    asyncio.run(_fill(Settings(data_dir=data), other_encoder))
    out = cli_run("cache", "reembed", "--batch-size", "2", "--json").stdout
    assert '"moved": 3' in out
    again = cli_run("cache", "reembed", "--json").stdout  # nothing left: a no-op
    assert '"moved": 0' in again


def test_both_models_ship_with_the_package() -> None:
    assert {TRAINED_MODEL, STOCK_MODEL} <= set(shipped_models())
