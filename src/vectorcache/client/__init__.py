"""The Vectorcache Python SDK: the native cache API, sync and async, with typed results,
typed errors and retries. Imports nothing from the server.

    from vectorcache.client import VectorcacheClient

    with VectorcacheClient() as vc:            # $VECTORCACHE_API_KEY, $VECTORCACHE_BASE_URL
        answer = vc.query("What is the capital of France?", model="gpt-4o-mini")
        print(answer.cache_hit, answer.response)
"""

from vectorcache.client._base import DEFAULT_BASE_URL
from vectorcache.client._client import AsyncVectorcacheClient, VectorcacheClient
from vectorcache.client._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
    VectorcacheError,
)
from vectorcache.client._types import (
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
    "ConfigurationError",
    "FeedbackResult",
    "HealthStatus",
    "LookupResult",
    "NotFoundError",
    "PermissionDeniedError",
    "ProjectStats",
    "QueryResult",
    "RateLimitError",
    "ServerError",
    "SimilarEntry",
    "SimilarResult",
    "StoreResult",
    "TimeoutError",
    "ValidationError",
    "VectorcacheClient",
    "VectorcacheError",
]
