"""``vectorcache cache``: stats, import (embeds with the real model), export, clear."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from vectorcache.runtime import Runtime
from vectorcache.settings import Settings


@pytest.fixture
def run(cli_run):
    return cli_run


def test_import_export_stats_clear(run, tmp_path: Path) -> None:
    run("projects", "create", "faq", "--default-model", "gpt-4o")
    source = tmp_path / "faq.jsonl"
    source.write_text("\n".join([
        json.dumps({"prompt": "How do I reset my password?", "response": "Use the link.",
                    "metadata": {"topic": "auth"}, "ttl_seconds": 3600,
                    "min_similarity": 0.97, "wrong_reports": 2}),
        json.dumps({"messages": [{"role": "system", "content": "Be kind."},
                                 {"role": "user", "content": "Where is my order?"}],
                    "response": "On its way.", "model": "gpt-4o-mini", "context": "eu"}),
        "{not json",
        json.dumps({"prompt": "No answer"}),
        "",
    ]) + "\n")
    out = json.loads(run("cache", "import", "--project", "faq", str(source), "--json").stdout)
    assert out["imported"] == 2 and out["skipped"] == 2
    assert [e["line"] for e in out["errors"]] == [3, 4]

    stats = json.loads(run("cache", "stats", "--project", "faq", "--json").stdout)
    assert stats["total_entries"] == 2

    exported = tmp_path / "out.jsonl"
    run("cache", "export", "--project", "faq", "-o", str(exported))
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert {r["prompt"] for r in rows} == {"How do I reset my password?", "Where is my order?"}
    first = next(r for r in rows if r["prompt"].startswith("How"))
    assert first["response"] == "Use the link." and first["metadata"] == {"topic": "auth"}
    assert first["expires_at"] and first["created_at"] and "embedding" not in first
    assert next(r for r in rows if r["context"] == "eu")["model"] == "gpt-4o-mini"
    # wrong-answer reports travel with their entry
    assert (first["min_similarity"], first["wrong_reports"]) == (0.97, 2)
    assert "wrong_reports" not in next(r for r in rows if r["context"] == "eu")

    cleared = json.loads(run("cache", "clear", "--project", "faq", "--yes", "--json").stdout)
    assert cleared["entries_cleared"] == 2
    reimport = run("cache", "import", "--project", "faq", str(exported)).stdout
    assert "Imported 2 entries" in reimport


def test_help_everywhere_has_examples(run) -> None:
    for command in ("stats", "clear", "export", "import"):
        assert "Example" in run("cache", command, "--help").output
    assert "--fallback-models" in run("providers", "set", "--help").output


def test_unknown_project_is_a_message(run) -> None:
    result = run("cache", "stats", "--project", "nope", ok=False)
    assert result.exit_code != 0 and "not found" in result.output


def test_a_chat_entry_round_trips_into_the_same_partition(run, tmp_path: Path,
                                                          encoder) -> None:
    from vectorcache.service.requests import CacheRequest

    conversation = [{"role": "system", "content": "Answer briefly."},
                    {"role": "user", "content": "Tell me about the Moon."},
                    {"role": "assistant", "content": "It orbits the Earth."},
                    {"role": "user", "content": "How far away is it?"}]
    params = {"temperature": 0.2}
    run("projects", "create", "old", "--default-model", "gpt-4o")
    run("projects", "create", "new", "--default-model", "gpt-4o")
    source = tmp_path / "chat.jsonl"
    source.write_text(json.dumps({"messages": conversation, "params": params,
                                  "response": "About 384,400 km."}) + "\n")
    run("cache", "import", "--project", "old", str(source))
    exported = tmp_path / "export.jsonl"
    run("cache", "export", "--project", "old", "-o", str(exported))
    (record,) = [json.loads(line) for line in exported.read_text().splitlines()]
    assert record["messages"] == conversation and record["params"] == params
    run("cache", "import", "--project", "new", str(exported))

    async def ask(messages: list[dict[str, str]], sampling: dict[str, float]) -> bool:
        async with Runtime.open(Settings(), encoder=encoder) as rt:
            who = rt.admin.principal_for(await rt.admin.project("new"))
            found = await rt.cache.lookup(who, CacheRequest(
                messages=messages, model="gpt-4o", params=sampling))
            return bool(found.hit and found.response == "About 384,400 km.")

    assert asyncio.run(ask(conversation, params))  # same conversation, same partition
    other = [*conversation[:1], {"role": "user", "content": "Tell me about Mars."},
             *conversation[2:]]
    assert not asyncio.run(ask(other, params))  # another conversation: never
    assert not asyncio.run(ask(conversation, {"temperature": 0.9}))  # other sampling


def test_import_into_a_user_scope_project_files_each_line_under_its_user(
        run, tmp_path: Path, encoder) -> None:
    """A project scoped 'user' stores nothing without a user: such lines are reported and
    skipped, never counted as imported; a line's "user" puts it in that user's partition."""
    from vectorcache.service.requests import CacheRequest

    run("projects", "create", "medical", "--cache-scope", "user", "--default-model", "gpt-4o")
    source = tmp_path / "medical.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in [
        {"prompt": "Can I take ibuprofen with my blood thinner?", "response": "Ask first.",
         "user": "alice"},
        {"prompt": "Is my rash contagious?", "response": "Probably not."},
        {"prompt": "Is my cough serious?", "response": "See a doctor.", "user": 7},
    ]) + "\n")
    out = json.loads(run("cache", "import", "--project", "medical", str(source),
                         "--json").stdout)
    assert out["imported"] == 1 and out["skipped"] == 2, out
    assert [e["line"] for e in out["errors"]] == [2, 3]
    assert "cache scope is 'user'" in out["errors"][0]["error"]
    assert '"user"' in out["errors"][0]["error"]
    stats = json.loads(run("cache", "stats", "--project", "medical", "--json").stdout)
    assert stats["total_entries"] == 1
    plain = run("cache", "import", "--project", "medical", str(source)).output
    assert "line 2: Not stored" in plain and "Imported 1 entries; skipped 2." in plain

    async def hit(user: str | None) -> bool:
        async with Runtime.open(Settings(), encoder=encoder) as rt:
            who = rt.admin.principal_for(await rt.admin.project("medical"))
            found = await rt.cache.lookup(who, CacheRequest(
                prompt="Can I take ibuprofen with my blood thinner?", model="gpt-4o",
                user=user))
            return bool(found.hit and found.response == "Ask first.")

    assert asyncio.run(hit("alice"))  # alice's own partition
    assert not asyncio.run(hit("bob")) and not asyncio.run(hit(None))
