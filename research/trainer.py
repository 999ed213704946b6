"""The verifier's trainer, whose rows, folds, guards and replay the experiments reuse.

It lives with the other builders of shipped files (``training/train_verifier.py``); until it
moves there from ``bench/`` (issue 18), it is found in ``bench/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["tv"]

_HOMES = ("research.dev_cv_verifier",)


def _trainer() -> ModuleType:
    for name in _HOMES:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in (name, name.split(".")[0]):
                raise  # the trainer is there but something it needs is not installed
    raise ModuleNotFoundError(f"The verifier's trainer is in none of {', '.join(_HOMES)}.")


tv = _trainer()
