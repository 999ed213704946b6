"""What the fine-tuning scripts do the same way: seeding, the optimiser and its schedule, one
step and its progress line. Imports torch (the training extra) only when called."""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any


def seeded_torch(seed: int, threads: int) -> Any:
    """torch, seeded with every generator the recipes touch, on ``threads`` CPU threads and
    deterministic algorithms: what makes a rerun give the same weights."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return torch


def weights_digest(model: Any) -> str:
    """SHA-256 over every parameter and buffer, by name and raw bytes: two models with this
    digest equal bit for bit (what ``training.check_rebuild`` compares part-way through a run)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


class Steps:
    """AdamW (weight decay 0.01) with a linear warm-up over ``warmup`` of the ``steps`` and a
    linear decay after it; ``take`` runs one step with gradients clipped at norm 1."""

    def __init__(self, torch: Any, model: Any, steps: int, lr: float, warmup: float) -> None:
        self.model, self.steps = model, steps
        self.optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        warm = max(1, int(steps * warmup))
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.optim,
            lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
        self.clip = torch.nn.utils.clip_grad_norm_
        self.losses: list[float] = []
        self.started = time.monotonic()

    def take(self, loss: Any) -> None:
        self.optim.zero_grad()
        loss.backward()
        self.clip(self.model.parameters(), 1.0)
        self.optim.step()
        self.sched.step()
        self.losses.append(float(loss.detach()))
        if len(self.losses) % 50 == 0:
            print(f"step {len(self.losses)}/{self.steps} loss {self.recent_loss():.4f} "
                  f"{self.seconds():.0f}s", flush=True)

    def recent_loss(self) -> float:
        """The mean loss of the last 50 steps."""
        return sum(self.losses[-50:]) / max(1, len(self.losses[-50:]))

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> dict[str, Any]:
        return {"steps": len(self.losses), "seconds": round(self.seconds(), 1),
                "final_loss_50": round(self.recent_loss(), 4)}
