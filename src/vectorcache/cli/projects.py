"""``vectorcache projects`` and ``vectorcache providers``."""

from __future__ import annotations

import os
from typing import Any

import click

from vectorcache.bounds import MAX_ROTATION_DAYS, MAX_TTL_SECONDS
from vectorcache.cli.common import print_json, print_table, read_secret_input, run_with_runtime
from vectorcache.decision import MODES
from vectorcache.models import ENVIRONMENTS, Project, RotationPolicy
from vectorcache.runtime import Runtime
from vectorcache.service.project_settings import PII_POLICIES, project_view
from vectorcache.service.scope import CACHE_SCOPES
from vectorcache.upstream import ADAPTERS

__all__ = ["projects", "providers"]


@click.group()
def projects() -> None:
    """Projects: each has its own cache, keys and provider key."""


def _settings_options(fn: Any) -> Any:
    """The project settings shared by ``create`` and ``update``."""
    options = [
        click.option("--default-model", default=None, help="Model used when a request names none."),
        click.option("--threshold", type=click.FloatRange(0, 1), default=None,
                     help="Cosine floor: no hit below it (0..1, default 0.85)."),
        click.option("--target-error-rate", type=click.FloatRange(0, 0.5, min_open=True),
                     default=None, help="Share of requests the hit decision may answer wrongly "
                     "(default 0.01). Higher = more hits, more wrong ones."),
        click.option("--decision", "decision_mode", type=click.Choice(sorted(MODES)),
                     default=None, help="Hit rule: verified (default) or static cosine."),
        click.option("--ttl-seconds", type=click.IntRange(1, MAX_TTL_SECONDS), default=None,
                     help="Lifetime of new entries (at most ten years)."),
        click.option("--pii-policy", type=click.Choice(PII_POLICIES), default=None,
                     help="Personal data: bypass (answer, never store; default) or redact."),
        click.option("--allowed-models", default=None,
                     help="Comma-separated models this project may use."),
        click.option("--cache-scope", type=click.Choice(CACHE_SCOPES), default=None,
                     help="shared (default): one cache for all end users; user: each end "
                          "user (the request's 'user') answered from their own entries only."),
        *(click.option(f"--rotation-days-{env}", f"rotation_{env}",
                       type=click.IntRange(1, MAX_ROTATION_DAYS), default=None,
                       help=f"Days before a {env} key is due for rotation (default {days}).")
          for env, days in RotationPolicy().as_dict().items()),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _collect(**given: Any) -> dict[str, Any]:
    out = {k: v for k, v in given.items() if v is not None}
    policy = {env: out.pop(f"rotation_{env}") for env in ENVIRONMENTS
              if f"rotation_{env}" in out}
    if policy:
        out["rotation_policy"] = policy
    if "threshold" in out:
        out["similarity_threshold"] = out.pop("threshold")
    if "allowed_models" in out:
        out["allowed_models"] = tuple(m.strip() for m in out["allowed_models"].split(",")
                                      if m.strip())
    return out


@projects.command("create")
@click.argument("name")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create_project(name: str, as_json: bool, **given: Any) -> None:
    """Create a project.

    \b
    Example:
      vectorcache projects create support-bot --default-model gpt-4o-mini
    """
    settings = _collect(**given)

    async def action(rt: Runtime) -> Project:
        return await rt.admin.create_project(name, **settings)

    project = run_with_runtime(action)
    if as_json:
        print_json(project_view(project))
    else:
        click.echo(f"Created project {project.name!r} (id {project.id}).")


@projects.command("update")
@click.argument("project_ref")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def update_project(project_ref: str, as_json: bool, **given: Any) -> None:
    """Change a project's settings (only the options given).

    \b
    Examples:
      vectorcache projects update default --target-error-rate 0.02   # more hits
      vectorcache projects update default --decision static --threshold 0.9
    """
    settings = _collect(**given)
    if not settings:
        raise click.UsageError("Nothing to change: give at least one option.")

    async def action(rt: Runtime) -> Project:
        return await rt.admin.update_project(project_ref, **settings)

    project = run_with_runtime(action)
    if as_json:
        print_json(project_view(project))
    else:
        click.echo(f"Updated project {project.name!r}: {', '.join(sorted(settings))}.")


@projects.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_projects(as_json: bool) -> None:
    """List projects."""

    async def action(rt: Runtime) -> list[Project]:
        return await rt.admin.list_projects()

    rows = [project_view(p) for p in run_with_runtime(action)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "created_at", "default_model", "decision_mode",
                           "target_error_rate", "similarity_threshold"])


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
