"""How a prompt is read before the lexical guards and features compare it with another.

Two things the words alone get wrong: courtesy and framing around a request ("Hi, can you tell
me ...? Thanks!") read as extra words, and code or formulas differ in symbols the tokens skip
("\\d+?" / "\\d+"). The embedding model always sees the whole prompt; these only shape what
``analysis.analyse`` reads.
"""

from __future__ import annotations

import re

__all__ = ["AUXILIARIES", "code_chunks", "without_courtesy"]


#: greetings, thanks and the request's framing say nothing about the answer ("Hi, how do I
#: ...?", "... Thanks!", "Please explain ...", "Can you tell me ..."): the lexical features and
#: guards read the request without them (the model still embeds the whole prompt). A greeting
#: needs its punctuation, so "Hello world in C" keeps its "Hello"; thanks need a sentence mark
#: or comma before them; "tell me" / "do you know" go only before a question word.
_ASKING = r"(?=(?:what|who|whom|whose|when|where|why|how|which|if|whether)\b)"
_COURTESY_HEAD = re.compile(
    r"^(?:\s*(?:"
    r"(?:hi|hello|hey|greetings|good (?:morning|afternoon|evening))(?: there)?\s*[,!.:;]+"
    r"|please(?: answer| help)?\s*[,:]|please\b(?=\s+\w)"
    # the request's framing: "Can you tell me ...", "I want to know ...", "Question: ..."
    r"|(?:can|could|would|will) you (?:please )?(?:tell me|let me know)\b"
    r"|(?:please )?tell me\s+" + _ASKING + r"|do you know\s+" + _ASKING +
    r"|i(?:'d| would)? (?:want|like|wish) to know\b|(?:quick )?question\s*:|q\s*:"
    r"))+\s*", re.IGNORECASE)
_COURTESY_TAIL = re.compile(  # after a sentence mark or comma: "How do I say thanks?" stays
    r"(?<=[.?!,])\s*(?:(?:many )?thanks|thank you|thx|cheers|please)(?: (?:so|very) much)?"
    r"(?: in advance)?\s*[.!?]*\s*$", re.IGNORECASE)


def without_courtesy(text: str) -> str:
    """``text`` without a greeting, "please" or framing in front and thanks at the end
    (unless that would leave nothing)."""
    core = _COURTESY_TAIL.sub("", _COURTESY_HEAD.sub("", text, count=1), count=1)
    return core if any(ch.isalnum() for ch in core) else text


#: what makes a chunk of a prompt read as code or a formula: two prompts with the same words may
#: differ only there ("\\d+?" / "\\d+", "5 // 2" / "5 / 2", "arr[1:]" / "arr[:1]"), which the
#: tokens and the embedding barely see. Backticks and "name()" alone do not count: prose about
#: code ("use the `map()` method") is paraphrased freely.
_CODE_SIGN = re.compile(r"[\\^*+|\[\]{}<>=~]|//")  # not "$": "$500" is a number (guarded)
_CHUNK_PUNCTUATION = re.compile(r"^[`'\"(]+|[`'\",;!.:)]+$")
_SPACED_OPERATOR = re.compile(r"\s+([\^$*+|<>=~/-]+)\s+")  # "2 + 2" is "2+2"
#: words a yes/no question opens with (with the question words, what makes a prompt a question)
AUXILIARIES = frozenset(["is", "are", "was", "were", "do", "does", "did", "can", "could",
                         "should", "would", "will", "has", "have", "may", "might", "must",
                         "shall"])


def code_chunks(text: str, question: bool) -> tuple[str, ...]:
    """The chunks of a prompt that read as code, sorted, without the sentence's punctuation
    around them (quotes, backticks, a trailing comma or full stop, a question's final '?'; an
    imperative's stays: "Explain the regex \\d+?")."""
    if not _CODE_SIGN.search(text):
        return ()
    text = _SPACED_OPERATOR.sub(r"\1", text.strip())
    if question:
        text = text.rstrip("?").rstrip()
    chunks = (_CHUNK_PUNCTUATION.sub("", chunk) for chunk in text.split())
    return tuple(sorted(chunk for chunk in chunks if _CODE_SIGN.search(chunk)))
