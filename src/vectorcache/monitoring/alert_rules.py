"""The alert rules: each reads the request log or its rollups for one project (or, for failed
authentications, the whole server; for key age, the project's keys) and returns the alerts it
finds, with their evidence.

Rules are pure of time: ``now`` and the previous run come from the caller (the schedule, or a
test's clock). Each alert carries a ``dedupe`` so that evaluating again raises nothing new.
"""

from __future__ import annotations

import ipaddress
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vectorcache.models import ApiKey
from vectorcache.monitoring.alert_models import NewAlert
from vectorcache.monitoring.alert_store import AlertStore

__all__ = ["DEFAULTS", "Context", "failed_auth_burst", "key_rotation_due", "network_of",
           "project_rules"]

HOUR, DAY = 3600, 86400

DEFAULTS: dict[str, dict[str, Any]] = {
    "usage_spike": {"enabled": True, "factor": 5.0, "min_requests": 100, "days": 7},
    "new_network": {"enabled": True},
    "error_rate": {"enabled": True, "window_minutes": 15, "min_errors": 20, "rate": 0.25},
    "after_hours": {"enabled": False, "timezone": "UTC", "start": "08:00", "end": "19:00",
                    "weekdays": [0, 1, 2, 3, 4]},
    "rotated_key_used": {"enabled": True},
    "key_rotation_due": {"enabled": True, "notice_days": 7},
    "failed_auth_burst": {"enabled": True, "window_minutes": 5, "min_failures": 20},
}


@dataclass(frozen=True)
class Context:
    store: AlertStore
    project_id: str
    settings: dict[str, dict[str, Any]]  # DEFAULTS, overridden by the project's
    now: float
    since: float  # the previous evaluation (or a period ago)
    keys: dict[str, ApiKey]


def network_of(ip: str) -> str | None:
    """The client network an address belongs to: its /24 (IPv4) or /48 (IPv6)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def _key_label(ctx: Context, key_id: str) -> str:
    key = ctx.keys.get(key_id)
    return f"{key.name} ({key.prefix}…)" if key else key_id


async def usage_spike(ctx: Context) -> list[NewAlert]:
    """A key's requests this hour against the same hour of the days before."""
    s = ctx.settings["usage_spike"]
    hour = int(ctx.now // HOUR) * HOUR
    past = [hour - d * DAY for d in range(1, int(s["days"]) + 1)]
    counts: dict[str, dict[int, int]] = {}
    for key_id, bucket, n in await ctx.store.key_hours(ctx.project_id, [hour, *past]):
        counts.setdefault(str(key_id), {})[int(bucket)] = int(n)
    out = []
    for key_id, by_hour in counts.items():
        current = by_hour.get(hour, 0)
        history = [by_hour.get(b, 0) for b in past]
        median = statistics.median(history)
        threshold = max(float(s["min_requests"]), float(s["factor"]) * median)
        if key_id and current >= threshold:
            out.append(NewAlert(
                ctx.project_id, "usage_spike", key_id=key_id, severity="critical",
                dedupe=f"usage_spike:{key_id}:{hour}",
                summary=f"Usage spike: key {_key_label(ctx, key_id)} made {current} requests "
                        f"this hour; the median of this hour over {len(past)} days is "
                        f"{median:g}",
                evidence={"hour_start": datetime.fromtimestamp(hour, UTC).isoformat(),
                          "requests": current, "median": median, "history": history,
                          "threshold": threshold}))
    return out


async def new_network(ctx: Context, rows: list[Any]) -> list[NewAlert]:
    """A key used from a client network it has not been used from before."""
    seen: dict[tuple[str, str], float] = {}
    for at, key_id, ip, status, _, _ in rows:
        network = network_of(ip) if key_id and status < 400 else None
        if network is not None:
            seen.setdefault((key_id, network), float(at))
    out = []
    for key_id, network, known in await ctx.store.remember_networks(ctx.project_id, seen):
        if known:  # a key's first network is where it starts; later ones are news
            out.append(NewAlert(
                ctx.project_id, "new_network", key_id=key_id,
                dedupe=f"new_network:{key_id}:{network}",
                summary=f"Key {_key_label(ctx, key_id)} was used from {network}, a network "
                        "it had not been used from",
                evidence={"network": network, "first_seen": seen[(key_id, network)],
                          "networks_known_before": known}))
    return out


def _is_error(status: int) -> bool:
    return status in (401, 403, 429) or status >= 500


async def error_rate(ctx: Context, rows: list[Any]) -> list[NewAlert]:
    s = ctx.settings["error_rate"]
    window = float(s["window_minutes"]) * 60
    recent = [r for r in rows if r[0] >= ctx.now - window]
    errors = Counter(int(r[3]) for r in recent if _is_error(int(r[3])))
    failed = sum(errors.values())
    if not recent or failed < int(s["min_errors"]) or failed / len(recent) < float(s["rate"]):
        return []
    start = int(ctx.now // window) * window
    return [NewAlert(
        ctx.project_id, "error_rate", severity="critical", dedupe=f"error_rate:{start}",
        summary=f"Error rate {failed / len(recent):.0%}: {failed} of {len(recent)} requests "
                f"failed in {s['window_minutes']} minutes",
        evidence={"requests": len(recent), "errors": failed,
                  "by_status": {str(k): v for k, v in sorted(errors.items())},
                  "by_class": dict(Counter(r[4] for r in recent if _is_error(int(r[3]))))})]


def _hours(s: dict[str, Any]) -> tuple[ZoneInfo, time, time, set[int]]:
    try:
        zone = ZoneInfo(str(s["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (zone, time.fromisoformat(str(s["start"])), time.fromisoformat(str(s["end"])),
            {int(d) for d in s["weekdays"]})


async def after_hours(ctx: Context, rows: list[Any]) -> list[NewAlert]:
    """Use outside the project's working hours (its time zone), per key and local day."""
    zone, start, end, weekdays = _hours(ctx.settings["after_hours"])
    found: dict[tuple[str, str], list[float]] = {}
    for at, key_id, _, status, _, _ in rows:
        local = datetime.fromtimestamp(float(at), zone)
        inside = local.weekday() in weekdays and start <= local.time() < end
        if key_id and status < 400 and not inside:
            found.setdefault((key_id, local.date().isoformat()), []).append(float(at))
    return [NewAlert(
        ctx.project_id, "after_hours", key_id=key_id, dedupe=f"after_hours:{key_id}:{day}",
        summary=f"Key {_key_label(ctx, key_id)} was used outside working hours on {day} "
                f"({zone.key})",
        evidence={"day": day, "requests": len(times), "timezone": zone.key,
                  "first": datetime.fromtimestamp(min(times), zone).isoformat()})
        for (key_id, day), times in sorted(found.items())]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def rotated_key_used(ctx: Context, rows: list[Any]) -> list[NewAlert]:
    """A key rotated away and still presented: served during its grace period (a warning:
    a client has not moved to the new key yet), or refused after it (critical: whatever
    holds the old key keeps trying, or someone else has it). Refusals of a known key are in
    the request log under its id (``api/deps.py``, ``AuthenticationFailed.subject``)."""
    rotated = {k.id: k for k in ctx.keys.values()
               if k.rotated_at is not None and k.revoked_at is not None}
    found: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        key = rotated.get(str(row[1]))
        if key is None:
            continue
        assert key.rotated_at is not None and key.revoked_at is not None
        at, status, end = float(row[0]), int(row[3]), key.revoked_at.timestamp()
        if status < 400 and key.rotated_at.timestamp() <= at < end:
            found.setdefault((key.id, "grace"), []).append(row)
        elif status == 401 and at >= end:
            found.setdefault((key.id, "after_grace"), []).append(row)
    day = int(ctx.now // DAY)
    out = []
    for (key_id, phase), used in sorted(found.items()):
        key = rotated[key_id]
        evidence = {"phase": phase, "requests": len(used), "ends_at": _iso(key.revoked_at),
                    "rotated_at": _iso(key.rotated_at), "replaced_by": key.replaced_by,
                    "client_ips": sorted({str(r[2]) for r in used if r[2]})[:20],
                    "first": datetime.fromtimestamp(min(float(r[0]) for r in used),
                                                    UTC).isoformat()}
        if phase == "grace":
            out.append(NewAlert(
                ctx.project_id, "rotated_key_used", key_id=key_id, evidence=evidence,
                dedupe=f"rotated_key_used:{key_id}:{day}",
                summary=f"Key {_key_label(ctx, key_id)} was rotated and is still in use "
                        f"({len(used)} requests); it stops working at {_iso(key.revoked_at)}"))
        else:
            out.append(NewAlert(
                ctx.project_id, "rotated_key_used", key_id=key_id, evidence=evidence,
                severity="critical", dedupe=f"rotated_key_used:{key_id}:refused:{day}",
                summary=f"Key {_key_label(ctx, key_id)} was rotated and its grace period "
                        f"ended at {_iso(key.revoked_at)}, but it was presented {len(used)} "
                        f"times since and refused"))
    return out


def key_rotation_due(ctx: Context) -> list[NewAlert]:
    """A key nearing its ``rotation_due_at`` (``notice_days`` before: a warning) and reaching
    it (critical): once each per key and due date, whatever the evaluation period. A key
    already rotated, revoked, expired, or expiring before its due date needs no reminder."""
    notice = float(ctx.settings["key_rotation_due"]["notice_days"]) * DAY
    out = []
    for key in sorted(ctx.keys.values(), key=lambda k: k.id):
        due = key.rotation_due_at
        if due is None or key.revoked_at is not None or (key.expires_at is not None and (
                key.expires_at <= due or key.expires_at.timestamp() <= ctx.now)):
            continue
        at = due.timestamp()
        if ctx.now >= at:
            stage, severity = "due", "critical"
            when = "is due for rotation today" if ctx.now < at + DAY else \
                f"was due for rotation {int((ctx.now - at) // DAY)} days ago"
        elif ctx.now >= at - notice:
            stage, severity = "soon", "warning"
            when = f"is due for rotation in {int(-(-(at - ctx.now) // DAY))} days"
        else:
            continue
        out.append(NewAlert(
            ctx.project_id, "key_rotation_due", key_id=key.id, severity=severity,
            dedupe=f"key_rotation_due:{key.id}:{stage}:{int(at)}",
            summary=f"Key {_key_label(ctx, key.id)} ({key.environment}) {when} "
                    f"({due.date().isoformat()})",
            evidence={"stage": stage, "environment": key.environment,
                      "created_at": _iso(key.created_at), "rotation_due_at": _iso(due),
                      "days_left": round((at - ctx.now) / DAY, 2)}))
    return out


async def project_rules(ctx: Context) -> list[NewAlert]:
    """Every enabled rule for one project."""
    s = ctx.settings
    rows: list[Any] = []
    window = float(s["error_rate"]["window_minutes"]) * 60
    if any(s[r]["enabled"] for r in ("new_network", "error_rate", "after_hours",
                                     "rotated_key_used")):
        rows = await ctx.store.requests_since(ctx.project_id, min(ctx.since, ctx.now - window),
                                              ctx.now + 1)
    since = [r for r in rows if r[0] >= ctx.since]
    found: list[NewAlert] = []
    if s["usage_spike"]["enabled"]:
        found += await usage_spike(ctx)
    if s["new_network"]["enabled"]:
        found += await new_network(ctx, since)
    if s["error_rate"]["enabled"]:
        found += await error_rate(ctx, rows)
    if s["after_hours"]["enabled"]:
        found += await after_hours(ctx, since)
    if s["rotated_key_used"]["enabled"]:
        found += await rotated_key_used(ctx, since)
    return found


async def failed_auth_burst(store: AlertStore, now: float,
                            settings: dict[str, Any]) -> list[NewAlert]:
    """Many refused authentications from one address (server-wide: most name no project)."""
    window = float(settings["window_minutes"]) * 60
    rows = await store.requests_since(None, now - window, now + 1)
    by_ip: dict[str, list[Any]] = {}
    for row in rows:
        if int(row[3]) == 401 and row[2]:
            by_ip.setdefault(str(row[2]), []).append(row)
    start = int(now // window) * window
    out = []
    for ip, failed in sorted(by_ip.items()):
        if len(failed) >= int(settings["min_failures"]):
            projects = Counter(str(r[5]) for r in failed if r[5])
            project = projects.most_common(1)[0][0] if projects else ""
            out.append(NewAlert(
                project, "failed_auth_burst", severity="critical",
                dedupe=f"failed_auth_burst:{ip}:{start}",
                summary=f"{len(failed)} failed authentications from {ip} in "
                        f"{settings['window_minutes']} minutes",
                evidence={"client_ip": ip, "failures": len(failed),
                          "by_class": dict(Counter(str(r[4]) for r in failed))}))
    return out


def merged(overrides: dict[str, Any], sections: Iterable[str] = DEFAULTS) -> dict[str, Any]:
    """DEFAULTS with a project's overrides, section by section."""
    return {name: {**DEFAULTS[name], **(overrides.get(name) or {})} for name in sections}
