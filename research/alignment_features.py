"""Token-alignment pair features from the embedding model's contextual token states.

Research module (``research/alignment.py``); not used by the shipped decider unless the
verifier was trained with these features.

The sentence embedding is the mean of the model's ``last_hidden_state`` rows. Before pooling,
every WordPiece token has its own contextual vector, so two prompts can be compared token by
token (BERTScore-style greedy alignment): each token of one side is matched to its most similar
token on the other. A single important word with no good match ("router" vs "modem", "Paris" vs
"Rome") is a "different question" signal the mean-pooled cosine dilutes.

Input: per prompt, the token ids and the hidden states from the same model run that embeds it
(``token_states``). Output: ``alignment_features(query, stored)`` in ``ALIGNMENT_FEATURE_NAMES``
order. Cost: one (n_a x n_b) matrix product of 384-d rows per pair, tens of microseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vectorcache.decision.words import STOPWORDS

__all__ = ["ALIGNMENT_FEATURE_NAMES", "TokenStates", "alignment_features", "token_states"]

_WH = frozenset(["what", "which", "who", "whom", "whose", "when", "where", "why", "how"])
_SPECIAL = frozenset(["[CLS]", "[SEP]", "[PAD]"])
#: first id of the ordinary words in the BERT uncased vocab; above it ids roughly follow frequency
_FIRST_WORD_ID = 1996
_THRESHOLDS = (0.5, 0.6, 0.7)


@dataclass(frozen=True)
class TokenStates:
    """One prompt's contextual token vectors, grouped into words."""

    vectors: np.ndarray  # (n_tokens, dims) float32, L2-normalised; special tokens and punctuation removed
    word_of: np.ndarray  # (n_tokens,) int: index of the word each token belongs to
    content: np.ndarray  # (n_words,) bool: not a stopword
    weight: np.ndarray  # (n_tokens,) float: idf-like weight (rarer piece = heavier)
    wh_token: int  # index of the first question-word token, -1 if none


def _rank_weight(token_id: int) -> float:
    """An IDF proxy from the vocab rank: ordinary words are listed roughly by frequency."""
    return math.log(max(token_id - _FIRST_WORD_ID, 0) + 10.0)


def token_states(ids: Sequence[int], pieces: Sequence[str], hidden: np.ndarray,
                 idf: dict[str, float] | None = None) -> TokenStates:
    """Build ``TokenStates`` from one prompt's token ids, WordPiece strings and hidden rows.

    ``hidden`` is that prompt's ``last_hidden_state`` (n_tokens x dims, padding removed).
    ``idf`` (piece -> weight) overrides the vocab-rank weight where given.
    """
    keep: list[int] = []
    word_of: list[int] = []
    words: list[str] = []
    weights: list[float] = []
    wh = -1
    for k, (tid, piece) in enumerate(zip(ids, pieces, strict=True)):
        if piece in _SPECIAL:
            continue
        if piece.startswith("##") and words:
            words[-1] += piece[2:]
        elif any(ch.isalnum() for ch in piece):
            words.append(piece)
        else:
            continue  # punctuation
        keep.append(k)
        word_of.append(len(words) - 1)
        w = idf.get(piece) if idf is not None else None
        weights.append(float(w) if w is not None else _rank_weight(int(tid)))
        if wh < 0 and piece in _WH:
            wh = len(keep) - 1
    vec = np.asarray(hidden, dtype=np.float32)[keep] if keep else np.zeros((0, hidden.shape[1]), np.float32)
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    content = np.array([w not in STOPWORDS for w in words], dtype=bool)
    return TokenStates(vectors=vec, word_of=np.array(word_of, dtype=np.int64), content=content,
                       weight=np.array(weights, dtype=np.float32), wh_token=wh)


ALIGNMENT_FEATURE_NAMES: tuple[str, ...] = (
    "align_p", "align_r", "align_f1", "align_f1_idf",
    "align_min_query", "align_min_stored", "align_min", "align_min2",
    "align_unmatched50_query", "align_unmatched50_stored",
    "align_unmatched60_query", "align_unmatched60_stored",
    "align_unmatched70_query", "align_unmatched70_stored",
    "align_missing_idf_query", "align_missing_idf_stored",
    "align_wh", "align_wh_same",
)


def _word_scores(best: np.ndarray, ts: TokenStates) -> np.ndarray:
    """Per word: the mean of its pieces' best match."""
    n = len(ts.content)
    if n == 0:
        return np.zeros(0, np.float32)
    sums = np.bincount(ts.word_of, weights=best, minlength=n)
    counts = np.bincount(ts.word_of, minlength=n)
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def _side(best: np.ndarray, ts: TokenStates) -> tuple[np.ndarray, float]:
    words = _word_scores(best, ts)
    cw = words[ts.content] if ts.content.any() else words
    # idf-weighted missing mass over content tokens
    tok_content = ts.content[ts.word_of] if len(ts.word_of) else np.zeros(0, bool)
    w = ts.weight * tok_content if tok_content.any() else ts.weight
    missing = float((w * (1.0 - best)).sum() / max(float(w.sum()), 1e-9)) if len(best) else 0.0
    return cw, missing


def alignment_features(a: TokenStates, b: TokenStates) -> list[float]:
    """Features for query ``a`` vs stored ``b``, in ``ALIGNMENT_FEATURE_NAMES`` order."""
    if len(a.vectors) == 0 or len(b.vectors) == 0:
        return [0.0] * len(ALIGNMENT_FEATURE_NAMES)
    sim = a.vectors @ b.vectors.T
    best_a = sim.max(axis=1)  # each query token's best match in stored
    best_b = sim.max(axis=0)
    r = float(best_a.mean())  # recall: the query is covered
    p = float(best_b.mean())
    f1 = 2 * p * r / max(p + r, 1e-9)
    ri = float((best_a * a.weight).sum() / max(float(a.weight.sum()), 1e-9))
    pi = float((best_b * b.weight).sum() / max(float(b.weight.sum()), 1e-9))
    f1i = 2 * pi * ri / max(pi + ri, 1e-9)
    wa, miss_a = _side(best_a, a)
    wb, miss_b = _side(best_b, b)
    both = np.sort(np.concatenate([wa, wb]))
    min_a = float(wa.min()) if len(wa) else 1.0
    min_b = float(wb.min()) if len(wb) else 1.0
    min2 = float(both[1]) if len(both) > 1 else (float(both[0]) if len(both) else 1.0)
    feats = [p, r, f1, f1i, min_a, min_b, min(min_a, min_b), min2]
    for t in _THRESHOLDS:
        feats.append(float((wa < t).mean()) if len(wa) else 0.0)
        feats.append(float((wb < t).mean()) if len(wb) else 0.0)
    feats += [miss_a, miss_b]
    if a.wh_token >= 0:
        j = int(sim[a.wh_token].argmax())
        feats += [float(sim[a.wh_token, j]), float(j == b.wh_token)]
    else:
        feats += [-1.0, -1.0]
    return feats
