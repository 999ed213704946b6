"""Misspellings: is a word on one side the other side's word with one slip of the keyboard?

"What is the captial of France?" asks what "What is the capital of France?" asks, but to the
lexical guards "captial" / "capital" is one content word swapped for another (the veto that stops
"router" / "modem"), and to the verifier's overlap features a word less in common. A word is
read as a misspelling of the other side's word only when all of these hold:

* it is one edit away from that word (a letter dropped, added or replaced, or two neighbours
  swapped: Damerau-Levenshtein distance 1), and from no other word that only the other side has;
* it is not a dictionary word (the embedding model's vocabulary, WordNet), while the other side's
  word is one, or is common: a real word typed for another ("form" for "from", "loose" for
  "lose", "fiend" for "friend") is another question as far as anyone can tell;
* it is rare next to that word: at least ``FREQUENCY_GAP`` (1.5) orders of magnitude rarer in
  running text (``word_frequencies.txt.gz``, from wordfreq). Slips are rare ("recieve" 2.75 on
  the Zipf scale, "receive" 4.85; "captial" 1.61, "capital" 5.01), while names and brands written
  in lower case are common words of their own that dictionaries lack ("lyft" 3.14 / "lift" 4.50,
  "tumblr" 3.74 / "tumbler" 2.85, "grindr" 2.70 / "grinder" 3.32);
* both are plain words of at least ``MIN_LENGTH`` ASCII letters, and neither is read as a name
  (capitalised in mid-sentence, in capitals, or with digits).

The embedding model still sees the misspelling, so the cosine floor still applies. Nothing here
looks at anything but the two prompts and the shipped frequency table.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Collection
from functools import lru_cache
from importlib import resources

__all__ = ["FREQUENCY_GAP", "MIN_LENGTH", "corrections", "one_edit", "warm_up", "zipf"]

TABLE = "word_frequencies.txt.gz"
#: shorter words are too often other real words or abbreviations one edit apart
MIN_LENGTH = 4
#: how much rarer (Zipf: log10 of uses per billion words) a slip is than the word it stands for
FREQUENCY_GAP = 1.5
#: the table lists words from this Zipf frequency up (once per ten million words): a word it
#: lacks is taken to be that common, the most it can be
TABLE_FLOOR = 2.0
#: a word this common counts as a word even if no dictionary has it ("spotify", "reddit")
COMMON = 3.0


def one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by exactly one insertion, deletion, substitution or swap of two
    neighbouring letters."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):  # one letter added in b at i
        return a[i:] == b[i + 1:]
    if a[i + 1:] == b[i + 1:]:  # one letter replaced
        return True
    return a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]  # swapped


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
        near = {right for right in only_b if one_edit(wrong, right)}
        if len(near) != 1:
            continue
        right = near.pop()
        if (zipf(right) - zipf(wrong) >= FREQUENCY_GAP and not dictionary(wrong)
                and (dictionary(right) or zipf(right) >= COMMON)):
            found[wrong] = right
    return found


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
