"""USD prices per million tokens, for ``estimated_cost`` and ``cost_saved``.

Defaults cover common models (list prices, late 2026); a JSON file named by
``VECTORCACHE_PRICING_FILE`` (``{"model-prefix": [input_per_1m, output_per_1m]}``) adds or
overrides entries. A model matches the longest known prefix; unknown models cost 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from vectorcache.errors import ConfigurationError
from vectorcache.models import Usage

__all__ = ["DEFAULT_PRICES", "Pricing"]

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o1-mini": (1.10, 4.40),
    "o1": (15.00, 60.00),
    "o3-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-opus": (15.00, 75.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-haiku-4": (1.00, 5.00),
    "llama-3.1-8b": (0.05, 0.08),
    "llama-3.3-70b": (0.59, 0.79),
    "mixtral-8x7b": (0.24, 0.24),
}


class Pricing:
    def __init__(self, prices: Mapping[str, tuple[float, float]] | None = None) -> None:
        self._prices = dict(DEFAULT_PRICES if prices is None else prices)
        self._by_length = sorted(self._prices, key=len, reverse=True)

    @classmethod
    def from_file(cls, path: Path | None) -> Pricing:
        prices = dict(DEFAULT_PRICES)
        if path is not None:
            try:
                extra = json.loads(path.read_text())
                prices.update({str(k): (float(v[0]), float(v[1])) for k, v in extra.items()})
            except (OSError, ValueError, TypeError, IndexError) as exc:
                raise ConfigurationError(
                    f"Pricing file {path} must be JSON like "
                    '{"model": [input_usd_per_1m, output_usd_per_1m]}.'
                ) from exc
        return cls(prices)

    def price(self, model: str) -> tuple[float, float]:
        name = model.lower().split("/")[-1]
        for known in self._by_length:
            if name.startswith(known):
                return self._prices[known]
        return (0.0, 0.0)

    def cost(self, model: str, usage: Usage) -> float:
        inp, out = self.price(model)
        return round((usage.prompt_tokens * inp + usage.completion_tokens * out) / 1e6, 8)
