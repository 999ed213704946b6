"""Pair features for the hit verifier: cheap lexical evidence the embedding cosine misses.

A sentence embedding maps "flights from NY to FL" and "from FL to NY", or "Can I ...?" and
"Can I not ...?", to nearly the same point. These features look at what differs between the
query and a stored prompt: negation words present on one side only, numbers and dates that
differ, named entities that differ or appear in another order, word order (bigram overlap and
longest common subsequence), antonyms, and content words left unmatched on either side.

Words of any script are tokens (Chinese and Japanese, written without spaces, a character at a
time), and negation words of about fifteen other languages count, so the guards also hold for
prompts that are not in English (the verifier itself was trained on English pairs only).

Everything here is plain Python over short strings (microseconds per pair), no model needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from vectorcache.decision import lexicon, spelling
from vectorcache.decision.instructions import read_instructions
from vectorcache.decision.reading import AUXILIARIES, code_chunks, without_courtesy
from vectorcache.decision.words import (
    ANTONYM_PAIRS,
    CONTRACTIONS,
    FOREIGN_NEGATION_MARKS,
    FOREIGN_NEGATIONS,
    MONTHS,
    NEGATIONS,
    NUMBER_WORDS,
    STOPWORDS,
)

__all__ = [
    "FEATURE_NAMES",
    "Analysed",
    "analyse",
    "dictionary_word",
    "guard_flags",
    "pair_features",
    "same_up_to_symmetric_swap",
    "spelled_alike",
    "warm_up",
]

#: scripts written without spaces (kana, CJK ideographs): one token per character
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTER = rf"[^\W\d_{_CJK}]"  # a letter of any other script
_TOKEN = re.compile(rf"[{_CJK}]|{_LETTER}[^\W_{_CJK}]*(?:[.'’]{_LETTER}+)*"
                    rf"|\d+(?:[.,:/-]\d+)*{_LETTER}*")

#: comparison and arithmetic operators, currency, percent and degree signs, read from what is
#: left once words and numbers are taken out ("x > 5" vs "x < 5", "$100" vs "€100", "5%" vs
#: "5"); a lone "-" or "/" is punctuation as often
_OPERATOR = re.compile(r"==|!=|<=|>=|<>|=>|->|&&|\|\||<<|>>|[<>=+*%^&|~$€£¥₹₽₩°]")


def _stem(word: str) -> str:
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


def _antonym_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for a, b in ANTONYM_PAIRS:
        for x, y in ((a, b), (b, a)):
            table.setdefault(_stem(x), set()).add(_stem(y))
    return {k: frozenset(v) for k, v in table.items()}


_ANTONYMS = _antonym_table()


@dataclass(frozen=True)
class Analysed:
    """One prompt, tokenised once; the features compare two of these."""

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
    #: the text read (without courtesy), kept to read it again respelt (``spelled_alike``)
    text: str


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
    stems = tuple(_stem(t) for t in tokens)
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


_WH = frozenset(["what", "which", "who", "whom", "whose", "when", "where", "why", "how"])
_QUESTION_OPENERS = _WH | AUXILIARIES  # "What's ...", "Is ...": a final '?' is the question's


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


def warm_up() -> None:
    """Load the vocabulary and tokenizer now, not on the first request's event-loop turn."""
    _vocabulary()
    _model_tokenizer()
    lexicon.warm_up()
    spelling.warm_up()


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
def _vocabulary() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary: a proxy for "common word"."""
    from vectorcache.embeddings.shipped import tokenizer_file

    try:
        vocab = json.loads(tokenizer_file().read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, KeyError, ValueError):  # pragma: no cover - shipped in the package
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.islower())


def _rare(stem: str) -> bool:
    """A word the tokenizer has to split: a name, a product, a number, a rare term."""
    vocab = _vocabulary()
    return not stem.isalpha() or (stem not in vocab and stem + "s" not in vocab
                                  and stem + "e" not in vocab and stem + "y" not in vocab)


def _jaccard(a: AbstractSet[object], b: AbstractSet[object]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _lcs(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _order_swapped(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Shared items that appear in a different relative order (``NY ... FL`` vs ``FL ... NY``)."""
    shared = [x for x in dict.fromkeys(a) if x in set(b)]
    if len(shared) < 2:
        return False
    pos_b = {x: b.index(x) for x in shared}
    order = [pos_b[x] for x in shared]
    return order != sorted(order)


def _antonym_hits(only_a: frozenset[str], only_b: frozenset[str]) -> int:
    return sum(1 for x in only_a if _ANTONYMS.get(x, frozenset()) & only_b)


def _antonym(a: Analysed, b: Analysed) -> bool:
    """A word on one side whose opposite is on the other: over all words for the listed pairs
    ("zoom in" / "zoom out", "over 140" / "under 140"), over content words for prefixes."""
    stems_a, stems_b = frozenset(a.stems), frozenset(b.stems)
    only_a, only_b = stems_a - stems_b, stems_b - stems_a
    return (_antonym_hits(only_a, only_b) > 0
            or _prefix_negated(a.content - b.content, b.content - a.content) > 0
            or _wordnet_opposite(a, a.content - b.content, b.content - a.content))


def _wordnet_opposite(a: Analysed, only_a: frozenset[str], only_b: frozenset[str]) -> bool:
    """A content word on one side whose WordNet antonym is on the other only ("prices rose" /
    "prices fell", "a friendly dog" / "a hostile dog"); antonymy is symmetric, so one side's
    words are enough."""
    return bool(only_b) and any(
        _stem(x) in only_b for t, s in zip(a.tokens, a.stems, strict=True) if s in only_a
        for x in lexicon.antonyms(t))


def _prefix_negated(only_a: frozenset[str], only_b: frozenset[str]) -> int:
    """``unsafe`` vs ``safe``, ``non-refundable`` vs ``refundable``, ``dislike`` vs ``like``."""
    hits = 0
    for x in only_a:
        for y in only_b:
            long, short = (x, y) if len(x) > len(y) else (y, x)
            for pre in ("un", "non", "in", "im", "il", "ir", "dis", "anti"):
                if long == pre + short and len(short) >= 3:
                    hits += 1
    return hits


FEATURE_NAMES: tuple[str, ...] = (
    "cosine",
    "cosine_sq",
    "token_jaccard",
    "content_jaccard",
    "bigram_jaccard",
    "lcs_ratio",
    "length_ratio",
    "only_query_content",
    "only_stored_content",
    "negation_mismatch",
    "number_mismatch",
    "number_one_sided",
    "date_mismatch",
    "entity_mismatch",
    "entity_order_swap",
    "content_order_swap",
    "antonym",
    "wh_mismatch",
    "cos_x_bigram",
    "rare_only_query",
    "rare_only_stored",
    "containment",
    "unmatched_share",
)


def _operators(text: str, tokens: list[re.Match[str]]) -> tuple[str, ...]:
    rest, last = [], 0
    for m in tokens:
        rest.append(text[last:m.start()])
        last = m.end()
    rest.append(text[last:])
    return tuple(sorted(_OPERATOR.findall(" ".join(rest))))


def _negation_differs(a: Analysed, b: Analysed) -> bool:
    return (a.negations % 2) != (b.negations % 2) or a.foreign_negation != b.foreign_negation


#: what a question asks for: two prompts asking for different kinds of answer differ ("When
#: was X founded?" / "Where was X founded?"); "what", "which" and "how" ask for anything
_ASKS = {"who": "person", "whom": "person", "whose": "person", "when": "time", "where": "place",
         "why": "reason"}


def _asks(tokens: list[str]) -> frozenset[str]:
    kinds = {_ASKS[t] for t in tokens if t in _ASKS}
    kinds |= {"quantity" for x, y in pairwise(tokens) if x == "how" and y in
              ("many", "much", "long", "old", "far", "big", "tall", "often")}
    return frozenset(kinds)


#: the modal that opens a yes/no question, by what it asks
_MODALITY = {"can": "possible", "could": "possible", "may": "possible", "might": "possible",
             "must": "required", "should": "advised", "shall": "advised"}
_PAST = frozenset(["was", "were", "did"])
_NOT_PAST = frozenset(["is", "are", "am", "do", "does", "will", "shall"])


def _modality(tokens: list[str]) -> str:
    return _MODALITY.get(tokens[0], "") if tokens else ""


def _tense(tokens: list[str]) -> str:
    """Whether a question asks about the past: "past" or "present" from the auxiliary that
    opens it or follows its question word ("Who was ...", "Was ...", "When did ..."); "" when
    none does. Present and future are one ("When will it be out?" / "When is it coming
    out?"), and so are the perfect and the past ("What has been" / "What was")."""
    head = tokens[1] if len(tokens) > 1 and tokens[0] in _WH else (tokens[0] if tokens else "")
    return "past" if head in _PAST else "present" if head in _NOT_PAST else ""


#: words that make a relation symmetric: "the difference between A and B" asks the same as
#: "... between B and A"; "flights from A to B" has none of them and stays directional
_SYMMETRIC_CUES = frozenset(["between", "vs", "versus", "compare", "compared", "comparing",
                             "comparison", "differ", "differs", "different", "difference",
                             "differences", "similar", "similarity", "similarities"])
_SYMMETRIC_JOINS = frozenset(["and", "or", "vs", "versus", "&"])


def same_up_to_symmetric_swap(a: Analysed, b: Analysed) -> bool:
    """``b`` is ``a`` with the two sides of a symmetric comparison swapped: ``X and Y`` ->
    ``Y and X`` (also ``or``, ``vs``) in a prompt that asks for a difference, a similarity or
    a comparison. Such a pair is one question; the order guards would otherwise reject it."""
    ta, tb = a.tokens, b.tokens
    n = len(ta)
    if ta == tb or n != len(tb) or n > 64 or sorted(ta) != sorted(tb):
        return False
    if not _SYMMETRIC_CUES & set(ta):
        return False
    for k in range(n):
        if ta[k] not in _SYMMETRIC_JOINS:
            continue
        for start in range(k):  # X = ta[start:k], Y = ta[k+1:end]
            if ta[:start] != tb[:start]:
                break
            for end in range(k + 2, n + 1):
                if ta[end:] != tb[end:]:
                    continue
                x, y = ta[start:k], ta[k + 1:end]
                if tb[start:end] == (*y, ta[k], *x):
                    return True
    return False


def _constraint_differs(a: Analysed, b: Analysed) -> bool:
    """An instruction on one side only, unless the other names the same thing anyway ("my
    writing skills in English" / "my English writing skills" is the same question)."""
    def unmatched(x: Analysed, y: Analysed) -> bool:
        words = set(y.stems) | {t.removesuffix("'s") for t in y.tokens}
        return any(label.split(":", 1)[1] not in words
                   for label in x.constraints - y.constraints)

    return unmatched(a, b) or unmatched(b, a)


#: words that open a phrase narrowing a question ("for a small apartment", "on Windows")
_QUALIFYING = frozenset(["for", "with", "without", "in", "on", "under", "near", "during",
                         "after", "before", "using", "at", "from", "via", "within", "inside",
                         "outside", "over", "by", "through", "against"])
#: what such a phrase may add without narrowing it: manner, not subject ("in an effective
#: way", "by myself", "on my own", "for free", "at home", "online")
_MANNER = frozenset(["myself", "yourself", "himself", "herself",
                     "itself", "ourselves", "yourselves", "themselves", "oneself", "own",
                     "free", "home", "online", "quickly", "easily", "fast", "effectively",
                     "efficiently", "properly", "possible", "general", "short", "detail"])


def _qualified(longer: Analysed, shorter: Analysed) -> bool:
    """``longer`` is ``shorter`` plus a trailing phrase that narrows it: "best dog breeds" /
    "best dog breeds for a small apartment", "install Python" / "... on Windows"."""
    n = len(shorter.tokens)
    if len(longer.tokens) <= n or longer.tokens[:n] != shorter.tokens:
        return False
    tail = longer.tokens[n:]
    if tail[0] not in _QUALIFYING or {"way", "ways", "manner"} & set(tail):  # "in a ... way"
        return False
    return any(
        t not in STOPWORDS and t not in _MANNER and t not in shorter.tokens for t in tail[1:])


def dictionary_word(word: str) -> bool:
    """A whole word of the embedding model's vocabulary, or a WordNet lemma or a form of one."""
    return word in _vocabulary() or bool(lexicon.lemmas(word))


def spelled_alike(a: Analysed, b: Analysed) -> tuple[Analysed, Analysed]:
    """``a`` and ``b`` with each side's misspellings of the other side's words read as those
    words ("captial" / "capital"; ``spelling.corrections`` says when a word counts as one)."""
    names = frozenset(a.entities) | frozenset(b.entities)
    words_a, words_b = frozenset(a.tokens), frozenset(b.tokens)
    fix_a = spelling.corrections(words_a, words_b, names, dictionary_word)
    fix_b = spelling.corrections(words_b, words_a, names, dictionary_word)
    return _respelt(a, fix_a), _respelt(b, fix_b)


def _respelt(a: Analysed, fixes: dict[str, str]) -> Analysed:
    return analyse(_replaced(a.text, fixes)) if fixes else a


def _replaced(text: str, fixes: dict[str, str]) -> str:
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, fixes)) + r")\b", re.IGNORECASE)
    return pattern.sub(lambda m: fixes[m.group().lower()], text)


RESPELL_MAX_CHARS = 600


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


def guard_flags(a: Analysed, b: Analysed) -> dict[str, bool]:
    """The hard lexical guards, by name (True = the guard fired, i.e. the pair looks different)."""
    a, b = spelled_alike(a, b)
    if same_up_to_symmetric_swap(a, b):
        b = a
    only_a = a.content - b.content
    only_b = b.content - a.content
    return {
        "negation": _negation_differs(a, b),
        "number": bool(a.numbers and b.numbers and a.numbers != b.numbers)
                  or _order_swapped(a.figures, b.figures),
        # a figure on one side only: "3 star hotels" vs "star hotels", "lose 10 kg" vs "lose weight"
        "number_added": a.has_digit != b.has_digit,
        "operator": a.operators != b.operators,
        # the same words around other code: "Explain the regex \\d+?" / "... \\d+"
        "code": a.code != b.code,
        "asks": bool(a.asks and b.asks and a.asks != b.asks),
        # another time: "Who is the CEO of Apple?" / "Who was ...", "Is Pluto a planet?" /
        # "Was Pluto a planet?", "Who won ..." / "Who will win ..."
        "tense": bool(a.tense and b.tense and a.tense != b.tense),
        # a yes/no question asking whether one may, must or should: "May I pay taxes on
        # gifts?" / "Must I ...", "Can I eat eggs raw?" / "Should I ..."
        "modality": bool(a.modality and b.modality and a.modality != b.modality),
        # a difference the embedding cannot see (🍆 vs 🍑 embed the same): the cosine says nothing
        "unseen": a.unseen != b.unseen,
        "date": bool(a.dates and b.dates and a.dates != b.dates),
        "entity": bool(set(a.entities) ^ set(b.entities)) and bool(a.entities and b.entities),
        "entity_order": _order_swapped(a.entities, b.entities),
        "antonym": _antonym(a, b),
        # an instruction on the answer's form on one side only, or another one: "in one
        # sentence", "as a poem", "in JSON", "formally", "for beginners", "in French"
        "constraint": _constraint_differs(a, b),
        # the same question narrowed by a trailing phrase: "... for a small apartment"
        "qualifier": _qualified(a, b) or _qualified(b, a),
        # one content word swapped for another, the rest equal: "router" -> "modem", but not
        # for another form or a synonym of it ("emptied" / "empty", "built" / "constructed")
        "substitution": _substituted(a, b, only_a, only_b),
    }


def _substituted(a: Analysed, b: Analysed, only_a: frozenset[str], only_b: frozenset[str]) -> bool:
    if not (len(only_a) == 1 and len(only_b) == 1 and len(a.content) >= 2):
        return False
    return not lexicon.same_sense(_word_of(a, next(iter(only_a))),
                                  _word_of(b, next(iter(only_b))))


def _word_of(a: Analysed, stem: str) -> str:
    return next(t for t, s in zip(a.tokens, a.stems, strict=True) if s == stem)


def pair_features(cosine: float, a: Analysed, b: Analysed) -> list[float]:
    """The feature vector, in ``FEATURE_NAMES`` order, for query ``a`` and stored prompt ``b``.
    Misspellings count as differences here (the guards read past them, ``spelled_alike``):
    trained on respelt pairs, the verifier learnt to trust lexical identity at lower cosines
    and served more wrong answers (CV at the default point: 0.84 % -> 1.03 %)."""
    if same_up_to_symmetric_swap(a, b):
        b = a  # the same words, the same question: only the cosine tells them apart
    only_a = a.content - b.content
    only_b = b.content - a.content
    bi_a = set(pairwise(a.stems))
    bi_b = set(pairwise(b.stems))
    la, lb = len(a.stems), len(b.stems)
    lcs = _lcs(a.stems, b.stems)
    ents_a, ents_b = set(a.entities), set(b.entities)
    content_seq_a = tuple(s for s in a.stems if s in b.content)
    content_seq_b = tuple(s for s in b.stems if s in a.content)
    bigram = _jaccard(bi_a, bi_b) if (bi_a or bi_b) else 1.0
    return [
        cosine,
        cosine * cosine,
        _jaccard(set(a.stems), set(b.stems)),
        _jaccard(a.content, b.content),
        bigram,
        lcs / max(la, lb, 1),
        min(la, lb) / max(la, lb, 1),
        float(min(len(only_a), 5)),
        float(min(len(only_b), 5)),
        float(_negation_differs(a, b)),
        float(bool(a.numbers and b.numbers and a.numbers != b.numbers)),
        float(bool(a.numbers) != bool(b.numbers)),
        float(bool(a.dates and b.dates and a.dates != b.dates)),
        float(min(len(ents_a ^ ents_b), 4)),
        float(_order_swapped(a.entities, b.entities)),
        float(_order_swapped(content_seq_a, content_seq_b)),
        float(_antonym(a, b)),
        float(a.wh != b.wh),
        cosine * bigram,
        float(min(sum(1 for w in only_a if _rare(w)), 3)),
        float(min(sum(1 for w in only_b if _rare(w)), 3)),
        len(a.content & b.content) / max(min(len(a.content), len(b.content)), 1),
        (len(only_a) + len(only_b)) / max(len(a.content) + len(b.content), 1),
    ]
