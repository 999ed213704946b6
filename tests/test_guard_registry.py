"""The guard registry is the one list: ``guard_flags``, the trainer, the shipped verifier files
and the server all agree with it, and ``debug`` shows what each fired guard saw."""

from __future__ import annotations

import importlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from conftest import Tenant

from vectorcache.decision import Candidate, DecisionPolicy, VerifiedDecider
from vectorcache.decision.analysis import analyse
from vectorcache.decision.guards import REGISTRY, VETOES, fired_guards, guard_flags
from vectorcache.decision.verifier import Verifier

ROOT = Path(__file__).resolve().parents[1]
PROBES = ROOT / "tests" / "data" / "decision_probes.jsonl"


def shipped_verifiers() -> dict[str, dict[str, Any]]:
    folder = resources.files("vectorcache.decision")
    return {f.name: json.loads(f.read_text("utf-8")) for f in folder.iterdir()
            if f.name.startswith("verifier") and f.name.endswith(".json")}


def test_guard_flags_are_the_registry_in_order() -> None:
    names = [g.name for g in REGISTRY]
    assert len(set(names)) == len(names)
    assert list(guard_flags(analyse("Is it safe?"), analyse("Is it not safe?"))) == names
    assert set(VETOES) <= set(names)


@pytest.mark.parametrize("name", sorted(shipped_verifiers()))
def test_shipped_verifiers_veto_with_the_registry(name: str) -> None:
    spec = shipped_verifiers()[name]
    assert set(spec["vetoes"]) == set(VETOES), (
        f"{name} was measured with other vetoes than guards.VETOES: retrain it")
    Verifier(spec)  # and the server loads it


def test_the_trainer_takes_its_guards_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    trainer = importlib.import_module("training.train_verifier")
    dev_cv = importlib.import_module("research.dev_cv_verifier")
    assert trainer.GUARDS == VETOES
    assert dev_cv.GUARDS == VETOES


def test_the_server_refuses_a_verifier_with_an_unknown_guard() -> None:
    spec = shipped_verifiers()["verifier.json"]
    with pytest.raises(ValueError, match="no_such_guard"):
        Verifier({**spec, "vetoes": [*spec["vetoes"], "no_such_guard"]})


def test_every_fired_guard_says_what_it_saw() -> None:
    fired_any: set[str] = set()
    for line in PROBES.read_text("utf-8").splitlines():
        row = json.loads(line)
        a, b = analyse(row["a"]), analyse(row["b"])
        found = fired_guards(a, b)
        assert list(found) == [g for g, on in guard_flags(a, b).items() if on]
        for name, evidence in found.items():
            assert evidence.query or evidence.stored, (name, row)
        fired_any |= set(found)
    # the probes exercise the registry (entity_order: the debug test below)
    assert fired_any >= set(VETOES) - {"entity_order"}


@pytest.mark.parametrize(("query", "stored", "guard", "evidence"), [
    ("Can I take ibuprofen with food?", "Can I take ibuprofen without food?", "negation",
     {"query": [], "stored": ["without"]}),
    ("Summarize this in 3 sentences", "Summarize this in 5 sentences", "number",
     {"query": ["3"], "stored": ["5"]}),
    ("Flights from Boston to Denver", "Flights from Denver to Boston", "entity_order",
     {"query": ["boston", "denver"], "stored": ["denver", "boston"]}),
    ("Best dog breeds", "Best dog breeds for a small apartment", "qualifier",
     {"query": [], "stored": ["for a small apartment"]}),
])
def test_debug_shows_each_vetoing_guards_evidence(
        query: str, stored: str, guard: str, evidence: dict[str, list[str]]) -> None:
    decision = VerifiedDecider().decide(query, [Candidate("e1", 0.97, stored)], DecisionPolicy())
    assert not decision.hit
    row = decision.details["examined"][0]  # type: ignore[index]
    assert guard in row["vetoed_by"]
    assert row["evidence"][guard] == {"query": evidence["query"]}  # never the stored side
    assert set(row["evidence"]) == set(row["vetoed_by"])
    assert {"entry_id", "cosine"} <= set(row)  # what the debug output always had


def test_the_api_debug_carries_the_evidence(tenant: Tenant) -> None:
    tenant.post("/v1/cache/store", {"prompt": "Summarize the report in 3 sentences",
                                    "response": "Three sentences.", "model": "gpt-4o"})
    found = tenant.post("/v1/cache/lookup", {
        "prompt": "Summarize the report in 5 sentences", "model": "gpt-4o",
        "include_debug": True}).json()
    assert found["cache_hit"] is False
    row = found["debug"]["decision"]["examined"][0]
    assert "number" in row["vetoed_by"]
    assert row["evidence"]["number"] == {"query": ["5"]}
    assert all(set(seen) == {"query"} for seen in row["evidence"].values())  # never "stored"
