"""The app factory: everything is built from settings inside the lifespan; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI

from vectorcache import __version__
from vectorcache.api import (
    alerts_routes,
    analytics_routes,
    audit_routes,
    cache_routes,
    gateway_routes,
    health,
    keys_routes,
    metrics_routes,
    project_routes,
    similar_routes,
    users_routes,
)
from vectorcache.api.admin_routes import admin_routers
from vectorcache.api.docs import install_docs
from vectorcache.api.errors import install_error_handlers
from vectorcache.api.header_limits import HeaderLimits
from vectorcache.api.json_guard import json_body_guard
from vectorcache.api.middleware import AccessLog, BodySizeLimit, JsonBodies
from vectorcache.api.openapi import install_openapi
from vectorcache.clock import utcnow
from vectorcache.console.web import install_console
from vectorcache.embeddings import Encoder
from vectorcache.monitoring.middleware import MonitorRequests
from vectorcache.redis_client import Breaker
from vectorcache.runtime import Runtime
from vectorcache.security.guard import AccessGuard
from vectorcache.security.ratelimit import RateLimitHeaders
from vectorcache.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The ASGI app; ``encoder`` lends an already-loaded embedding model (tests, benchmarks);
    ``clock``: the console's time (tests move it to expire sessions)."""
    settings = settings or Settings()
    breaker = Breaker(settings.redis_breaker_seconds)  # one per replica: every Redis client's

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Runtime.open(settings, encoder=encoder, clock=clock, breaker=breaker) as rt:
            app.state.runtime = rt
            yield

    app = FastAPI(title="Vectorcache", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # /docs: served offline by install_docs
                  dependencies=[Depends(json_body_guard)])  # finite numbers, valid Unicode
    app.state.access_guard = AccessGuard(settings, breaker)
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app, title=app.title)
    for router in (health.router, cache_routes.router, similar_routes.router,
                   gateway_routes.router,
                   keys_routes.router, users_routes.router, audit_routes.router,
                   project_routes.router, analytics_routes.router, metrics_routes.router,
                   alerts_routes.router):
        app.include_router(router)
    for router in admin_routers():
        app.include_router(router)
    install_console(app)
    app.add_middleware(JsonBodies)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeaderLimits)  # 431 over the documented header sizes
    app.add_middleware(AccessLog)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(MonitorRequests)  # outermost: sees every answer, 413s and 429s too
    return app
