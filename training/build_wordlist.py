"""Build ``src/vectorcache/decision/word_frequencies.txt.gz``: how common English words are.

    pip install wordfreq==3.1.1     # word frequencies from web, subtitle, news and book text
    python -m training.build_wordlist

The misspelling reading (``decision/spelling.py``) reads a word as a slip of the keyboard for the
other prompt's word only if it is much rarer than that word ("recieve" / "receive"), which tells
slips from names and brands written in lower case ("lyft" / "lift", "tumblr" / "tumbler"). This
writes each English word of wordfreq's large list with at least ``spelling.MIN_LENGTH`` ASCII
letters and a Zipf frequency of at least ``spelling.TABLE_FLOOR``, with that frequency in tenths
(``capital\\t50``): about 88,000 words, 340 kB. A rebuild is byte-identical.

The table is data derived from wordfreq's lists, under CC BY-SA 4.0: ``WORDFREQ_LICENSE`` next
to it says where it comes from.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
from pathlib import Path

from vectorcache.decision import spelling

ROOT = Path(__file__).resolve().parents[1]

OUT = ROOT / "src" / "vectorcache" / "decision" / spelling.TABLE


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    try:
        import wordfreq
    except ImportError:
        raise SystemExit("needs `pip install wordfreq==3.1.1`") from None
    rows = []
    for word in sorted(wordfreq.get_frequency_dict("en", "large")):
        if len(word) >= spelling.MIN_LENGTH and word.isascii() and word.isalpha():
            tenths = round(wordfreq.zipf_frequency(word, "en", "large") * 10)
            if tenths >= spelling.TABLE_FLOOR * 10:
                rows.append(f"{word}\t{tenths}")
    version = importlib.metadata.version("wordfreq")
    header = (f"# Zipf frequency x 10 of English words, from wordfreq {version}'s large list "
              f"(CC BY-SA 4.0, see WORDFREQ_LICENSE). Built by training/build_wordlist.py.")
    text = "\n".join([header, *rows]) + "\n"
    OUT.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(rows)} words")


if __name__ == "__main__":
    main()
