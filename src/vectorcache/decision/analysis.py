"""One prompt read into the parts the guards and the verifier's features compare.

``analyse`` tokenises a prompt once (after ``reading.without_courtesy``) and records what a
sentence embedding glosses over: negation words, numbers and dates in order, named entities in
order, operators, code, the kind of answer a question asks for, its tense and modality, and
what the embedding model's tokenizer cannot see at all.

Words of any script are tokens (Chinese and Japanese, written without spaces, a character at a
time), and negation words of about fifteen other languages count, so the guards also hold for
prompts that are not in English (the verifier itself was trained on English pairs only).

Everything here is plain Python over short strings (microseconds per prompt), no model needed;
the embedding model's tokenizer and vocabulary are read once, on first use (``warm_up``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any

from vectorcache.decision.instructions import read_instructions
from vectorcache.decision.reading import AUXILIARIES, code_chunks, without_courtesy
from vectorcache.decision.words import (
    CONTRACTIONS,
    FOREIGN_NEGATION_MARKS,
    FOREIGN_NEGATIONS,
    MONTHS,
    NEGATIONS,
    NUMBER_WORDS,
    STOPWORDS,
)

__all__ = ["Analysed", "analyse", "model_vocabulary", "stem", "warm_up"]

#: scripts written without spaces (kana, CJK ideographs): one token per character
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTER = rf"[^\W\d_{_CJK}]"  # a letter of any other script
_TOKEN = re.compile(rf"[{_CJK}]|{_LETTER}[^\W_{_CJK}]*(?:[.'’]{_LETTER}+)*"
                    rf"|\d+(?:[.,:/-]\d+)*{_LETTER}*")

#: comparison and arithmetic operators, currency, percent and degree signs, read from what is
#: left once words and numbers are taken out ("x > 5" vs "x < 5", "$100" vs "€100", "5%" vs
#: "5"); a lone "-" or "/" is punctuation as often
_OPERATOR = re.compile(r"==|!=|<=|>=|<>|=>|->|&&|\|\||<<|>>|[<>=+*%^&|~$€£¥₹₽₩°]")

_WH = frozenset(["what", "which", "who", "whom", "whose", "when", "where", "why", "how"])
_QUESTION_OPENERS = _WH | AUXILIARIES  # "What's ...", "Is ...": a final '?' is the question's

#: what a question asks for: two prompts asking for different kinds of answer differ ("When
#: was X founded?" / "Where was X founded?"); "what", "which" and "how" ask for anything
_ASKS = MappingProxyType({"who": "person", "whom": "person", "whose": "person", "when": "time",
                          "where": "place", "why": "reason"})

#: the modal that opens a yes/no question, by what it asks
_MODALITY = MappingProxyType({"can": "possible", "could": "possible", "may": "possible",
                              "might": "possible", "must": "required", "should": "advised",
                              "shall": "advised"})
_PAST = frozenset(["was", "were", "did"])
_NOT_PAST = frozenset(["is", "are", "am", "do", "does", "will", "shall"])


def stem(word: str) -> str:
    """A very light stemmer, enough to match plurals and simple inflections."""
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""),
                         ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: len(word) - len(suffix)] + keep
    return word


@dataclass(frozen=True)
class Analysed:
    """One prompt, tokenised once; the guards and features compare two of these."""

    tokens: tuple[str, ...]  # lower-cased, contractions expanded
    stems: tuple[str, ...]
    content: frozenset[str]  # stems of non-stopwords
    negations: int
    #: a negation of another language is present (see ``FOREIGN_NEGATIONS``)
    foreign_negation: bool
    #: operators outside words and numbers, sorted
    operators: tuple[str, ...]
    #: what the embedding model cannot see (its tokenizer's ``[UNK]``: emoji, many CJK
    #: characters), sorted: two prompts that differ only there embed identically
    unseen: tuple[str, ...]
    #: the kinds of answer a question asks for (``_ASKS``; empty for "what" / "how")
    asks: frozenset[str]
    #: whether the question asks about the past (``_tense``): "past", "present" or ""
    tense: str
    #: what a yes/no question opened by a modal asks (``_modality``): "possible", "required",
    #: "advised" or ""
    modality: str
    has_digit: bool
    #: instructions on the answer's form (``instructions.py``: "length:sentence", "lang:french")
    constraints: frozenset[str]
    numbers: frozenset[str]
    #: the numbers in order of appearance ("Is 3 bigger than 5?" vs "Is 5 bigger than 3?")
    figures: tuple[str, ...]
    dates: frozenset[str]
    entities: tuple[str, ...]  # in order of appearance, lower-cased
    wh: str  # the question word or first token
    normalised: str
    #: the chunks that read as code or a formula, sorted (``reading.code_chunks``): "arr[1:]"
    code: tuple[str, ...]
    #: the text read (without courtesy), kept to read it again respelt
    #: (``respelling.spelled_alike``)
    text: str


def analyse(text: str) -> Analysed:
    """Tokenise once per request; deliberately not memoised (prompts are user data)."""
    text = without_courtesy(text.replace("’", "'"))
    matches = list(_TOKEN.finditer(text))
    tokens: list[str] = []
    entities: list[str] = []
    figures: list[str] = []
    dates: set[str] = set()
    negations = 0
    foreign = any(mark in text for mark in FOREIGN_NEGATION_MARKS)
    for m in matches:
        tok = m.group()
        sentence_start = _opens_sentence(text, m.start())
        low = tok.lower()
        if low in CONTRACTIONS:
            parts: tuple[str, ...] = CONTRACTIONS[low]
        elif low.endswith("n't"):
            parts = (low[:-3], "not")
        else:
            parts = (low,)
        for p in parts:
            if p in NEGATIONS:
                negations += 1
            elif p in FOREIGN_NEGATIONS and not (p == "non" and text[m.end():m.end() + 1] == "-"):
                foreign = True  # "non-profit" is English
        if tok[0].isdigit():
            figures.append(_number_value(tok))
        elif low in NUMBER_WORDS:
            figures.append(NUMBER_WORDS[low])
        if low in MONTHS and (tok[0].isupper() or low not in {"may", "march"}):
            dates.add(low[:3])
        is_entity = (
            (tok[0].isupper() and not sentence_start and low not in STOPWORDS)
            or (len(tok) > 1 and tok.isupper() and not tok.isdigit())
            or (any(ch.isdigit() for ch in tok) and any(ch.isalpha() for ch in tok))
        )
        if is_entity:
            entities.append(low)
        tokens.extend(parts)
    stems = tuple(stem(t) for t in tokens)
    content = frozenset(s for t, s in zip(tokens, stems, strict=True) if t not in STOPWORDS)
    wh = next((t for t in tokens if t in _WH), tokens[0] if tokens else "")
    return Analysed(
        tokens=tuple(tokens), stems=stems, content=content, negations=negations,
        foreign_negation=foreign, operators=_operators(text, matches), unseen=_unseen(text),
        asks=_asks(tokens), tense=_tense(tokens), modality=_modality(tokens),
        has_digit=any(t[0].isdigit() for t in tokens),
        constraints=read_instructions(tokens), numbers=frozenset(figures), figures=tuple(figures),
        dates=frozenset(dates), entities=tuple(entities), wh=wh,
        normalised=" ".join(tokens),
        code=code_chunks(text, bool(tokens) and tokens[0].split("'")[0] in _QUESTION_OPENERS),
        text=text,
    )


def _number_value(tok: str) -> str:
    t = tok.replace(",", "")
    try:
        return repr(float(t)) if "." in t else str(int(t))
    except ValueError:
        return t


def _opens_sentence(text: str, start: int) -> bool:
    """Whether a token at ``start`` opens the text or a sentence (quotes and brackets
    between): read back over the gap before it only, never a copy of everything before it
    (which made ``analyse`` quadratic in the prompt)."""
    i = start
    while i and text[i - 1] in " \t\"'(":
        i -= 1
    return not i or text[i - 1] in ".?!:\n"


def _operators(text: str, tokens: list[re.Match[str]]) -> tuple[str, ...]:
    rest, last = [], 0
    for m in tokens:
        rest.append(text[last:m.start()])
        last = m.end()
    rest.append(text[last:])
    return tuple(sorted(_OPERATOR.findall(" ".join(rest))))


def _asks(tokens: list[str]) -> frozenset[str]:
    kinds = {_ASKS[t] for t in tokens if t in _ASKS}
    kinds |= {"quantity" for x, y in pairwise(tokens) if x == "how" and y in
              ("many", "much", "long", "old", "far", "big", "tall", "often")}
    return frozenset(kinds)


def _modality(tokens: list[str]) -> str:
    return _MODALITY.get(tokens[0], "") if tokens else ""


def _tense(tokens: list[str]) -> str:
    """Whether a question asks about the past: "past" or "present" from the auxiliary that
    opens it or follows its question word ("Who was ...", "Was ...", "When did ..."); "" when
    none does. Present and future are one ("When will it be out?" / "When is it coming
    out?"), and so are the perfect and the past ("What has been" / "What was")."""
    head = tokens[1] if len(tokens) > 1 and tokens[0] in _WH else (tokens[0] if tokens else "")
    return "past" if head in _PAST else "present" if head in _NOT_PAST else ""


# ---------------------------------------------------------------- the embedding model's words


@lru_cache(maxsize=1)
def _model_tokenizer() -> Any:
    """The embedding model's own tokenizer, without padding or truncation (None if missing)."""
    try:
        from tokenizers import Tokenizer

        from vectorcache.embeddings.shipped import tokenizer_file

        tokenizer = Tokenizer.from_file(str(tokenizer_file()))
    except Exception:  # noqa: BLE001 - tokenizers raises a bare Exception  # pragma: no cover
        return None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _unseen(text: str) -> tuple[str, ...]:
    if text.isascii():  # WordPiece spells out any ASCII word: nothing unseen
        return ()
    tokenizer = _model_tokenizer()
    if tokenizer is None:  # pragma: no cover
        return ()
    enc = tokenizer.encode(text, add_special_tokens=False)
    return tuple(sorted(text[a:b] for tok, (a, b) in zip(enc.tokens, enc.offsets, strict=True)
                        if tok == "[UNK]"))


@lru_cache(maxsize=1)
def model_vocabulary() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary: a proxy for "common word"."""
    from vectorcache.embeddings.shipped import tokenizer_file

    try:
        vocab = json.loads(tokenizer_file().read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, KeyError, ValueError):  # pragma: no cover - shipped in the package
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.islower())


def warm_up() -> None:
    """Load the vocabulary and tokenizer now, not on the first request's event-loop turn."""
    model_vocabulary()
    _model_tokenizer()
