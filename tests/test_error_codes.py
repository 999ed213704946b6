"""The error-code registry (``vectorcache.error_codes``) against every raise site in ``src/``.

Reads the source (``ast``): an error class's own ``code``, ``code="..."`` where an error is
built, the failed-authentication helper's codes, and the HTTP-error mapping at the edge. Fails
on a code missing from the registry, a status that differs from the registered one, a
registered code nothing raises, and a stale ``docs/errors.md``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from vectorcache.error_codes import CODES, render_markdown

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "vectorcache"
# the SDK has its own errors; the test doubles speak the providers' codes
SKIP = ("client/", "testing/")
# helpers that build an error from a code given positionally: name -> (argument index, class)
CODE_HELPERS = {"_failed": (1, "AuthenticationFailed")}


@dataclass(frozen=True)
class Site:
    code: str
    status: int | None  # None: decided at run time (a status passed in, or the framework's)
    where: str


@dataclass
class ErrorClass:
    bases: list[str]
    attrs: dict[str, object]


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith(SKIP):
            out.append((rel, ast.parse(path.read_text(), filename=str(path))))
    return out


def _error_classes(modules: list[tuple[str, ast.Module]]) -> dict[str, ErrorClass]:
    """Every class deriving from ``VectorcacheError``, by name, with its class-level constants."""
    found: dict[str, ErrorClass] = {}
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                attrs: dict[str, object] = {}
                for stmt in node.body:
                    target = (stmt.targets[0] if isinstance(stmt, ast.Assign) else
                              stmt.target if isinstance(stmt, ast.AnnAssign) else None)
                    value = getattr(stmt, "value", None)
                    if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                        attrs[target.id] = value.value
                found[node.name] = ErrorClass([ast.unparse(b).split(".")[-1] for b in node.bases],
                                              attrs)
    errors = {"VectorcacheError"}
    while True:
        more = {name for name, cls in found.items()
                if name not in errors and any(b in errors for b in cls.bases)}
        if not more:
            return {name: found[name] for name in errors}
        errors |= more


def _attr(classes: dict[str, ErrorClass], name: str, attr: str) -> object:
    cls = classes[name]
    if attr in cls.attrs:
        return cls.attrs[attr]
    return next((_attr(classes, b, attr) for b in cls.bases if b in classes), None)


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def _sites() -> tuple[list[Site], dict[str, ErrorClass]]:
    modules = _modules()
    classes = _error_classes(modules)
    sites: list[Site] = []
    for name in classes:
        code = _attr(classes, name, "code")
        if isinstance(code, str):
            status = _attr(classes, name, "status")
            sites.append(Site(code, status if isinstance(status, int) else None,
                              f"class {name}"))
    for rel, tree in modules:
        for node in ast.walk(tree):
            where = f"src/vectorcache/{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in classes:
                    kwargs = {kw.arg: kw.value for kw in node.keywords}
                    status = None if "status" in kwargs else _attr(classes, name, "status")
                    for code in _strings(kwargs["code"]) if "code" in kwargs else ():
                        sites.append(Site(code, status if isinstance(status, int) else None,
                                          where))
                elif name in CODE_HELPERS:
                    index, cls = CODE_HELPERS[name]
                    if len(node.args) > index:
                        status = _attr(classes, cls, "status")
                        for code in _strings(node.args[index]):
                            sites.append(Site(code, status if isinstance(status, int) else None,
                                              where))
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "code" for t in node.targets):
                # err.code = {404: "not_found", ...}.get(status, "http_error")
                for sub in ast.walk(node.value):
                    if isinstance(sub, ast.Dict):
                        for k, v in zip(sub.keys, sub.values, strict=True):
                            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant):
                                sites.append(Site(str(v.value), int(k.value), where))
                mapped = {s.code for s in sites if s.where == where}
                sites += [Site(code, None, where) for code in _strings(node.value)
                          if code not in mapped]
    return sites, classes


def test_every_code_raised_is_registered() -> None:
    sites, _ = _sites()
    missing = sorted(f"{s.code} ({s.where})" for s in sites if s.code not in CODES)
    assert not missing, ("Codes raised but not in src/vectorcache/error_codes.py (add them, "
                         "then regenerate docs/errors.md): " + "; ".join(missing))


def test_each_code_has_its_registered_status() -> None:
    sites, _ = _sites()
    wrong = sorted(f"{s.code}: {s.status} at {s.where}, registered {CODES[s.code].status}"
                   for s in sites if s.code in CODES and s.status is not None
                   and s.status != CODES[s.code].status)
    assert not wrong, ("One code, one status: raise another class or register another code: "
                       + "; ".join(wrong))


def test_class_defaults_agree_on_retryable() -> None:
    _, classes = _sites()
    wrong = []
    for name in classes:
        code, retryable = _attr(classes, name, "code"), _attr(classes, name, "retryable")
        if isinstance(code, str) and code in CODES and isinstance(retryable, bool) \
                and retryable != CODES[code].retryable:
            wrong.append(f"{name}.code {code!r}: retryable {retryable}")
    assert not wrong, "; ".join(wrong)


def test_every_registered_code_is_raised_somewhere() -> None:
    sites, _ = _sites()
    stale = sorted(set(CODES) - {s.code for s in sites})
    assert not stale, f"Registered but never raised (remove them): {stale}"


def test_the_scan_sees_raise_sites() -> None:
    """The scan reads what it should: a keyword code, a helper's code, the HTTP mapping."""
    sites, classes = _sites()
    by_code = {s.code: s for s in sites}
    assert {"PermissionDenied", "ProviderRateLimited", "ServiceUnavailable"} <= set(classes)
    assert by_code["insufficient_scope"].status == 403
    assert by_code["missing_api_key"].status == 401
    assert by_code["method_not_allowed"].status == 405


def test_docs_errors_md_is_current() -> None:
    doc = ROOT / "docs" / "errors.md"
    assert doc.read_text() == render_markdown(), (
        "docs/errors.md is stale: python -m vectorcache.error_codes > docs/errors.md")
