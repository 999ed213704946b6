"""The API Keys page's edit form, read into the admin API's ``KeyUpdate``: the same strict
types and bounds as ``PATCH /v1/keys/{id}`` and ``PATCH /admin/api/projects/{id}/keys/{id}``,
and the same conversion into the key service's changes (``key_changes``). A field the form
sends back as the key already has it is left out, so the audit names what changed."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from vectorcache.api.errors import validation_message
from vectorcache.api.keys_routes import KeyUpdate, key_changes
from vectorcache.errors import ValidationFailed
from vectorcache.models import ApiKey
from vectorcache.security.delegation import KNOWN_SCOPES

__all__ = ["edit_changes", "split_list"]

_WHOLE = re.compile(r"[0-9]{1,30}")


def split_list(text: str) -> tuple[str, ...]:
    """A comma- or line-separated list typed into a field, without blanks."""
    return tuple(p.strip() for p in text.replace("\n", ",").split(",") if p.strip())


def _whole(fields: dict[str, str], name: str) -> int | None:
    """An optional whole number typed into a field; its bounds are ``KeyUpdate``'s."""
    text = fields.get(name, "").strip()
    if not text:
        return None
    if not _WHOLE.fullmatch(text):
        raise ValidationFailed(f"{name} must be a whole number (empty: no limit)", param=name)
    return int(text)


def _unchanged(key: ApiKey, name: str, value: Any) -> bool:
    if name == "scopes":
        return set(value) == set(key.scopes)
    if name in ("models", "allowed_ips"):
        return tuple(value) == tuple(getattr(key, name))
    return bool(value == getattr(key, name))


def edit_changes(fields: dict[str, str], key: ApiKey) -> dict[str, Any]:
    """The form's fields as the key service's changes to ``key`` (400 on bad input)."""
    quota = _whole(fields, "quota_requests")
    body = {
        "name": fields.get("name", "").strip(),
        "scopes": [s for s in KNOWN_SCOPES if fields.get(f"scope_{s}")],
        "models": list(split_list(fields.get("models", ""))),
        "allowed_ips": list(split_list(fields.get("allowed_ips", ""))),
        "rate_limit_per_minute": _whole(fields, "rate_limit_per_minute"),
        "quota": None if quota is None else
        {"requests": quota, "period": fields.get("quota_period", "day")},
    }
    try:
        update = KeyUpdate.model_validate(body)
    except ValidationError as exc:
        message, field = validation_message(list(exc.errors(include_url=False)))
        raise ValidationFailed(message, param=field) from None
    return {name: value for name, value in key_changes(update).items()
            if not _unchanged(key, name, value)}
