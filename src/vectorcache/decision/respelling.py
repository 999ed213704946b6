"""Prompts read with their slips of the keyboard replaced by the words they stand for.

``spelling.py`` says when one word is a slip for another; this reads whole prompts with it:
``spelled_alike`` for two prompts compared (each side's misspellings of the other's words), and
``respelt_text`` for one prompt alone (what the model embeds to find the prompts a mistyped one
repeats).
"""

from __future__ import annotations

import re

from vectorcache.decision import lexicon, spelling
from vectorcache.decision.analysis import Analysed, analyse, model_vocabulary

__all__ = ["RESPELL_MAX_CHARS", "dictionary_word", "respelt_text", "spelled_alike"]

RESPELL_MAX_CHARS = 600


def dictionary_word(word: str) -> bool:
    """A whole word of the embedding model's vocabulary, or a WordNet lemma or a form of one."""
    return word in model_vocabulary() or bool(lexicon.lemmas(word))


def spelled_alike(a: Analysed, b: Analysed) -> tuple[Analysed, Analysed]:
    """``a`` and ``b`` with each side's misspellings of the other side's words read as those
    words ("captial" / "capital"; ``spelling.corrections`` says when a word counts as one)."""
    names = frozenset(a.entities) | frozenset(b.entities)
    words_a, words_b = frozenset(a.tokens), frozenset(b.tokens)
    fix_a = spelling.corrections(words_a, words_b, names, dictionary_word)
    fix_b = spelling.corrections(words_b, words_a, names, dictionary_word)
    return _respelt(a, fix_a), _respelt(b, fix_b)


def respelt_text(text: str) -> str | None:
    """``text`` with each slip of the keyboard replaced by the word it most likely stands for
    (``spelling.likely_word``; names are left alone), or None if it has none. What the model
    embeds to find the prompts a mistyped one repeats: it cannot read through a slip. Only
    for prompts of up to ``RESPELL_MAX_CHARS``: in a longer one a slip barely moves the
    embedding, and the look-up's cost grows with the rare words (code, names) it holds."""
    if len(text) > RESPELL_MAX_CHARS:
        return None
    a = analyse(text)
    names = frozenset(a.entities)
    fixes = {w: right for w in set(a.tokens) - names
             if (right := spelling.likely_word(w, dictionary_word)) is not None}
    return _replaced(text, fixes) if fixes else None


def _respelt(a: Analysed, fixes: dict[str, str]) -> Analysed:
    return analyse(_replaced(a.text, fixes)) if fixes else a


def _replaced(text: str, fixes: dict[str, str]) -> str:
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, fixes)) + r")\b", re.IGNORECASE)
    return pattern.sub(lambda m: fixes[m.group().lower()], text)
