"""The app factory: everything is built from settings inside the lifespan; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from vectorcache import __version__
from vectorcache.api import (
    audit_routes,
    cache_routes,
    gateway_routes,
    health,
    keys_routes,
    project_routes,
    similar_routes,
    users_routes,
)
from vectorcache.api.errors import install_error_handlers
from vectorcache.api.middleware import AccessLog, BodySizeLimit, JsonBodies
from vectorcache.embeddings import Encoder
from vectorcache.runtime import Runtime
from vectorcache.security.guard import AccessGuard
from vectorcache.security.ratelimit import RateLimitHeaders
from vectorcache.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None) -> FastAPI:
    """The ASGI app; ``encoder`` lends an already-loaded embedding model (tests, benchmarks)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Runtime.open(settings, encoder=encoder) as rt:
            app.state.runtime = rt
            yield

    app = FastAPI(title="Vectorcache", version=__version__, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.access_guard = AccessGuard(settings)
    install_error_handlers(app)
    for router in (health.router, cache_routes.router, similar_routes.router,
                   gateway_routes.router,
                   keys_routes.router, users_routes.router, audit_routes.router,
                   project_routes.router):
        app.include_router(router)
    app.add_middleware(JsonBodies)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    app.add_middleware(RateLimitHeaders)
    return app
