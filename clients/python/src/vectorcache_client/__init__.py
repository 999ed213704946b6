"""The Vectorcache Python SDK: the native cache API, sync and async, with typed results,
typed errors and retries. Imports nothing from the server.

    from vectorcache_client import VectorcacheClient

    with VectorcacheClient() as vc:            # $VECTORCACHE_API_KEY, $VECTORCACHE_BASE_URL
        answer = vc.query("What is the capital of France?", model="gpt-4o-mini")
        print(answer.cache_hit, answer.response)
"""

from vectorcache_client._base import DEFAULT_BASE_URL
from vectorcache_client._client import AsyncVectorcacheClient, VectorcacheClient
from vectorcache_client._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ClientConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    ValidationError,
    VectorcacheClientError,
)
from vectorcache_client._types import (
    ClearResult,
    FeedbackResult,
    HealthStatus,
    LookupResult,
    ProjectStats,
    QueryResult,
    SimilarEntry,
    SimilarResult,
    StoreResult,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "AsyncVectorcacheClient",
    "AuthenticationError",
    "ClearResult",
    "ClientConfigurationError",
    "FeedbackResult",
    "HealthStatus",
    "LookupResult",
    "NotFoundError",
    "PermissionDeniedError",
    "ProjectStats",
    "QueryResult",
    "RateLimitError",
    "RequestTimeout",
    "ServerError",
    "SimilarEntry",
    "SimilarResult",
    "StoreResult",
    "ValidationError",
    "VectorcacheClient",
    "VectorcacheClientError",
]
