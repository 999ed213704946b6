"""``vectorcache serve``: first-start bootstrap, then the HTTP server."""

from __future__ import annotations

import logging
import os

import click

from vectorcache.cli.admin import first_owner_hint
from vectorcache.cli.common import run_with_runtime
from vectorcache.runtime import Runtime
from vectorcache.service.admin import DEFAULT_PROJECT

__all__ = ["serve"]


async def _bootstrap(rt: Runtime) -> list[str]:
    """On an empty data dir: project ``default``, one key, and the provider from the env."""
    lines: list[str] = []
    created = await rt.admin.bootstrap()
    project = await rt.admin.project(DEFAULT_PROJECT) if created else None
    if created is not None and project is not None:
        lines += [f"Created project '{DEFAULT_PROJECT}' and its first API key "
                  "(shown once: store it now):", created.key]
        openai_key = os.environ.get("OPENAI_API_KEY")
        if openai_key:
            await rt.admin.set_provider(project, provider="openai", api_key=openai_key,
                                        base_url=os.environ.get("OPENAI_BASE_URL"),
                                        actor="bootstrap")
            lines.append("Stored OPENAI_API_KEY (encrypted) as the default project's "
                         "provider key.")
    for project in await rt.admin.list_projects():
        if await rt.store.get_provider(project.id) is None:
            lines.append(f"Project '{project.name}' has no provider key: cache misses answer "
                         f"502 until you run: vectorcache providers set --project "
                         f"{project.name} --provider openai  (key on stdin)")
    return lines + await first_owner_hint(rt)


@click.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the HTTP server (embedded default: SQLite file + local model).

    \b
    Example:
      VECTORCACHE_DATA_DIR=/var/lib/vectorcache vectorcache serve --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from vectorcache.api.app import create_app
    from vectorcache.settings import Settings

    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs full provider URLs at INFO; some providers take keys in the query string
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for line in run_with_runtime(_bootstrap):
        click.echo(line)
    host = host or settings.host
    port = port or settings.port
    click.echo(f"Vectorcache listening on http://{host}:{port} (data dir: "
               f"{settings.data_dir.resolve()})", err=True)
    # the client address is the socket peer unless VECTORCACHE_TRUSTED_PROXIES says otherwise:
    # uvicorn's own X-Forwarded-For handling (on by default, believing 127.0.0.1) stays off
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False,
                log_level=settings.log_level.lower(), server_header=False,
                proxy_headers=False, forwarded_allow_ips="")
