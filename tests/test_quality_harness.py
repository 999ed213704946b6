"""``bench/quality.py`` as its users run it: files in the documented formats in, one JSON object
on the last line of stdout out, and a clear error (not a traceback) for a file it cannot read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "bench" / "quality.py"

STREAM = [
    {"prompt": "How do I reset my router password?", "cluster": "router"},
    {"prompt": "What is the capital of Australia?", "cluster": "canberra"},
    {"prompt": "How do I reset my router password?", "cluster": "router",
     "expected_hit": True, "match_any_of": [0]},
    {"prompt": "Is it safe to eat raw mushrooms?", "cluster": "safe"},
    {"prompt": "Is it not safe to eat raw mushrooms?", "cluster": "unsafe",
     "expected_hit": False, "hard_negatives_before": [3]},
    {"prompt": "what is the capital of australia", "cluster": "canberra",
     "expected_hit": True, "match_any_of": [1]},
]
PAIRS = [
    {"a": "Is it safe to eat raw mushrooms?", "b": "Is it not safe to eat raw mushrooms?",
     "same": False, "source": "probe", "category": "negation"},
    {"a": "Book a flight from Paris to Rome", "b": "Book a flight from Rome to Paris",
     "same": False, "source": "probe", "category": "entity_swap"},
    {"a": "What is 15% of 80?", "b": "What is 25% of 80?",
     "same": False, "source": "probe", "category": "numerical_temporal_swap"},
    {"a": "How do I reset my router password?", "b": "how do I reset my router password",
     "same": True, "source": "probe", "category": "true_paraphrase"},
]
CONTEXTUAL = [
    {"a_context": ["What is machine learning?"], "a": "What are its main types?",
     "b_context": ["What is a volcano?"], "b": "What are its main types?",
     "same": False, "source": "probe", "category": "same_followup_different_context"},
    {"a_context": ["What is machine learning?"], "a": "What are its main types?",
     "b_context": ["What is machine learning?"], "b": "What are its main types?",
     "same": True, "source": "probe", "category": "contextual_paraphrase"},
]


def write_jsonl(path: Path, rows: list[dict[str, Any]], prefix: str = "") -> Path:
    path.write_text(prefix + "".join(json.dumps(r) + "\r\n" for r in rows), encoding="utf-8")
    return path


def run_harness(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m bench.quality ARGS`` from the repository root, as the README runs it."""
    return subprocess.run([sys.executable, "-m", "bench.quality", *map(str, args)],
                          cwd=HARNESS.parents[1], capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_json_line_reports_each_file_at_the_default_point(tmp_path: Path) -> None:
    stream = write_jsonl(tmp_path / "stream_probe.jsonl", STREAM, prefix="\ufeff")  # a BOM too
    pairs = write_jsonl(tmp_path / "pairs_probe.jsonl", PAIRS)
    contextual = write_jsonl(tmp_path / "contextual_probe.jsonl", CONTEXTUAL)
    done = run_harness("--stream", stream, "--pairs", pairs, "--contextual", contextual, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report) == {stream.name, pairs.name, contextual.name}

    # the repeat and the normalised repeat are served the right answer; the negation is not
    assert report[stream.name] == {"hit_rate": pytest.approx(2 / 6), "false_hit_rate": 0.0,
                                   "hit_precision": 1.0, "recall": 1.0}
    assert report[pairs.name] == {
        "precision": 1.0, "recall": 1.0,
        "false_hit_rate_by_category": {"entity_swap": 0.0, "negation": 0.0,
                                       "numerical_temporal_swap": 0.0, "true_paraphrase": None}}
    assert report[contextual.name]["false_hit_rate_by_category"][
        "same_followup_different_context"] == 0.0
    assert report[contextual.name]["recall"] == 1.0  # the same conversation word for word


@pytest.mark.parametrize(("content", "expected"), [
    ('{"prompt": "hi", "cluster": "c"}\n{oops\n', "stream_bad.jsonl:2: not JSON"),
    ('{"prompt": "hi"}\n', "stream_bad.jsonl:1: a stream row needs cluster"),
])
def test_a_file_it_cannot_read_is_named_with_its_line(tmp_path: Path, content: str,
                                                      expected: str) -> None:
    bad = tmp_path / "stream_bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    done = run_harness("--stream", bad, "--json")
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
