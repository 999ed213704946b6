"""Is one word another's inflection, synonym or antonym? WordNet 3.0, read from a table shipped
here.

``wordnet_senses.txt.gz`` is built by ``training/build_lexicon.py`` (its docstring says what it
holds and why hypernyms are left out). WordNet 3.0 is (c) 2006 Princeton University: see
``WORDNET_LICENSE`` beside this module.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

__all__ = ["antonyms", "lemmas", "same_sense"]

TABLE = "wordnet_senses.txt.gz"

#: WordNet's own detachment rules (``morphy``), for every part of speech at once: a candidate
#: counts only if it is a known lemma, so "bus" never becomes "bu"
_SUFFIXES = (
    ("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
    ("men", "man"), ("ies", "y"),                                      # nouns
    ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""),  # verbs
    ("er", ""), ("est", ""), ("er", "e"), ("est", "e"),                # adjectives
)


class _Table:
    def __init__(self, text: str) -> None:
        #: every lemma, with the shared synsets of its commonest senses (often none); the
        #: numbers are interned once, so the table costs a few MB, not tens
        self.senses: dict[str, tuple[int, ...]] = {}
        self.irregular: dict[str, tuple[str, ...]] = {}
        self.antonyms: dict[str, tuple[str, ...]] = {}
        numbers: dict[str, int] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            word, _, rest = line.partition("\t")
            if word.startswith("!"):
                self.irregular[word[1:]] = tuple(rest.split(","))
            elif word.startswith("~"):
                self.antonyms[word[1:]] = tuple(rest.split(","))
            else:
                self.senses[word] = tuple(numbers.setdefault(x, int(x))
                                          for x in rest.split(",") if x)


@lru_cache(maxsize=1)
def _table() -> _Table:
    blob = resources.files("vectorcache.decision").joinpath(TABLE).read_bytes()
    return _Table(gzip.decompress(blob).decode("utf-8"))


def lemmas(word: str) -> frozenset[str]:
    """The WordNet lemmas ``word`` may be a form of ("emptied" -> {"empty"}); empty if unknown."""
    table = _table()
    w = word.lower().replace("’", "'").removesuffix("'s").rstrip("'")
    found = {w} if w in table.senses else set()
    found.update(b for b in table.irregular.get(w, ()) if b in table.senses)
    for suffix, repl in _SUFFIXES:
        if w.endswith(suffix) and len(w) > len(suffix):
            base = w[: len(w) - len(suffix)] + repl
            if base in table.senses:
                found.add(base)
    return frozenset(found)


def same_sense(a: str, b: str) -> bool:
    """``a`` and ``b`` are forms of one word, or share a synset among their commonest senses."""
    la, lb = lemmas(a), lemmas(b)
    if not la or not lb:
        return False
    if la & lb:
        return True
    table = _table()
    senses_a = {s for x in la for s in table.senses[x]}
    return any(s in senses_a for x in lb for s in table.senses[x])


def antonyms(word: str) -> frozenset[str]:
    """WordNet's direct antonyms of the lemmas ``word`` may be a form of ("rose" -> {"fall",
    "set"}); empty if none."""
    table = _table()
    return frozenset(x for lemma in lemmas(word) for x in table.antonyms.get(lemma, ()))


def warm_up() -> None:
    _table()
