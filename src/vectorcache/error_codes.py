"""Every error code the server sends, with its HTTP status, whether a retry can succeed, and
what it means. The one list a client reads (rendered as ``docs/errors.md``).

A code is the ``code`` of the native error shape ``{"detail", "code"}`` and of the gateway's
OpenAI-shaped ``{"error": {..., "code"}}``. ``tests/test_error_codes.py`` fails on a raise site
whose code is missing here, or whose status differs. The one code not listed is a provider's
own, passed through with ``ProviderRejected`` (a 4xx from the provider: the client's to fix).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CODES", "ErrorCode", "lookup", "render_markdown"]


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    retryable: bool  # may the same request succeed later, unchanged?
    meaning: str


def _codes(*rows: tuple[str, int, bool, str]) -> Mapping[str, ErrorCode]:
    return MappingProxyType({row[0]: ErrorCode(*row) for row in rows})


CODES: Mapping[str, ErrorCode] = _codes(
    # 400: the request is wrong; fix it
    ("invalid_request", 400, False, "A field is missing or invalid; `param` names it."),
    ("project_exists", 400, False, "A project with that name exists; pick another name."),
    ("key_not_active", 400, False, "The key is revoked or expired, so it cannot be changed."),
    ("data_key_active", 400, False, "The active data key cannot be retired; rotate first."),
    ("data_key_in_use", 400, False, "Rows are still sealed under that data key; re-wrap them "
                                    "first."),
    ("last_owner", 400, False, "The console's last owner cannot be removed or demoted."),
    ("weak_password", 400, False, "The password is too short, too long or contains the user "
                                  "name."),
    ("user_exists", 400, False, "A console user with that name exists."),
    ("already_decided", 400, False, "The approval request was already approved or denied."),
    ("confirmation_mismatch", 400, False, "A destructive console action needs the object's "
                                          "name typed to confirm it; it did not match."),
    # 401: who is asking is unknown
    ("missing_api_key", 401, False, "No API key was sent (`Authorization: Bearer vc_...`)."),
    ("invalid_api_key", 401, False, "The API key is unknown, malformed or revoked."),
    ("expired_api_key", 401, False, "The API key has expired; create a new one."),
    ("invalid_token", 401, False, "The `/metrics` bearer token is missing or wrong."),
    ("not_signed_in", 401, False, "The console session is missing or has expired; sign in."),
    ("invalid_admin_token", 401, False, "The admin API token (`Bearer vca_...`) is malformed, "
                                        "unknown, revoked or expired."),
    ("invalid_credentials", 401, False, "Wrong user name or password."),
    ("code_required", 401, False, "Two-factor sign-in: send the TOTP or backup code too."),
    ("invalid_code", 401, False, "The TOTP or backup code is wrong or was already used."),
    ("enrolment_required", 401, False, "The account must enrol a TOTP device before signing in."),
    # (400s of the console's account page)
    ("enrolment_code_mismatch", 400, False, "Enrolling a TOTP device: the code does not match "
                                            "its secret; check the device's clock."),
    ("wrong_current_password", 400, False, "Changing a password: the current one is wrong."),
    # 403: known, but not allowed
    ("permission_denied", 403, False, "The key may not act on this project."),
    ("insufficient_scope", 403, False, "The key lacks the scope this route needs "
                                       "(e.g. `cache:write`)."),
    ("project_access_denied", 403, False, "The key or user belongs to another project."),
    ("model_access_denied", 403, False, "The key or project is not allowed this model."),
    ("ip_not_allowed", 403, False, "The client's IP is outside the key's allow-list."),
    ("privilege_escalation", 403, False, "A key cannot grant more than it holds (scopes, models, "
                                         "IPs, expiry, limits, cache scope)."),
    ("csrf_failed", 403, False, "The console form's CSRF token is missing or wrong; reload the "
                                "page."),
    ("read_only", 403, False, "The console role may only read here."),
    ("admin_only", 403, False, "Only an owner or an admin may do this."),
    ("owner_only", 403, False, "Only an owner may do this."),
    ("session_required", 403, False, "Admin tokens are made only from a signed-in console "
                                     "session."),
    # 404, 405
    ("not_found", 404, False, "No such route, project, key or entry."),
    ("model_not_found", 404, False, "The gateway knows no such model for this project."),
    ("method_not_allowed", 405, False, "The route exists but not with this method; see `Allow`."),
    # 413, 415, 431
    ("payload_too_large", 413, False, "The body is over the size limit."),
    ("unsupported_media_type", 415, False, "Send `Content-Type: application/json`."),
    ("header_too_large", 431, False, "A header is over its documented size limit."),
    # 422: valid, but not cacheable
    ("not_cacheable", 422, False, "The request is valid but cannot be cached."),
    ("personal_data", 422, False, "Not stored: the text holds personal data and the project's "
                                  "`pii_policy` is `bypass`."),
    ("user_required", 422, False, "Not stored: the cache scope is `user` and the request names "
                                  "no end user (`user`)."),
    ("idempotency_key_reused", 422, False, "This `Idempotency-Key` came with another request; "
                                           "send a new key with a new request."),
    ("non_text_content", 422, False, "Only text content is cached (no images or audio)."),
    ("tool_calls", 422, False, "Tool calls are not cached."),
    ("unsupported_role", 422, False, "A message role this provider adapter cannot pass on."),
    # 429: slow down
    ("rate_limit_exceeded", 429, True, "Too many requests; wait `Retry-After` seconds."),
    ("quota_exceeded", 429, True, "The key's daily or monthly quota is spent; `Retry-After` "
                                  "says when it resets."),
    ("login_locked", 429, True, "Too many failed sign-ins; wait `Retry-After` seconds."),
    ("upstream_rate_limited", 429, True, "The provider rate-limited us; its `Retry-After` is "
                                         "passed on."),
    # 500
    ("internal_error", 500, False, "A bug: the server logged it (no details are sent)."),
    ("configuration_error", 500, False, "The server's settings are incomplete; see its log."),
    ("http_error", 500, False, "Another HTTP error from the framework; the status says which."),
    # 502, 503: the provider or the server's backing services
    ("upstream_error", 502, True, "The provider failed (5xx or an unreadable answer)."),
    ("upstream_timeout", 502, True, "The provider did not answer in time."),
    ("upstream_unreachable", 502, True, "The provider could not be reached."),
    ("upstream_stream_error", 502, True, "The provider's stream broke off with an error."),
    ("upstream_stream_incomplete", 502, True, "The provider's stream ended without finishing."),
    ("upstream_auth_error", 502, False, "The provider refused the project's provider key; "
                                        "set a valid one."),
    ("upstream_bad_request", 502, False, "The provider rejected the request without a code "
                                         "of its own (sent with its 4xx when one the client "
                                         "can fix, e.g. a context too long)."),
    ("provider_not_configured", 502, False, "The project has no provider key for this model; "
                                            "add one."),
    ("service_unavailable", 503, True, "The database or another backing service is down; "
                                       "retry after `Retry-After`."),
)


def lookup(code: str) -> ErrorCode | None:
    return CODES.get(code)


def render_markdown() -> str:
    """The table in ``docs/errors.md`` (``python -m vectorcache.error_codes > docs/errors.md``)."""
    lines = [
        "# Error codes",
        "",
        "Every `code` the server sends (generated from `src/vectorcache/error_codes.py`; "
        "`tests/test_error_codes.py` keeps it complete). `retryable`: the same request may "
        "succeed later unchanged. A provider's own code may also pass through with the "
        "provider's 4xx status.",
        "",
        "| code | status | retryable | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{c.code}` | {c.status} | {'yes' if c.retryable else 'no'} | {c.meaning} |"
              for c in sorted(CODES.values(), key=lambda c: (c.status, c.code))]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
