"""The hard lexical guards: one registry of the differences that make a stored answer wrong.

A sentence embedding maps "flights from NY to FL" and "from FL to NY", or "Can I ...?" and
"Can I not ...?", to nearly the same point. Each guard here names one such difference, has a
predicate over two analysed prompts (True: the guard fires, the pair looks different) and says
what it saw (``Evidence``: the words, numbers or labels on each side), shown in the hit
decision's ``debug`` output.

``REGISTRY`` is the one list: ``guard_flags`` is built from it, the trainer takes the guards that
veto from it (``VETOES``), the shipped verifier files record the vetoes they were measured with,
and the server refuses a verifier file that names a guard this code does not have. A test checks
that all of these agree.

Both sides are read with each other's misspellings respelt (``respelling.spelled_alike``), and
the two sides of a symmetric comparison ("the difference between A and B") may swap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from vectorcache.decision import lexicon
from vectorcache.decision.analysis import Analysed, stem
from vectorcache.decision.respelling import spelled_alike
from vectorcache.decision.words import (
    ANTONYM_PAIRS,
    FOREIGN_NEGATION_MARKS,
    FOREIGN_NEGATIONS,
    NEGATIONS,
    STOPWORDS,
)

__all__ = [
    "REGISTRY",
    "VETOES",
    "Evidence",
    "Guard",
    "antonym",
    "fired_guards",
    "guard_flags",
    "negation_differs",
    "order_swapped",
    "same_up_to_symmetric_swap",
]


@dataclass(frozen=True)
class Evidence:
    """What a guard saw differ, on each side: the query's (the first prompt compared) and the
    stored prompt's (the second)."""

    query: tuple[str, ...]
    stored: tuple[str, ...]

    def as_json(self) -> dict[str, list[str]]:
        return {"query": list(self.query), "stored": list(self.stored)}


Check = Callable[[Analysed, Analysed], bool]


@dataclass(frozen=True)
class Guard:
    """One hard guard: ``fires(query, stored)``, and ``evidence`` of what it saw when it does."""

    name: str
    fires: Check
    evidence: Callable[[Analysed, Analysed], Evidence]
    #: whether the trainer measures it as a veto (``VETOES``); one that does not is reported
    #: by ``guard_flags`` only (the verifier reads the same difference as a feature)
    veto: bool = True


# ---------------------------------------------------------------- comparisons


def negation_differs(a: Analysed, b: Analysed) -> bool:
    return (a.negations % 2) != (b.negations % 2) or a.foreign_negation != b.foreign_negation


def order_swapped(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Shared items that appear in a different relative order (``NY ... FL`` vs ``FL ... NY``)."""
    shared = [x for x in dict.fromkeys(a) if x in set(b)]
    if len(shared) < 2:
        return False
    pos_b = {x: b.index(x) for x in shared}
    order = [pos_b[x] for x in shared]
    return order != sorted(order)


@lru_cache(maxsize=1)
def _antonym_table() -> dict[str, frozenset[str]]:
    """``words.ANTONYM_PAIRS`` by stem, both ways."""
    table: dict[str, set[str]] = {}
    for a, b in ANTONYM_PAIRS:
        for x, y in ((a, b), (b, a)):
            table.setdefault(stem(x), set()).add(stem(y))
    return {k: frozenset(v) for k, v in table.items()}


_PREFIXES = ("un", "non", "in", "im", "il", "ir", "dis", "anti")


def antonym(a: Analysed, b: Analysed) -> bool:
    """A word on one side whose opposite is on the other: over all words for the listed pairs
    ("zoom in" / "zoom out", "over 140" / "under 140"), over content words for prefixes."""
    stems_a, stems_b = frozenset(a.stems), frozenset(b.stems)
    only_a, only_b = stems_a - stems_b, stems_b - stems_a
    table = _antonym_table()
    return (any(table.get(x, frozenset()) & only_b for x in only_a)
            or bool(_prefix_negated(a.content - b.content, b.content - a.content))
            or bool(_wordnet_opposites(a, a.content - b.content, b.content - a.content)))


def _opposites(a: Analysed, b: Analysed) -> list[tuple[str, str]]:
    """The (word of ``a``, its opposite in ``b``) pairs ``antonym`` reads, for its evidence."""
    stems_a, stems_b = frozenset(a.stems), frozenset(b.stems)
    only_a, only_b = stems_a - stems_b, stems_b - stems_a
    table = _antonym_table()
    found = [(x, y) for x in sorted(only_a) for y in sorted(table.get(x, frozenset()) & only_b)]
    found += _prefix_negated(a.content - b.content, b.content - a.content)
    found += _wordnet_opposites(a, a.content - b.content, b.content - a.content)
    return list(dict.fromkeys(found))


def _wordnet_opposites(a: Analysed, only_a: frozenset[str],
                       only_b: frozenset[str]) -> list[tuple[str, str]]:
    """The content words on one side whose WordNet antonym is on the other only ("prices rose"
    / "prices fell", "a friendly dog" / "a hostile dog"); antonymy is symmetric, so one side's
    words are enough."""
    if not only_b:
        return []
    return [(s, stem(x)) for t, s in zip(a.tokens, a.stems, strict=True) if s in only_a
            for x in sorted(lexicon.antonyms(t)) if stem(x) in only_b]


def _prefix_negated(only_a: frozenset[str], only_b: frozenset[str]) -> list[tuple[str, str]]:
    """``unsafe`` vs ``safe``, ``non-refundable`` vs ``refundable``, ``dislike`` vs ``like``."""
    hits = []
    for x in sorted(only_a):
        for y in sorted(only_b):
            long, short = (x, y) if len(x) > len(y) else (y, x)
            hits += [(x, y) for pre in _PREFIXES if long == pre + short and len(short) >= 3]
    return hits


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


def _unmatched_constraints(x: Analysed, y: Analysed) -> list[str]:
    """``x``'s instructions that ``y`` lacks and does not name anyway ("my writing skills in
    English" / "my English writing skills" is the same question)."""
    words = set(y.stems) | {t.removesuffix("'s") for t in y.tokens}
    return sorted(label for label in x.constraints - y.constraints
                  if label.split(":", 1)[1] not in words)


def _constraint_differs(a: Analysed, b: Analysed) -> bool:
    return bool(_unmatched_constraints(a, b)) or bool(_unmatched_constraints(b, a))


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


def _substituted(a: Analysed, b: Analysed) -> bool:
    only_a, only_b = a.content - b.content, b.content - a.content
    if not (len(only_a) == 1 and len(only_b) == 1 and len(a.content) >= 2):
        return False
    return not lexicon.same_sense(_word_of(a, next(iter(only_a))),
                                  _word_of(b, next(iter(only_b))))


def _word_of(a: Analysed, stem_: str) -> str:
    return next(t for t, s in zip(a.tokens, a.stems, strict=True) if s == stem_)


# ---------------------------------------------------------------- evidence


def _only(x: Iterable[str], y: Iterable[str]) -> Evidence:
    """The items of each side the other lacks (as many times as it lacks them)."""
    cx, cy = Counter(x), Counter(y)
    return Evidence(tuple(sorted((cx - cy).elements())), tuple(sorted((cy - cx).elements())))


def _both(get: Callable[[Analysed], Iterable[str]]) -> Callable[[Analysed, Analysed], Evidence]:
    """Each side's whole reading of one kind (where the difference is in how many or which
    order, not in one item)."""
    return lambda a, b: Evidence(tuple(get(a)), tuple(get(b)))


def _negation_words(x: Analysed) -> tuple[str, ...]:
    marks = [m for m in FOREIGN_NEGATION_MARKS if m in x.text]
    return tuple(t for t in x.tokens if t in NEGATIONS or t in FOREIGN_NEGATIONS) + tuple(marks)


def _digits(x: Analysed) -> tuple[str, ...]:
    return tuple(t for t in x.tokens if t[0].isdigit())


def _shared_in_order(x: tuple[str, ...], y: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v for v in dict.fromkeys(x) if v in set(y))


def _opposite_evidence(a: Analysed, b: Analysed) -> Evidence:
    pairs = _opposites(a, b) or [(y, x) for x, y in _opposites(b, a)]
    return Evidence(tuple(dict.fromkeys(_word_of(a, x) for x, _ in pairs)),
                    tuple(dict.fromkeys(_word_of(b, y) for _, y in pairs)))


def _qualifier_evidence(a: Analysed, b: Analysed) -> Evidence:
    """The trailing phrase, as one string ("for a small apartment")."""
    return Evidence((" ".join(a.tokens[len(b.tokens):]),) if _qualified(a, b) else (),
                    (" ".join(b.tokens[len(a.tokens):]),) if _qualified(b, a) else ())


def _substitution_evidence(a: Analysed, b: Analysed) -> Evidence:
    (x,), (y,) = a.content - b.content, b.content - a.content
    return Evidence((_word_of(a, x),), (_word_of(b, y),))


# ---------------------------------------------------------------- the registry

#: every guard, in the order ``guard_flags`` lists them (and ``debug`` names the ones that fired)
REGISTRY: tuple[Guard, ...] = (
    Guard("negation", negation_differs, _both(_negation_words)),
    Guard("number",
          lambda a, b: bool(a.numbers and b.numbers and a.numbers != b.numbers)
          or order_swapped(a.figures, b.figures),
          _both(lambda x: x.figures)),
    # a figure on one side only: "3 star hotels" vs "star hotels", "lose 10 kg" vs "lose weight"
    Guard("number_added", lambda a, b: a.has_digit != b.has_digit, _both(_digits)),
    Guard("operator", lambda a, b: a.operators != b.operators,
          lambda a, b: _only(a.operators, b.operators)),
    # the same words around other code: "Explain the regex \\d+?" / "... \\d+"
    Guard("code", lambda a, b: a.code != b.code, lambda a, b: _only(a.code, b.code)),
    Guard("asks", lambda a, b: bool(a.asks and b.asks and a.asks != b.asks),
          _both(lambda x: sorted(x.asks))),
    # another time: "Who is the CEO of Apple?" / "Who was ...", "Is Pluto a planet?" /
    # "Was Pluto a planet?", "Who won ..." / "Who will win ..."
    Guard("tense", lambda a, b: bool(a.tense and b.tense and a.tense != b.tense),
          _both(lambda x: (x.tense,))),
    # a yes/no question asking whether one may, must or should: "May I pay taxes on
    # gifts?" / "Must I ...", "Can I eat eggs raw?" / "Should I ..."
    Guard("modality", lambda a, b: bool(a.modality and b.modality and a.modality != b.modality),
          _both(lambda x: (x.modality,))),
    # a difference the embedding cannot see (🍆 vs 🍑 embed the same): the cosine says nothing
    Guard("unseen", lambda a, b: a.unseen != b.unseen, lambda a, b: _only(a.unseen, b.unseen)),
    Guard("date", lambda a, b: bool(a.dates and b.dates and a.dates != b.dates),
          lambda a, b: _only(a.dates, b.dates)),
    # named entities that differ: costs recall as a veto (a name is often paraphrased away);
    # the verifier reads it as ``entity_mismatch``
    Guard("entity",
          lambda a, b: bool(set(a.entities) ^ set(b.entities)) and bool(a.entities and b.entities),
          lambda a, b: _only(set(a.entities), set(b.entities)), veto=False),
    Guard("entity_order", lambda a, b: order_swapped(a.entities, b.entities),
          lambda a, b: Evidence(_shared_in_order(a.entities, b.entities),
                                _shared_in_order(b.entities, a.entities))),
    Guard("antonym", antonym, _opposite_evidence),
    # an instruction on the answer's form on one side only, or another one: "in one
    # sentence", "as a poem", "in JSON", "formally", "for beginners", "in French"
    Guard("constraint", _constraint_differs,
          lambda a, b: Evidence(tuple(_unmatched_constraints(a, b)),
                                tuple(_unmatched_constraints(b, a)))),
    # the same question narrowed by a trailing phrase: "... for a small apartment"
    Guard("qualifier", lambda a, b: _qualified(a, b) or _qualified(b, a), _qualifier_evidence),
    # one content word swapped for another, the rest equal: "router" -> "modem", but not
    # for another form or a synonym of it ("emptied" / "empty", "built" / "constructed")
    Guard("substitution", _substituted, _substitution_evidence),
)

#: the guards that veto a hit outright, as the trainer measures them and the shipped verifier
#: files record them
VETOES: tuple[str, ...] = tuple(g.name for g in REGISTRY if g.veto)


def _compared(a: Analysed, b: Analysed) -> tuple[Analysed, Analysed]:
    """The pair as the guards read it: misspellings of each other's words respelt, and a
    symmetric comparison's two sides swapped back."""
    a, b = spelled_alike(a, b)
    return (a, a) if same_up_to_symmetric_swap(a, b) else (a, b)


def guard_flags(a: Analysed, b: Analysed) -> dict[str, bool]:
    """The hard lexical guards, by name (True = the guard fired, i.e. the pair looks different)."""
    a, b = _compared(a, b)
    return {g.name: g.fires(a, b) for g in REGISTRY}


def fired_guards(a: Analysed, b: Analysed) -> dict[str, Evidence]:
    """The guards that fire on query ``a`` and stored prompt ``b``, in ``REGISTRY`` order,
    each with what it saw (the same names ``guard_flags`` sets True)."""
    a, b = _compared(a, b)
    return {g.name: g.evidence(a, b) for g in REGISTRY if g.fires(a, b)}
