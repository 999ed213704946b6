"""``vectorcache projects`` and ``vectorcache providers``."""

from __future__ import annotations

import os
from typing import Any

import click

from vectorcache.cli.common import print_json, print_table, read_secret_input, run_with_runtime
from vectorcache.clock import to_iso
from vectorcache.models import Project
from vectorcache.runtime import Runtime
from vectorcache.upstream import ADAPTERS

__all__ = ["projects", "providers"]


def project_row(p: Project) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "created": to_iso(p.created_at),
            "default_model": p.default_model, "similarity_threshold": p.similarity_threshold}


@click.group()
def projects() -> None:
    """Projects: each has its own cache, keys and provider key."""


@projects.command("create")
@click.argument("name")
@click.option("--default-model", default=None, help="Model used when a request names none.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Default similarity threshold (0..1, default 0.85).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create_project(name: str, default_model: str | None, threshold: float | None,
                   as_json: bool) -> None:
    """Create a project.

    \b
    Example:
      vectorcache projects create support-bot --default-model gpt-4o-mini
    """
    settings: dict[str, Any] = {"default_model": default_model}
    if threshold is not None:
        settings["similarity_threshold"] = threshold

    async def action(rt: Runtime) -> Project:
        return await rt.admin.create_project(name, **settings)

    project = run_with_runtime(action)
    if as_json:
        print_json(project_row(project))
    else:
        click.echo(f"Created project {project.name!r} (id {project.id}).")


@projects.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_projects(as_json: bool) -> None:
    """List projects."""

    async def action(rt: Runtime) -> list[Project]:
        return await rt.admin.list_projects()

    rows = [project_row(p) for p in run_with_runtime(action)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "created", "default_model", "similarity_threshold"])


@click.group()
def providers() -> None:
    """The LLM provider each project calls on a miss (key stored encrypted)."""


@providers.command("set")
@click.option("--project", "project_ref", required=True, help="Project name or id.")
@click.option("--provider", type=click.Choice(sorted(ADAPTERS)), default="openai",
              show_default=True)
@click.option("--base-url", default=None,
              help="Base URL (default https://api.openai.com/v1; anthropic: "
                   "https://api.anthropic.com/v1).")
@click.option("--fallback-models", default=None,
              help="Comma-separated models to try, in order, when the requested one times out "
                   "or fails with a 5xx (response header X-Fallback-Used).")
def set_provider(project_ref: str, provider: str, base_url: str | None,
                 fallback_models: str | None) -> None:
    """Set a project's provider key, read from stdin or $VECTORCACHE_PROVIDER_KEY (never argv).

    \b
    Examples:
      echo "$OPENAI_API_KEY" | vectorcache providers set --project default --provider openai
      VECTORCACHE_PROVIDER_KEY=gsk_… vectorcache providers set --project p --provider groq \\
          --base-url https://api.groq.com/openai/v1
      echo "$ANTHROPIC_API_KEY" | vectorcache providers set --project p --provider anthropic \\
          --fallback-models claude-haiku-4-5
    """
    secret = read_secret_input(os.environ.get("VECTORCACHE_PROVIDER_KEY"), "provider API key")

    async def action(rt: Runtime) -> None:
        project = await rt.admin.project(project_ref)
        await rt.admin.set_provider(project, provider=provider, api_key=secret,
                                    base_url=base_url, fallback_models=tuple(
                                        m.strip() for m in (fallback_models or "").split(",")
                                        if m.strip()))

    run_with_runtime(action)
    click.echo(f"Stored the {provider} key for project {project_ref!r} (encrypted).")
