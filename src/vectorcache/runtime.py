"""Everything a running Vectorcache needs, built from settings and closed in reverse order.

Used by the HTTP app's lifespan, the CLI and the benchmarks alike, so they all run one code path.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from threadpoolctl import threadpool_limits

from vectorcache.crypto import load_master_key
from vectorcache.decision import DEFAULT_MODE, HitDecider, build_decider
from vectorcache.embeddings import Embedder, Encoder, build_embedder
from vectorcache.errors import ConfigurationError
from vectorcache.hashing import Hasher
from vectorcache.pricing import Pricing
from vectorcache.secretfiles import read_or_create_secret
from vectorcache.service.admin import AdminService
from vectorcache.service.auth import Authenticator
from vectorcache.service.cache import CacheService
from vectorcache.service.entries import EntryService
from vectorcache.service.events import EventWriter
from vectorcache.service.feedback import FeedbackService
from vectorcache.service.miss_lease import MissLeases
from vectorcache.settings import Settings
from vectorcache.store import Store, open_store_for_url

__all__ = ["Runtime"]

log = logging.getLogger("vectorcache")
_SPACE_KEY = "embedding_space"
_SECRET_KEY = "server_secret_fingerprint"


def _one_blas_thread() -> None:
    """numpy's OpenBLAS keeps its worker threads spinning for a while after every call: with
    exact search (a matrix-vector product per lookup) a server one request at a time burned
    ~0.6 core doing nothing, CPU the event loop and the encoder need. Our products are small
    (at most 8,192 x 384 before the IVF index takes over), so one thread costs nothing."""
    threadpool_limits(limits=1, user_api="blas")



class _Deciders:
    """Mode name -> decider, built once each."""

    def __init__(self, warm: str = DEFAULT_MODE) -> None:
        self._built: dict[str, HitDecider] = {}
        self(warm)  # load the default rule's weights now, not on the first request

    def __call__(self, mode: str) -> HitDecider:
        decider = self._built.get(mode)
        if decider is None:
            decider = self._built[mode] = build_decider(mode)
        return decider


class _NoEmbedder:
    """Stands in when a runtime is opened for management only (the CLI): never loads a model."""

    model_id = "none"
    dims = 384

    async def embed(self, texts: Any) -> Any:
        raise RuntimeError("This runtime was opened without an embedding model.")

    async def close(self) -> None:
        return None


def embedding_space(settings: Settings, model_id: str) -> str:
    """Which vectors this server makes. Vectors of another space still compare, but drift
    (int8 vs fp32: cosine 0.994 on average for the same text), so borderline decisions move."""
    int8 = settings.embedding_backend == "onnx" and settings.embedding_precision == "int8"
    return f"{model_id} {'int8' if int8 else 'fp32'}"


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


async def check_embedding_space(store: Store, space: str) -> str | None:
    """Records the database's embedding space on first use; warns (and returns the stored one)
    when this server embeds differently, e.g. after ``VECTORCACHE_EMBEDDING_PRECISION`` changed."""
    stored = await store.get_meta(_SPACE_KEY)
    if stored is None:
        await store.set_meta(_SPACE_KEY, space)
        return None
    if stored != space:
        log.warning(
            "The stored vectors were made by %s; this server embeds with %s. They still "
            "match, with a small drift in similarity. To re-embed everything: `vectorcache "
            "cache export`, then `cache import` into a new data directory.", stored, space)
        return stored
    return None


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
    http: httpx.AsyncClient

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings, *, with_embedder: bool = True,
                   encoder: Encoder | None = None,
                   master_key: bytes | None = None) -> AsyncIterator[Runtime]:
        """Build everything; ``encoder`` lends an already-loaded model (closed by its owner);
        ``master_key`` overrides the one the settings name (re-wrapping needs that)."""
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
                                       searchable=with_embedder)
            await store.open()
            stack.push_async_callback(store.close)
            await check_server_secret(store, hasher)
            if with_embedder:
                await check_embedding_space(store, embedding_space(settings, embedder.model_id))
            events = EventWriter(store)
            events.start()
            stack.push_async_callback(events.close)
            http = httpx.AsyncClient(timeout=httpx.Timeout(
                settings.upstream_timeout_seconds,
                connect=settings.upstream_connect_timeout_seconds))
            stack.push_async_callback(http.aclose)
            # a lease lasts as long as a provider call may (then the others go on without it)
            leases = MissLeases(settings.rate_limit_storage_url,
                                settings.upstream_connect_timeout_seconds
                                + settings.upstream_timeout_seconds + 5.0)
            stack.push_async_callback(leases.close)
            cache = CacheService(settings=settings, store=store, embedder=embedder,
                                 decider_for=_Deciders(), hasher=hasher, events=events,
                                 pricing=Pricing.from_file(settings.pricing_file), http=http,
                                 leases=leases)
            yield cls(settings=settings, store=store, embedder=embedder, hasher=hasher,
                      events=events, auth=Authenticator(store, hasher, events),
                      admin=AdminService(
                          store, hasher,
                          default_threshold=settings.default_similarity_threshold), cache=cache,
                      entries=EntryService(store),
                      feedback=FeedbackService(store, embedder, cache.matched_view,
                                               cache.respelt_vector), http=http)
