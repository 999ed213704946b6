"""Project pages: the overview, and per project API Keys, LLM Keys, Analytics, Audit, Settings.
Every list is one bounded page (``?page=``), never a scan of the project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from vectorcache.api.deps import runtime
from vectorcache.console import projects
from vectorcache.console.approvals import sensitive_reasons
from vectorcache.console.web.charts import series_chart
from vectorcache.console.web.guard import Page, form_errors, page, posted
from vectorcache.console.web.key_form import edit_changes, split_list
from vectorcache.console.web.render import render
from vectorcache.console.web.usage import RANGES, charts_for, overview_row
from vectorcache.errors import NotFound, ValidationFailed
from vectorcache.models import ENVIRONMENTS, ApiKey, Project
from vectorcache.security.delegation import KNOWN_SCOPES, Grant

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE = Depends(page)
PER_PAGE = 50


async def _project(request: Request, current: Page, project_id: str) -> Project:
    project = await runtime(request).store.get_project(project_id)
    if project is None or not current.actor.can_read(project.id):
        raise NotFound("Project not found")
    return project


async def _writable_key(request: Request, current: Page, project_id: str,
                        key_id: str) -> tuple[Project, ApiKey]:
    """A key of a project the signed-in user may change (404 or 403 otherwise)."""
    project = await _project(request, current, project_id)
    current.actor.require_write(project.id)
    return project, await runtime(request).admin.find_key(key_id, project)


def _to(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


@router.get("/")
async def overview(request: Request, current: Page = PAGE) -> Response:
    rt = runtime(request)
    projects = [p for p in await rt.store.list_projects() if current.actor.can_read(p.id)]
    rows = [{"project": project, **await overview_row(rt, project.id)}
            for project in projects[:PER_PAGE]]
    pending = await rt.console.approvals.pending(None) if current.actor.is_admin else []
    return render(request, "overview.html", session=current.session, actor=current.actor,
                  rows=rows, pending=pending)


@router.get("/projects/{project_id}/keys")
@form_errors
async def keys(request: Request, project_id: str,
               page_no: int = Query(1, alias="page", ge=1, le=100_000),
               current: Page = PAGE) -> Response:
    rt = runtime(request)
    project = await _project(request, current, project_id)
    listed = await rt.console.records.keys_page(project.id, (page_no - 1) * PER_PAGE,
                                                PER_PAGE + 1)
    requests = await rt.console.records.requests(project.id, None, 50)
    return render(request, "keys.html", session=current.session, actor=current.actor,
                  project=project, keys=listed[:PER_PAGE], more=len(listed) > PER_PAGE,
                  page=page_no, requests=requests, tab="keys")


@router.post("/projects/{project_id}/keys")
@form_errors
async def create_key(request: Request, project_id: str) -> Response:
    current, fields = await posted(request)
    rt = runtime(request)
    project = await _project(request, current, project_id)
    scopes = tuple(s for s in ("cache:read", "cache:write", "analytics:read", "keys:manage")
                   if fields.get(f"scope_{s}"))
    if not scopes:
        raise ValidationFailed("Choose at least one scope", param="scopes")
    grant = Grant(scopes=scopes, models=split_list(fields.get("models", "")),
                  allowed_ips=split_list(fields.get("allowed_ips", "")))
    created = await rt.console.approvals.create_key(
        current.actor, project, fields.get("name", ""), grant,
        fields.get("environment", "production") or "production")
    return render(request, "key_created.html", session=current.session, actor=current.actor,
                  project=project, created=created, reasons=sensitive_reasons(grant),
                  tab="keys")


@router.get("/projects/{project_id}/keys/{key_id}/edit")
@form_errors
async def edit_form(request: Request, project_id: str, key_id: str,
                    current: Page = PAGE) -> Response:
    project, key = await _writable_key(request, current, project_id, key_id)
    return render(request, "key_edit.html", session=current.session, actor=current.actor,
                  project=project, key=key, scopes=KNOWN_SCOPES, tab="keys")


@router.post("/projects/{project_id}/keys/{key_id}/edit")
@form_errors
async def edit(request: Request, project_id: str, key_id: str) -> Response:
    """The edit form's post: what changed goes through the admin plane's key update (the
    same checks as ``PATCH /v1/keys/{id}``; audited as ``key.update``)."""
    current, fields = await posted(request)
    project, key = await _writable_key(request, current, project_id, key_id)
    changes = edit_changes(fields, key)
    if changes:
        await runtime(request).console.approvals.update_key(current.actor, project, key.id,
                                                            changes)
    return _to(f"/dashboard/projects/{project.id}/keys")


@router.get("/projects/{project_id}/keys/{key_id}/revoke")
@form_errors
async def revoke_confirm(request: Request, project_id: str, key_id: str,
                         current: Page = PAGE) -> Response:
    project, key = await _writable_key(request, current, project_id, key_id)
    return render(request, "revoke.html", session=current.session, actor=current.actor,
                  project=project, key=key, tab="keys")


@router.post("/projects/{project_id}/keys/{key_id}/revoke")
@form_errors
async def revoke(request: Request, project_id: str, key_id: str) -> Response:
    current, _ = await posted(request)
    rt = runtime(request)
    project = await _project(request, current, project_id)
    current.actor.require_write(project.id)
    await rt.admin.revoke_key(key_id, project=project, actor=current.actor.name,
                               client_ip=current.actor.ip)
    return _to(f"/dashboard/projects/{project.id}/keys")


@router.post("/projects/{project_id}/keys/{key_id}/rotate")
@form_errors
async def rotate(request: Request, project_id: str, key_id: str) -> Response:
    current, fields = await posted(request)
    rt = runtime(request)
    project = await _project(request, current, project_id)
    current.actor.require_write(project.id)
    try:
        grace = int(fields.get("grace_seconds", "0") or 0)
    except ValueError:
        raise ValidationFailed("Grace period must be a number of seconds",
                               param="grace_seconds") from None
    created = await rt.admin.rotate_key(key_id, project=project, grace_seconds=grace,
                                        actor=current.actor.name, client_ip=current.actor.ip)
    return render(request, "key_created.html", session=current.session, actor=current.actor,
                  project=project, created=created, rotated=True, grace=grace, tab="keys")


@router.post("/projects/{project_id}/requests/{request_id}/{decision}")
@form_errors
async def decide(request: Request, project_id: str, request_id: str, decision: str) -> Response:
    current, _ = await posted(request)
    approvals = runtime(request).console.approvals
    if decision == "approve":
        await approvals.approve(current.actor, request_id)
    elif decision == "deny":
        await approvals.deny(current.actor, request_id)
    else:
        raise NotFound("Unknown decision")
    return _to(f"/dashboard/projects/{project_id}/keys")


@router.get("/projects/{project_id}/llm-keys")
@form_errors
async def llm_keys(request: Request, project_id: str, current: Page = PAGE) -> Response:
    project = await _project(request, current, project_id)
    provider = await runtime(request).store.get_provider(project.id)
    last4 = provider.api_key[-4:] if provider and provider.api_key else None
    return render(request, "llm_keys.html", session=current.session, actor=current.actor,
                  project=project, provider=provider, last4=last4, tab="llm")


@router.post("/projects/{project_id}/llm-keys")
@form_errors
async def set_llm_key(request: Request, project_id: str) -> Response:
    current, fields = await posted(request)
    rt = runtime(request)
    project = await _project(request, current, project_id)
    current.actor.require_write(project.id)
    existing = await rt.store.get_provider(project.id)
    api_key = fields.get("api_key", "").strip() or (existing.api_key if existing else None)
    await rt.admin.set_provider(project, provider=fields.get("provider", "openai"),
                                api_key=api_key, base_url=fields.get("base_url", "").strip()
                                or None, actor=current.actor.name)
    return _to(f"/dashboard/projects/{project.id}/llm-keys")


@router.get("/projects/{project_id}/analytics")
@form_errors
async def analytics(request: Request, project_id: str,
                    span: str = Query("24h", alias="range", pattern="^(24h|7d|30d)$"),
                    current: Page = PAGE) -> Response:
    rt = runtime(request)
    project = await _project(request, current, project_id)
    entries = await rt.console.counts.entries(project.id)
    totals, series = await charts_for(rt, project.id, span)
    return render(request, "analytics.html", session=current.session, actor=current.actor,
                  project=project, entries=entries, totals=totals, span=span,
                  ranges=list(RANGES), tab="analytics",
                  series=[(title, series_chart(title, points, unit=unit))
                          for title, points, unit in series])


@router.get("/projects/{project_id}/audit")
@form_errors
async def audit(request: Request, project_id: str, before: int | None = Query(None, ge=1, le=2**62),
                current: Page = PAGE) -> Response:
    rt = runtime(request)
    project = await _project(request, current, project_id)
    events = await rt.console.records.audit_page(project.id, before, PER_PAGE + 1)
    return render(request, "audit.html", session=current.session, actor=current.actor,
                  project=project, events=events[:PER_PAGE],
                  next_before=events[PER_PAGE - 1].id if len(events) > PER_PAGE else None,
                  tab="audit")


@router.get("/projects/{project_id}/settings")
@form_errors
async def settings_page(request: Request, project_id: str, current: Page = PAGE) -> Response:
    project = await _project(request, current, project_id)
    return render(request, "settings.html", session=current.session, actor=current.actor,
                  project=project, tab="settings")


@router.post("/projects/{project_id}/settings")
@form_errors
async def save_settings(request: Request, project_id: str) -> Response:
    current, fields = await posted(request)
    rt = runtime(request)
    project = await _project(request, current, project_id)
    current.actor.require_write(project.id)
    changes: dict[str, Any] = {}
    for name, kind in (("similarity_threshold", float), ("target_error_rate", float),
                       ("ttl_seconds", int)):
        text = fields.get(name, "").strip()
        if text:
            try:
                changes[name] = kind(text)
            except ValueError:
                raise ValidationFailed(f"{name} must be a number", param=name) from None
    if fields.get("pii_policy"):
        changes["pii_policy"] = fields["pii_policy"]
    policy = {}
    for env in ENVIRONMENTS:  # days before a key is due for rotation (empty: unchanged)
        text = fields.get(f"rotation_days_{env}", "").strip()
        if text:
            if not (text.isascii() and text.isdigit()) or len(text) > 6:  # int("²") fails
                raise ValidationFailed(f"rotation days for {env} must be a whole number",
                                       param="rotation_policy")
            policy[env] = int(text)
    if policy:
        changes["rotation_policy"] = policy
    await rt.admin.update_project(project.id, actor=current.actor.name,
                                  client_ip=current.actor.ip, **changes)
    return _to(f"/dashboard/projects/{project.id}/settings")


@router.post("/projects/{project_id}/delete")
@form_errors
async def delete(request: Request, project_id: str) -> Response:
    current, fields = await posted(request)
    rt = runtime(request)
    project = await _project(request, current, project_id)
    await projects.delete_project(rt.store, rt.console.audit, current.actor, project,
                                  fields.get("confirm", ""), rt.clock)
    return _to("/dashboard/")


