"""``vectorcache cache``: stats, clear, export (JSONL, decrypted), import (JSONL), reembed."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import IO, Any

import click

from vectorcache.bounds import MAX_OLDER_THAN_HOURS
from vectorcache.cli.common import print_json, print_table, run_with_runtime
from vectorcache.clock import to_iso
from vectorcache.errors import VectorcacheError
from vectorcache.models import Entry, Usage
from vectorcache.runtime import Runtime
from vectorcache.service.plan import Plan
from vectorcache.service.reembed import Reembedder, ReembedResult
from vectorcache.service.scope import NO_USER

__all__ = ["cache", "entry_record"]

PAGE = 500


def entry_record(entry: Entry) -> dict[str, Any]:
    """An entry as exported: decrypted text and metadata, never its embedding or hashes. A chat
    entry also carries its conversation (``messages``, ending with the matched user turn) and
    sampling ``params``: importing the record puts it back in the same partition."""
    return {
        "id": entry.id, "prompt": entry.prompt, "response": entry.response,
        "model": entry.model, "context": entry.context, "metadata": entry.metadata,
        "usage": {"prompt_tokens": entry.usage.prompt_tokens,
                  "completion_tokens": entry.usage.completion_tokens},
        "provider": entry.provider, "hit_count": entry.hit_count,
        **({"min_similarity": entry.min_similarity, "wrong_reports": entry.wrong_reports}
           if entry.wrong_reports else {}),
        "created_at": to_iso(entry.created_at), "expires_at": to_iso(entry.expires_at),
        **entry.conversation(),
    }


@click.group()
def cache() -> None:
    """Inspect and manage a project's cache: stats, clear, export, import.

    \b
    Examples:
      vectorcache cache stats --project default
      vectorcache cache export --project default -o backup.jsonl
      vectorcache cache import --project default backup.jsonl
      vectorcache cache clear --project default --expired-only --yes
    """


@cache.command("stats")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(project_ref: str, as_json: bool) -> None:
    """Entries, hits, tokens and cost saved, size.

    \b
    Example:
      vectorcache cache stats --project default --json | jq .total_hits
    """

    async def action(rt: Runtime) -> dict[str, Any]:
        project = await rt.admin.project(project_ref)
        result = await rt.entries.stats(rt.admin.principal_for(project), project.id)
        return dict(result.__dict__)

    data = run_with_runtime(action)
    if as_json:
        print_json(data)
    else:
        print_table([{"stat": k, "value": v} for k, v in data.items()], ["stat", "value"])


@cache.command("clear")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--expired-only", is_flag=True, help="Only entries past their TTL.")
@click.option("--older-than-hours", type=click.FloatRange(0, MAX_OLDER_THAN_HOURS),
              default=None,
              help="Only entries created more than this many hours ago.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def clear(project_ref: str, expired_only: bool, older_than_hours: float | None, yes: bool,
          as_json: bool) -> None:
    """Remove cached entries (all of them unless filtered).

    \b
    Examples:
      vectorcache cache clear --project default --yes
      vectorcache cache clear --project default --older-than-hours 72 --yes
    """
    if not yes:
        click.confirm(f"Remove cached entries of project {project_ref!r}?", abort=True)

    async def action(rt: Runtime) -> dict[str, Any]:
        project = await rt.admin.project(project_ref)
        outcome = await rt.entries.clear(rt.admin.principal_for(project),
                                         expired_only=expired_only,
                                         older_than_hours=older_than_hours)
        return dict(outcome.__dict__)

    data = run_with_runtime(action)
    if as_json:
        print_json(data)
    else:
        click.echo(f"Cleared {data['entries_cleared']} entries "
                   f"({data['space_freed_mb']} MB).")


@cache.command("export")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              show_default=True, help="JSONL file to write ('-' is stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stderr.")
def export(project_ref: str, output: IO[str], as_json: bool) -> None:
    """Write every entry, decrypted, as JSON lines (prompt, response, model, context,
    metadata, usage, created_at, ...). Treat the file as sensitive.

    A chat entry's record also holds its conversation (``messages``) and sampling ``params``,
    so that importing it puts it back in the same partition (entries stored before this
    version kept the earlier turns only as a keyed hash: they export without them).

    \b
    Example:
      vectorcache cache export --project default -o backup.jsonl
    """

    async def action(rt: Runtime) -> int:
        project = await rt.admin.project(project_ref)
        total = await rt.store.count_entries(project.id)
        written = 0
        with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
            while True:
                page = await rt.store.list_entries(project.id, offset=written, limit=PAGE)
                for entry in page:
                    output.write(json.dumps(entry_record(entry), ensure_ascii=False) + "\n")
                written += len(page)
                bar.update(len(page))
                if len(page) < PAGE:
                    break
        await rt.store.add_audit("cache.export", project_id=project.id, actor="cli",
                                 target=project.id, details={"entries": written})
        return written

    count = run_with_runtime(action)
    output.flush()
    summary = {"exported": count}
    click.echo(json.dumps(summary) if as_json else f"Exported {count} entries.", err=True)


@dataclass
class _Import:
    imported: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _read_lines(source: IO[str]) -> list[tuple[int, dict[str, Any] | str]]:
    """(line number, record or the reason it is invalid), blank lines skipped."""
    out: list[tuple[int, dict[str, Any] | str]] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            out.append((number, "invalid JSON"))
            continue
        out.append((number, record if isinstance(record, dict) else "not a JSON object"))
    return out


def _not_stored(plan: Plan) -> str:
    """Why a line's entry is not stored (the reasons ``POST /v1/cache/store`` gives)."""
    if plan.bypass == NO_USER:
        return ("Not stored: the project's cache scope is 'user' and the line names no "
                "\"user\" (add the end user's id)")
    if plan.project.pii_policy == "redact":
        return ("Not stored: redacted personal data is kept only in its end user's partition "
                "(add \"user\")")
    return ("Not stored: the prompt, context, response or metadata contains personal data "
            "(the project's pii_policy is 'bypass')")


def _plan_record(rt: Runtime, project: Any, record: dict[str, Any]) -> Plan:
    response = record.get("response")
    if not isinstance(response, str) or not response.strip():
        raise click.UsageError("Field required: response")
    params = record.get("params") or {}
    if not isinstance(params, dict):
        raise click.UsageError("params must be a JSON object")
    user = record.get("user")
    if user is not None and (not isinstance(user, str) or len(user) > 256):
        raise click.UsageError("user must be a string of at most 256 characters")
    plan = rt.cache.plan(rt.admin.principal_for(project), prompt=record.get("prompt"),
                         messages=record.get("messages"), model=record.get("model"),
                         context=record.get("context"), params=params, threshold=None,
                         user=user)
    if plan.bypass:  # refused before embedding: nothing would be stored
        raise click.UsageError(_not_stored(plan))
    return plan


async def _keep_reports(rt: Runtime, entry_id: str | None, record: dict[str, Any]) -> None:
    """An exported entry's wrong-answer reports come back with it (its raised floor)."""
    floor, reports = record.get("min_similarity"), record.get("wrong_reports")
    if (entry_id and isinstance(floor, (int, float)) and 0 < floor <= 1
            and isinstance(reports, int) and reports > 0):
        await rt.store.raise_entry_floor(entry_id, float(floor), reports)


@cache.command("reembed")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=64, show_default=True,
              help="Prompts embedded per batch.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def reembed(batch_size: int, as_json: bool) -> None:
    """Move every entry to the configured embedding model (loads it).

    Entries whose vectors another model made still hit exactly, but not semantically, until
    moved. Safe while the server runs (it picks moved entries up within seconds) and
    resumable: run it again after an interruption. Prompts are decrypted in memory only.

    \b
    Example:
      VECTORCACHE_EMBEDDING_MODEL=vc-minilm-l6-pairs vectorcache cache reembed
    """

    async def action(rt: Runtime) -> ReembedResult:
        reembedder = Reembedder(rt.store, rt.embedder, rt.cache.respelt_vector,
                                rt.store.get_project)
        with click.progressbar(length=await reembedder.pending(), label="Re-embedding",
                               file=sys.stderr) as bar:
            result = await reembedder.run(batch_size, bar.update)
        await rt.store.add_audit("cache.reembed", project_id=None, actor="cli",
                                 target=rt.store.space, details={"entries": result.moved})
        return result

    result = run_with_runtime(action, with_embedder=True)
    if as_json:
        print_json({"moved": result.moved, "vanished": result.vanished})
        return
    click.echo(f"Re-embedded {result.moved} entries"
               + (f" ({result.vanished} were deleted meanwhile)." if result.vanished else "."))


@cache.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=64, show_default=True,
              help="Prompts embedded per batch.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def import_(source: IO[str], project_ref: str, batch_size: int, as_json: bool) -> None:
    """Load prompt/response pairs from JSON lines (loads the embedding model).

    Each line: {"prompt" or "messages", "response", "model"?, "context"?, "params"?,
    "metadata"?, "ttl_seconds"?, "usage"?, "min_similarity"?, "wrong_reports"?, "user"?}.
    "model" defaults to the project's default model; "user" (the end user's id) files the
    entry under that user (erasable with their data), and a project scoped 'user' needs it on
    every line (an export has none: add it). Invalid or unstorable lines are reported and
    skipped; an export file of a shared project imports as is.

    \b
    Examples:
      vectorcache cache import --project default faq.jsonl
      cat faq.jsonl | vectorcache cache import --project default - --json
    """
    lines = _read_lines(source)

    async def action(rt: Runtime) -> _Import:
        project = await rt.admin.project(project_ref)
        principal = rt.admin.principal_for(project)
        result = _Import()
        with click.progressbar(length=len(lines), label="Importing", file=sys.stderr) as bar:
            for start in range(0, len(lines), batch_size):
                batch: list[tuple[int, dict[str, Any], Plan]] = []
                for number, record in lines[start:start + batch_size]:
                    try:
                        if isinstance(record, str):
                            raise click.UsageError(record)
                        batch.append((number, record, _plan_record(rt, project, record)))
                    except (VectorcacheError, click.UsageError) as exc:
                        message = exc.detail if isinstance(exc, VectorcacheError) \
                            else exc.message
                        result.errors.append({"line": number, "error": message})
                vectors: Any = await rt.embedder.embed([p.view.text for _, _, p in batch]) \
                    if batch else []
                for (number, record, plan), typed in zip(batch, vectors, strict=True):
                    # stored as a lookup's miss is: without slips of the keyboard
                    respelt = await rt.cache.respelt_vector(project, plan.view.text, typed)
                    vector = typed if respelt is None else respelt
                    usage = record.get("usage") or {}
                    ttl = record.get("ttl_seconds")
                    entry_id = await rt.cache.store_answer(
                        principal, plan, response=str(record["response"]),
                        usage=Usage(int(usage.get("prompt_tokens") or 0),
                                    int(usage.get("completion_tokens") or 0)),
                        provider=record.get("provider") or "import", user=record.get("user"),
                        metadata=record.get("metadata") if isinstance(
                            record.get("metadata"), dict) else None,
                        context=record.get("context"),
                        ttl_seconds=ttl if isinstance(ttl, int) and ttl > 0 else None,
                        vector=vector)
                    if entry_id is None:  # the personal-data gate refused the answer
                        result.errors.append({"line": number, "error": _not_stored(plan)})
                        continue
                    await _keep_reports(rt, entry_id, record)
                    result.imported += 1
                bar.update(len(lines[start:start + batch_size]))
        await rt.store.add_audit("cache.import", project_id=project.id, actor="cli",
                                 target=project.id, details={"entries": result.imported})
        return result

    result = run_with_runtime(action, with_embedder=True)
    result.errors.sort(key=lambda error: int(error["line"]))
    if as_json:
        print_json({"imported": result.imported, "skipped": len(result.errors),
                    "errors": result.errors})
        return
    for error in result.errors:
        click.echo(f"line {error['line']}: {error['error']} (skipped)", err=True)
    click.echo(f"Imported {result.imported} entries; skipped {len(result.errors)}.")
