"""Alerts as a service: evaluate the rules (the schedule calls ``evaluate``), store what they
find, queue deliveries to the project's webhooks; list and acknowledge alerts; manage webhooks
and a project's rule settings. The JSON routes and the console both call this."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from vectorcache.bounds import MAX_INT64, MAX_RETENTION_DAYS
from vectorcache.errors import NotFound, ValidationFailed
from vectorcache.monitoring.alert_models import RULES, Alert, Delivery, Webhook
from vectorcache.monitoring.alert_rules import (
    DEFAULTS,
    Context,
    failed_auth_burst,
    key_rotation_due,
    merged,
    project_rules,
)
from vectorcache.monitoring.alert_store import AlertStore
from vectorcache.monitoring.instance_hook import INSTANCE_WEBHOOK
from vectorcache.monitoring.timerange import zone_of
from vectorcache.store import Store

__all__ = ["AlertService"]

WEBHOOK_FORMATS = ("json", "slack")
#: project settings besides the rules': retention (days), and the cache's cap (0: none)
RETENTION_DEFAULTS = {"request_log_days": 90, "audit_days": 365}
CACHE_DEFAULTS = {"max_entries": 0, "max_bytes": 0}


class AlertService:
    def __init__(self, store: Store, alerts: AlertStore, clock: Callable[[], float],
                 period: float, retention_defaults: dict[str, int] | None = None, *,
                 instance_hook: bool = False) -> None:
        """``instance_hook``: the instance's webhook is configured (``instance_hook.py``)."""
        self._instance_hook = instance_hook
        self._store = store
        self.store = alerts
        self._clock = clock
        self._period = period
        self._retention = {**RETENTION_DEFAULTS, **(retention_defaults or {})}

    # ------------------------------------------------------------ evaluation
    async def evaluate(self, now: float | None = None, since: float | None = None
                       ) -> list[Alert]:
        """Run every project's enabled rules over what happened since ``since`` (default: a
        period ago), and the server-wide ones; the alerts that are new, stored and queued."""
        now = self._clock() if now is None else now
        since = now - self._period if since is None else since
        raised: list[Alert] = []
        contexts: dict[str, Context] = {}
        for project_id in await self.store.projects_with_requests(min(since, now - 3600)):
            context = contexts[project_id] = await self._context(project_id, now, since)
            raised += await self._keep(await project_rules(context), now)
        for project in await self._store.list_projects():  # key age: with or without traffic
            context = contexts.get(project.id) or await self._context(project.id, now, since)
            if context.settings["key_rotation_due"]["enabled"]:
                raised += await self._keep(key_rotation_due(context), now)
        server = merged({}, ["failed_auth_burst"])["failed_auth_burst"]
        if server["enabled"]:
            raised += await self._keep(await failed_auth_burst(self.store, now, server), now)
        return raised

    async def _context(self, project_id: str, now: float, since: float) -> Context:
        settings = merged((await self.store.settings(project_id)).get("rules") or {})
        keys = {k.id: k for k in await self._store.list_api_keys(project_id)}
        return Context(self.store, project_id, settings, now, since, keys)

    async def _keep(self, found: list[Any], now: float) -> list[Alert]:
        """Store what is new; queue it for the project's webhooks, or, for a server-wide
        alert (no project), for the instance's webhook when one is configured."""
        kept = []
        for new in found:
            alert = await self.store.add_alert(new, now)
            if alert is None:
                continue
            kept.append(alert)
            if alert.project_id:
                hooks = [h.id for h in await self.store.webhooks(alert.project_id) if h.enabled]
            else:
                hooks = [INSTANCE_WEBHOOK] if self._instance_hook else []
            await self.store.enqueue(alert.id, hooks, now)
        return kept

    # ------------------------------------------------------------ alerts
    async def list_alerts(self, project_id: str | None, *, limit: int = 100,
                   unacknowledged: bool = False) -> list[Alert]:
        """A project's alerts, newest first (None: every project's, for the console)."""
        return await self.store.alerts(project_id, limit=limit, unacknowledged=unacknowledged)

    async def get(self, alert_id: str, project_id: str | None) -> tuple[Alert, list[Delivery]]:
        alert = await self.store.alert(alert_id)
        if alert is None or (project_id is not None and alert.project_id != project_id):
            raise NotFound("No such alert")
        return alert, await self.store.deliveries(alert_id)

    async def acknowledge(self, alert_id: str, project_id: str | None, actor: str) -> Alert:
        alert, _ = await self.get(alert_id, project_id)
        await self.store.acknowledge(alert.id, actor, self._clock())
        await self._store.add_audit("alert.acknowledge", project_id=alert.project_id or None,
                                    actor=actor, target=alert.id, details={"rule": alert.rule})
        acknowledged, _ = await self.get(alert_id, project_id)
        return acknowledged

    # ------------------------------------------------------------ webhooks
    async def add_webhook(self, project_id: str, url: str, *, fmt: str = "json",
                          secret: str | None = None, actor: str = "cli"
                          ) -> tuple[Webhook, str]:
        """The webhook and its signing secret (shown once)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
            raise ValidationFailed("url must be an http(s) URL of at most 2000 characters",
                                   param="url")
        if fmt not in WEBHOOK_FORMATS:
            raise ValidationFailed(f"format must be one of {', '.join(WEBHOOK_FORMATS)}",
                                   param="format")
        if secret is not None and not 16 <= len(secret) <= 256:
            raise ValidationFailed("secret must be 16 to 256 characters", param="secret")
        secret = secret or f"whsec_{secrets.token_hex(24)}"
        hook = await self.store.add_webhook(project_id, url, secret, fmt, self._clock())
        await self._store.add_audit("webhook.create", project_id=project_id, actor=actor,
                                    target=hook.id, details={"format": fmt})
        return hook, secret

    async def webhooks(self, project_id: str) -> list[Webhook]:
        return await self.store.webhooks(project_id)

    async def delete_webhook(self, project_id: str, webhook_id: str, actor: str = "cli") -> None:
        if not await self.store.delete_webhook(project_id, webhook_id):
            raise NotFound("No such webhook")
        await self._store.add_audit("webhook.delete", project_id=project_id, actor=actor,
                                    target=webhook_id)

    # ------------------------------------------------------------ settings
    async def settings(self, project_id: str) -> dict[str, Any]:
        stored = await self.store.settings(project_id)
        return {"rules": merged(stored.get("rules") or {}),
                "retention": {**self._retention, **(stored.get("retention") or {})},
                "cache": {**CACHE_DEFAULTS, **(stored.get("cache") or {})}}

    async def time_zone(self, project_id: str) -> str:
        """The project's time zone (its working hours', ``after_hours.timezone``): the days of
        its analytics unless a query names another; UTC if the stored name is unknown."""
        name = str((await self.settings(project_id))["rules"]["after_hours"]["timezone"])
        try:
            return zone_of(name).key
        except ValidationFailed:
            return "UTC"

    async def update_settings(self, project_id: str, changes: dict[str, Any],
                              actor: str = "cli") -> dict[str, Any]:
        """Tune or switch off rules (``{"rules": {"usage_spike": {"factor": 8}}}``) and set
        retention (``{"retention": {"request_log_days": 30}}``); unknown names are 400."""
        stored = await self.store.settings(project_id)
        rules = dict(stored.get("rules") or {})
        for name, values in (changes.get("rules") or {}).items():
            if name not in RULES or not isinstance(values, dict):
                raise ValidationFailed(f"unknown rule {name!r}; rules: {', '.join(RULES)}",
                                       param="rules")
            for field, value in values.items():
                if field not in DEFAULTS[name]:
                    raise ValidationFailed(f"rule {name} has no setting {field!r}",
                                           param="rules")
                _check_rule_value(name, field, value)
            rules[name] = {**(rules.get(name) or {}), **values}
        retention = dict(stored.get("retention") or {})
        for field, value in (changes.get("retention") or {}).items():
            if field not in RETENTION_DEFAULTS or not _whole(value) or not (
                    1 <= value <= MAX_RETENTION_DAYS):
                raise ValidationFailed("retention takes request_log_days and audit_days, "
                                       f"1 to {MAX_RETENTION_DAYS}", param="retention")
            retention[field] = value
        cache = dict(stored.get("cache") or {})
        for field, value in (changes.get("cache") or {}).items():
            if field not in CACHE_DEFAULTS or not _whole(value) or not 0 <= value <= MAX_INT64:
                raise ValidationFailed("cache takes max_entries and max_bytes, 0 (no cap) or "
                                       "more", param="cache")
            cache[field] = value
        unknown = set(changes) - {"rules", "retention", "cache"}
        if unknown:
            raise ValidationFailed(f"unknown settings: {', '.join(sorted(unknown))}")
        await self.store.set_settings(project_id, {"rules": rules, "retention": retention,
                                                   "cache": cache})
        await self._store.add_audit("monitoring.settings", project_id=project_id, actor=actor,
                                    target=project_id, details=changes)
        return await self.settings(project_id)


#: the numeric rule settings: (smallest, largest); a count of days, minutes or requests is whole
_RULE_RANGES: dict[str, tuple[float, float]] = {
    "factor": (1.0, 1_000.0), "rate": (0.001, 1.0), "days": (1, 28),
    "window_minutes": (1, 1_440), "notice_days": (0, 365),
    "min_requests": (1, 1_000_000_000), "min_errors": (1, 1_000_000_000),
    "min_failures": (1, 1_000_000_000)}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_rule_value(rule: str, field: str, value: Any) -> None:
    """One rule setting, strictly typed and bounded as it is stored (the rule evaluation reads
    it every period: a bad value would fail there, for every period, unseen)."""
    default = DEFAULTS[rule][field]
    name = f"{rule}.{field}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValidationFailed(f"{name} must be true or false", param="rules")
    elif field in _RULE_RANGES:
        low, high = _RULE_RANGES[field]
        number = _whole(value) or (isinstance(default, float) and isinstance(value, float))
        if not number or not low <= value <= high:
            kind = "a number" if isinstance(default, float) else "a whole number"
            raise ValidationFailed(f"{name} must be {kind} from {low:g} to {high:g}",
                                   param="rules")
    elif field == "timezone":  # also the days of the project's analytics
        try:
            zone_of(str(value) if isinstance(value, str) else "")
        except ValidationFailed:
            raise ValidationFailed(f"{name} must be an IANA time zone name, e.g. Europe/Paris",
                                   param="rules") from None
    elif field in ("start", "end"):
        if not isinstance(value, str) or not _clock_time(value):
            raise ValidationFailed(f"{name} must be a time of day, HH:MM", param="rules")
    elif field == "weekdays":
        if not isinstance(value, list) or len(value) > 7 or not all(
                _whole(d) and 0 <= d <= 6 for d in value):
            raise ValidationFailed(f"{name} must be a list of weekdays, 0 (Monday) to 6",
                                   param="rules")
    else:  # a setting added to DEFAULTS without a check here
        raise ValidationFailed(f"rule {rule} has no setting {field!r}", param="rules")


def _clock_time(text: str) -> bool:
    hours, sep, minutes = text.partition(":")
    return (sep == ":" and len(hours) == 2 and len(minutes) == 2 and hours.isascii()
            and minutes.isascii() and hours.isdigit() and minutes.isdigit()
            and int(hours) < 24 and int(minutes) < 60)
