"""Everything a running Vectorcache needs, built from settings and closed in reverse order.

Used by the HTTP app's lifespan, the CLI and the benchmarks alike, so they all run one code path.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from threadpoolctl import threadpool_limits

from vectorcache.clock import utcnow
from vectorcache.console.service import Console
from vectorcache.crypto import load_master_key
from vectorcache.decision import DEFAULT_MODE, HitDecider, build_decider
from vectorcache.embeddings import Embedder, Encoder, build_embedder
from vectorcache.errors import ConfigurationError
from vectorcache.hashing import Hasher
from vectorcache.monitoring.service import Monitoring
from vectorcache.pricing import Pricing
from vectorcache.redis_client import Breaker
from vectorcache.secretfiles import read_or_create_secret
from vectorcache.service.admin import AdminService
from vectorcache.service.auth import Authenticator
from vectorcache.service.cache import CacheService
from vectorcache.service.entries import EntryService
from vectorcache.service.events import EventWriter
from vectorcache.service.feedback import FeedbackService
from vectorcache.service.idempotency import IdempotencyKeys
from vectorcache.service.miss_lease import MissLeases
from vectorcache.service.shared_idempotency import SharedIdempotency
from vectorcache.service.users import UserData
from vectorcache.settings import Settings
from vectorcache.store import Store, open_store_for_url

__all__ = ["Runtime"]

log = logging.getLogger("vectorcache")
_SPACE_KEY = "embedding_space"
_SECRET_KEY = "server_secret_fingerprint"  # noqa: S105 - a meta row's name, not a secret


def _one_blas_thread() -> None:
    """numpy's OpenBLAS keeps its worker threads spinning for a while after every call: with
    exact search (a matrix-vector product per lookup) a server one request at a time burned
    ~0.6 core doing nothing, CPU the event loop and the encoder need. Our products are small
    (at most 8,192 x 384 before the IVF index takes over), so one thread costs nothing."""
    threadpool_limits(limits=1, user_api="blas")



class _Deciders:
    """Mode name -> decider, built once each."""

    def __init__(self, model: str | None = None, warm: str = DEFAULT_MODE) -> None:
        self._model = model  # the embedding model: its verifier reads its cosines
        self._built: dict[str, HitDecider] = {}
        self(warm)  # load the default rule's weights now, not on the first request

    def __call__(self, mode: str) -> HitDecider:
        decider = self._built.get(mode)
        if decider is None:
            decider = self._built[mode] = build_decider(mode, self._model)
        return decider


class _NoEmbedder:
    """Stands in when a runtime is opened for management only (the CLI): never loads a model."""

    model_id = "none"
    dims = 384

    async def embed(self, texts: Any) -> Any:
        raise RuntimeError("This runtime was opened without an embedding model.")

    async def close(self) -> None:
        return None


def embedding_space(embedder: Any) -> str:
    """Which vectors this server makes: its model and precision (vectors of two spaces are
    never compared; ``vectorcache cache reembed`` moves entries to this one)."""
    space = getattr(embedder, "space", None)
    return str(space) if space else f"{embedder.model_id} fp32"


async def check_server_secret(store: Store, hasher: Hasher) -> None:
    """Records which server secret the database's hashes were made with; refuses another."""
    stored = await store.get_meta(_SECRET_KEY)
    if stored is None:
        await store.set_meta(_SECRET_KEY, hasher.fingerprint())
    elif stored != hasher.fingerprint():
        raise ConfigurationError(
            "This database's keys and entries were hashed with another server secret: every "
            "API key would be refused and every entry missed. Start with the same secret as "
            "the other replicas (VECTORCACHE_SERVER_SECRET, or the data dir's server.secret).")


async def check_embedding_space(store: Store, space: str) -> int:
    """Records the space of the server's vectors; warns when entries of another model wait to
    be moved (after ``VECTORCACHE_EMBEDDING_MODEL`` changed), and returns how many."""
    if await store.get_meta(_SPACE_KEY) != space:
        await store.set_meta(_SPACE_KEY, space)
    others = await store.count_other_space()
    if others:
        log.warning(
            "%d entries were embedded by another model than this server's (%s): they still "
            "hit exactly, but not by meaning, until moved with `vectorcache cache reembed` "
            "(safe while the server runs).", others, space)
    return others


@dataclass
class Runtime:
    settings: Settings
    store: Store
    embedder: Embedder
    hasher: Hasher
    events: EventWriter
    auth: Authenticator
    admin: AdminService
    cache: CacheService
    entries: EntryService
    feedback: FeedbackService
    users: UserData
    http: httpx.AsyncClient
    #: responses kept for retries that carry an ``Idempotency-Key`` (in Redis too, if set)
    idempotency: SharedIdempotency
    #: the console's time (its sessions expire by it); tests may pass their own
    clock: Callable[[], datetime] = utcnow
    #: the request log, analytics, metrics, alerts and retention (``monitoring/``)
    monitoring: Monitoring | None = None

    @functools.cached_property
    def console(self) -> Console:
        """Admin accounts, sessions, roles and approvals (``console/``)."""
        return Console(self.store, self.hasher, self.admin, self.settings, self.clock)

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings, *, with_embedder: bool = True,
                   encoder: Encoder | None = None,
                   master_key: bytes | None = None,
                   clock: Callable[[], datetime] = utcnow,
                   breaker: Breaker | None = None) -> AsyncIterator[Runtime]:
        """Build everything; ``encoder`` lends an already-loaded model (closed by its owner);
        ``master_key`` overrides the one the settings name (re-wrapping needs that);
        ``breaker``: the replica's (shared with its rate limits), else one of its own."""
        breaker = breaker or Breaker(settings.redis_breaker_seconds)
        if with_embedder:
            _one_blas_thread()  # process-wide: this process serves requests
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.data_dir.chmod(0o700)
        secret = (settings.server_secret.get_secret_value().encode() if settings.server_secret
                  else read_or_create_secret(settings.data_dir / "server.secret",
                                             lambda: secrets.token_hex(32).encode()))
        hasher = Hasher(secret)
        async with AsyncExitStack() as stack:
            embedder: Embedder = (build_embedder(settings, encoder) if with_embedder
                                  else _NoEmbedder())
            stack.push_async_callback(embedder.close)
            if with_embedder:
                await embedder.embed(["warm-up"])  # first-run costs paid before serving
            store = open_store_for_url(settings.resolved_database_url(),
                                       master_key or load_master_key(settings), embedder.dims,
                                       searchable=with_embedder,
                                       space=embedding_space(embedder) if with_embedder
                                       else None)
            await store.open()
            stack.push_async_callback(store.close)
            await check_server_secret(store, hasher)
            if with_embedder:
                await check_embedding_space(store, embedding_space(embedder))
            events = EventWriter(store)
            events.start()
            stack.push_async_callback(events.close)
            http = httpx.AsyncClient(timeout=httpx.Timeout(
                settings.upstream_timeout_seconds,
                connect=settings.upstream_connect_timeout_seconds))
            stack.push_async_callback(http.aclose)
            # short, and renewed while the call goes on: a replica that dies holding one
            # stalls the others on its prompt for one lease at most
            leases = MissLeases(settings.rate_limit_storage_url, settings.miss_lease_seconds,
                                breaker)
            stack.push_async_callback(leases.close)
            cache = CacheService(settings=settings, store=store, embedder=embedder,
                                 decider_for=_Deciders(settings.embedding_model),
                                 hasher=hasher, events=events,
                                 pricing=Pricing.from_file(settings.pricing_file), http=http,
                                 leases=leases)
            monitoring = Monitoring(store, events, embedder, settings=settings, clock=clock)
            cache.on_timings = monitoring.metrics.observe_steps
            await monitoring.start(serving=with_embedder)
            stack.push_async_callback(monitoring.close)
            yield cls(settings=settings, store=store, embedder=embedder, hasher=hasher,
                      events=events, auth=Authenticator(store, hasher, events, clock),
                      admin=AdminService(
                          store, hasher,
                          default_threshold=settings.default_similarity_threshold), cache=cache,
                      entries=EntryService(store),
                      feedback=FeedbackService(store, embedder, cache.matched_view,
                                               cache.respelt_vector),
                      users=UserData(store, hasher, events), http=http,
                      idempotency=SharedIdempotency(
                          IdempotencyKeys(ttl_seconds=settings.idempotency_ttl_seconds),
                          leases, hasher, store, breaker,
                          settings.idempotency_ttl_seconds), clock=clock,
                      monitoring=monitoring)
