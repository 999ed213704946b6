"""The Python client, importable as ``vectorcache.client`` for code written before it became its
own distribution: ``clients/python`` (``vectorcache-client``, httpx only; ``pip install
./clients/python``), imported as ``vectorcache_client``, which new code should use. Re-exports
only; the old error names (which clashed with the server's) are aliases of the new ones.
"""

from vectorcache_client import (
    DEFAULT_BASE_URL,
    APIConnectionError,
    APIError,
    AsyncVectorcacheClient,
    AuthenticationError,
    ClearResult,
    ClientConfigurationError,
    FeedbackResult,
    HealthStatus,
    LookupResult,
    NotFoundError,
    PermissionDeniedError,
    ProjectStats,
    QueryResult,
    RateLimitError,
    RequestTimeout,
    ServerError,
    SimilarEntry,
    SimilarResult,
    StoreResult,
    ValidationError,
    VectorcacheClient,
    VectorcacheClientError,
)

# the names before the split
VectorcacheError = VectorcacheClientError
TimeoutError = RequestTimeout
ConfigurationError = ClientConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "AsyncVectorcacheClient",
    "AuthenticationError",
    "ClearResult",
    "ClientConfigurationError",
    "ConfigurationError",
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
    "TimeoutError",
    "ValidationError",
    "VectorcacheClient",
    "VectorcacheClientError",
    "VectorcacheError",
]
