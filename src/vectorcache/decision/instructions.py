"""Instructions on the answer's form, read from a prompt's phrasing, not from the bare word.

A question about English or e-mail is not an instruction to answer in English or as an e-mail,
but a prompt that asks for "one sentence", "a poem", "JSON", "a formal tone", "for beginners"
or "in French" wants another answer than the same prompt without (or with another). Each
instruction found is a label, "kind:word" ("length:sentence", "lang:french").
"""

from __future__ import annotations

__all__ = ["read_instructions"]

_LANGUAGES = frozenset([
    "english", "french", "spanish", "german", "italian", "portuguese", "chinese", "japanese",
    "korean", "russian", "arabic", "hindi", "dutch", "python", "javascript", "java",
    "typescript", "rust", "golang", "ruby", "php", "sql", "bash", "powershell", "kotlin",
])
_FORMATS = frozenset([
    "json", "yaml", "csv", "xml", "markdown", "html", "table", "list", "bullet", "bullets",
    "poem", "haiku", "limerick", "song", "essay", "tweet", "email", "letter", "outline",
    "diagram", "story", "code", "pseudocode", "summary", "paragraph", "paragraphs",
])
_LENGTHS = frozenset(["sentence", "sentences", "paragraph", "paragraphs", "word", "words",
                      "line", "lines", "points", "bullets"])
_BRIEF = frozenset(["briefly", "concisely", "succinctly", "tldr", "eli5", "brief", "concise"])
_STYLE_ADVERBS = {"formally": "formal", "informally": "informal", "casually": "casual",
                  "politely": "polite", "professionally": "professional",
                  "humorously": "humorous", "sarcastically": "sarcastic"}
_STYLES = frozenset(["formal", "informal", "casual", "funny", "humorous", "sarcastic",
                     "professional", "polite", "friendly", "academic", "simple", "technical"])
_STYLE_NOUNS = frozenset(["tone", "style", "way", "manner", "language", "voice", "terms"])
_AUDIENCES = frozenset(["beginner", "beginners", "kid", "kids", "child", "children", "expert",
                        "experts", "dummies", "novice", "novices", "layman", "laymen"])
_KIDS = frozenset(["five", "5", "kid", "kids", "child", "children"])  # "like I'm five"


def read_instructions(tokens: list[str]) -> frozenset[str]:
    """The instructions on the answer's form in a prompt (see ``_LANGUAGES`` and co.)."""
    found: set[str] = set()
    translate = bool({"translate", "translation", "convert", "rewrite"} & set(tokens))
    for i, tok in enumerate(tokens):
        before = tokens[max(0, i - 4):i]
        prev = before[-1] if before else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in _LANGUAGES and (prev in ("in", "into") or (translate and prev == "to")
                                  or after in ("example", "examples", "snippet", "script")):
            found.add(f"lang:{tok}")
        if tok in _FORMATS and (prev in ("as", "in") or before[-2:] in (
                ["as", "a"], ["as", "an"], ["in", "a"], ["in", "an"])):
            found.add(f"format:{tok.rstrip('s')}")
        if tok in _LENGTHS and "in" in before and prev not in ("the", "this", "that", "my"):
            found.add("length:" + ("sentence" if tok.startswith("line") else tok.rstrip("s")))
        if tok in _BRIEF or (tok in ("detail", "depth") and prev == "in"):
            found.add("length:brief" if tok in _BRIEF else "length:detailed")
        if tok == "step" and tokens[i + 1:i + 3] == ["by", "step"]:
            found.add("format:steps")
        if tok in _STYLE_ADVERBS or (tok in _STYLES and (after in _STYLE_NOUNS
                                                         or after in _FORMATS)):
            found.add(f"style:{_STYLE_ADVERBS.get(tok, tok)}")
        if (tok in _AUDIENCES and "for" in before[-2:]) or (tok in ("five", "5")
                                                            and "like" in before):
            found.add("audience:" + ("kid" if tok in _KIDS else tok.rstrip("s")))
    return frozenset(found)
