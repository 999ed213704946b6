"""Misspellings: is a word on one side the other side's word with one slip of the keyboard?

"What is the captial of France?" asks what "What is the capital of France?" asks, but to the
lexical guards "captial" / "capital" is one content word swapped for another (the veto that stops
"router" / "modem"), and to the verifier's overlap features a word less in common. A word is
read as a misspelling of the other side's word only when all of these hold:

* it is that word with one slip of the fingers (``slip_of``: two neighbouring letters swapped,
  a letter replaced by a key next to it, doubled, or left out), and no other word that only
  the other side has; names made from words change them otherwise ("nuxt" / "next", "cuda" /
  "cuba", "canva" / "canvas", "flink" / "link"), and so do misspellings by sound
  ("seperate"), which are not read;
* it is not a dictionary word (the embedding model's vocabulary, WordNet), while the other side's
  word is one, or is common: a real word typed for another ("form" for "from", "loose" for
  "lose", "fiend" for "friend") is another question as far as anyone can tell;
* it is rare, and rare next to that word: under ``COMMON`` (once per million words) and at
  least ``FREQUENCY_GAP`` (1.5) orders of magnitude rarer than that word in running text
  (``word_frequencies.txt.gz``, from wordfreq). Slips are rare ("recieve" 2.75 on the Zipf
  scale, "receive" 4.85; "captial" 1.61, "capital" 5.01), while names and brands written in
  lower case are common words of their own that dictionaries lack ("lyft" 3.14 / "lift" 4.50,
  "tumblr" 3.74 / "tumbler" 2.85, "grindr" 2.70 / "grinder" 3.32);
* both are plain words of at least ``MIN_LENGTH`` ASCII letters, and neither is read as a name
  (capitalised in mid-sentence, in capitals, or with digits).

The embedding model cannot read through a slip ("captial" / "capital": cosine 0.77), so a
mistyped prompt that missed is searched for again as it reads with each slip replaced by the word
it most likely stands for (``likely_word``: the most common word one edit away that it could be
a slip for, by a clear margin over the next), unless the model puts that reading far from the
prompt as typed (``RESPELT_MIN_COSINE``: then the "slip" was a word it knows); the candidates
found must still pass the floor, the guards and the verifier against the prompt as typed.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Collection
from functools import lru_cache
from importlib import resources

__all__ = ["FREQUENCY_GAP", "MIN_LENGTH", "RESPELT_MIN_COSINE", "corrections", "likely_word",
           "slip_of", "warm_up", "zipf"]

TABLE = "word_frequencies.txt.gz"
#: shorter words are too often other real words or abbreviations one edit apart
MIN_LENGTH = 4
#: how much rarer (Zipf: log10 of uses per billion words) a slip is than the word it stands for
FREQUENCY_GAP = 1.5
#: the table lists words from this Zipf frequency up (once per ten million words): a word it
#: lacks is taken to be that common, the most it can be
TABLE_FLOOR = 2.0
#: a word this common counts as a word even if no dictionary has it ("spotify", "reddit",
#: "lyft"): it is never a slip
COMMON = 3.0
#: a prompt's reading without its slips is searched with only if the model puts it at least
#: this near the prompt as typed. A slip is noise the model reads past (one word mistyped in a
#: dev question: median cosine 0.90, 0.50 at the 3rd percentile), while a word it knows moves
#: it far ("what is cuda" / "what is cuba" 0.11, "is canva free" / "is canvas free" 0.33):
#: ``slip_of`` already tells those names from slips; this is the second line for a name it
#: would take for one
RESPELT_MIN_COSINE = 0.5
#: with no other prompt to go by, a slip stands for its most common neighbour only if that is
#: more than this much (Zipf) more common than the next ("wich": "which" 6.3 or "with" 6.8?)
AMBIGUOUS = 0.5


#: the keys next to each letter on a QWERTY keyboard
_NEIGHBOURS = {k: frozenset(v) for k, v in zip("qwertyuiopasdfghjklzxcvbnm", [
    "wa", "qesa", "wrds", "etfd", "rygf", "tuhg", "yijh", "uokj", "iplk", "ol", "qwsz",
    "awedxz", "serfcx", "drtgvc", "ftyhbv", "gyujnb", "huikmn", "jiolm", "kop", "asx", "zsdc",
    "xdfv", "cfgb", "vghn", "bhjm", "njk"], strict=True)}


def slip_of(typed: str, meant: str) -> bool:
    """``typed`` is ``meant`` with one slip of the fingers: two neighbouring letters swapped,
    a letter replaced by a key next to it, a letter doubled, or a letter left out (not the
    last). Names made from words change them otherwise: another vowel ("nuxt" / "next"), a
    far key ("cuda" / "cuba", "figma" / "sigma", "lyft" / "lift"), a letter added ("flink" /
    "link", "redis" / "reds"), the last one dropped ("canva" / "canvas")."""
    n = len(meant)
    if len(typed) == n:
        diff = [i for i in range(n) if typed[i] != meant[i]]
        if len(diff) == 1:
            i = diff[0]
            return typed[i] in _NEIGHBOURS.get(meant[i], frozenset())
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and typed[diff[0]] == meant[diff[1]] and typed[diff[1]] == meant[diff[0]])
    if len(typed) == n + 1:  # a letter doubled
        i = next((k for k in range(n) if typed[k] != meant[k]), n)
        return typed[i + 1:] == meant[i:] and i > 0 and typed[i] == typed[i - 1]
    if len(typed) == n - 1:  # a letter left out, not the last
        i = next((k for k in range(n - 1) if typed[k] != meant[k]), n - 1)
        return i < n - 1 and typed[i:] == meant[i + 1:]
    return False


def corrections(
    words_a: Collection[str], words_b: Collection[str], names: Collection[str],
    dictionary: Callable[[str], bool],
) -> dict[str, str]:
    """Misspelt words of ``words_a`` mapped to the word of ``words_b`` they stand for.

    ``words_*`` are lower-cased tokens; ``names`` are the tokens of either side read as names
    (never corrected, never a correction); ``dictionary`` says whether a word is in one.
    """
    only_a = {w for w in words_a if w not in words_b and _plain(w) and w not in names}
    if not only_a:
        return {}
    only_b = [w for w in words_b if w not in words_a and _plain(w) and w not in names]
    found: dict[str, str] = {}
    for wrong in only_a:
        near = {right for right in only_b if slip_of(wrong, right)}
        if len(near) == 1:
            right = near.pop()
            if _slip_for(wrong, right, dictionary):
                found[wrong] = right
    return found


def likely_word(wrong: str, dictionary: Callable[[str], bool]) -> str | None:
    """The word a slip most likely stands for, with no other prompt to go by: of the words one
    edit from ``wrong`` that it could be a slip for (``corrections``' rules), the most common,
    if no other is as common; None for a word, a name or a slip of nothing known."""
    if not _plain(wrong) or dictionary(wrong):
        return None
    table = _frequencies()
    near = [w for w in _one_edit_words(wrong)
            if w in table and slip_of(wrong, w) and _slip_for(wrong, w, dictionary)]
    if not near:
        return None
    near.sort(key=lambda w: -table[w])
    if len(near) > 1 and table[near[0]] - table[near[1]] <= AMBIGUOUS * 10:
        return None  # "wich": "which" or "with"
    return near[0]


def _slip_for(wrong: str, right: str, dictionary: Callable[[str], bool]) -> bool:
    return (zipf(right) - zipf(wrong) >= FREQUENCY_GAP and zipf(wrong) < COMMON
            and not dictionary(wrong) and (dictionary(right) or zipf(right) >= COMMON))


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _one_edit_words(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
            | {a + c + b for a, b in splits for c in _LETTERS}) - {word}


def zipf(word: str) -> float:
    """How common ``word`` is in English text, on the Zipf scale (log10 of uses per billion
    words), rounded to a tenth; ``TABLE_FLOOR`` for a word the table lacks."""
    return _frequencies().get(word, TABLE_FLOOR * 10) / 10


def _plain(word: str) -> bool:
    return len(word) >= MIN_LENGTH and word.isalpha() and word.isascii()


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, int]:
    blob = resources.files("vectorcache.decision").joinpath(TABLE).read_bytes()
    table: dict[str, int] = {}
    for line in gzip.decompress(blob).decode("utf-8").splitlines():
        if line and not line.startswith("#"):
            word, _, tenths = line.partition("\t")
            table[word] = int(tenths)
    return table


def warm_up() -> None:
    _frequencies()
