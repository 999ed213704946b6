"""Personal-data detection and redaction: US SSNs, payment cards, emails and phone numbers.

Tuned for recall: a cache that stores a card number by mistake is worse than one that skips
caching an order number. Every candidate is still checked where a checksum or a numbering rule
exists (Luhn for cards, the SSA's never-issued ranges for SSNs), which keeps the false positives
on look-alikes (order numbers, timestamps, ISBNs, versions, prices) low.

Linear in the input, in small steps (``security/scan.py``): every pattern but the e-mail one
has matches of bounded length and runs window by window; e-mail addresses are read outwards
from each ``@``. A megabyte is screened in well under a second without holding the GIL for
more than a fraction of a millisecond at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vectorcache.security.scan import email_spans, finditer_bounded

__all__ = [
    "POLICIES",
    "Finding",
    "contains_pii",
    "find_pii",
    "luhn_ok",
    "redact",
    "screen",
    "screen_json",
    "ssn_ok",
]

#: project ``pii_policy`` values: answer but neither look up nor store / store a redacted form
POLICIES = ("bypass", "redact")

_SSN = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])")
_SSN_BARE = re.compile(r"(?<![\w-])(\d{3})(\d{2})(\d{4})(?![\w-])")
_SSN_WORDS = re.compile(r"\b(?:ssn|social\s+security|soc\.?\s*sec|tax\s*id|tin)\b", re.IGNORECASE)
_CARD = re.compile(r"(?<![\w.-])[2-6]\d(?:[ -]?\d){11,17}(?![\w-]|\.\d)")
#: no match of the patterns above or below is longer than this (the card's is 36 at most)
_MAX_MATCH = 64
_PHONE_NANP = re.compile(
    r"(?<![\w.+-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-]|\.\d)")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?![\w-]|\.\d)")
_PHONE_TRUNK = re.compile(r"(?<![\w.-])0\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w-]|\.\d)")
_PHONE_BARE = re.compile(r"(?<![\w.-])\d{10,11}(?![\w-]|\.\d)")
_PHONE_WORDS = re.compile(
    r"\b(?:phone|call|tel|telephone|mobile|cell|fax|whatsapp|sms|text\s+me|reach\s+me|"
    r"contact|number)\b", re.IGNORECASE)

_LABELS = {"ssn": "[SSN]", "card": "[CARD]", "email": "[EMAIL]", "phone": "[PHONE]"}


@dataclass(frozen=True)
class Finding:
    kind: str  # "ssn" | "card" | "email" | "phone"
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """Never issued: area 000, 666 or 900-999; group 00; serial 0000."""
    return (area != "000" and area != "666" and not area.startswith("9")
            and group != "00" and serial != "0000")


def nanp_area_ok(digits: str) -> bool:
    """A North American number's area code never starts with 0 or 1 ('SKU 100-200-3000' is no
    phone number); ``digits`` is the number with or without its country code 1."""
    area = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    return len(area) == 10 and area[0] not in "01"


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _near(words: re.Pattern[str], text: str, start: int, end: int, reach: int = 40) -> bool:
    return words.search(text, max(0, start - reach), min(len(text), end + reach)) is not None


def _scan(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    return finditer_bounded(pattern, text, _MAX_MATCH)


def find_pii(text: str) -> list[Finding]:
    """Every personal-data span found in ``text``, in order (spans may overlap)."""
    found = [Finding("email", start, end) for start, end in email_spans(text)]
    for m in _scan(_SSN, text):
        if ssn_ok(m.group(1), m.group(3), m.group(4)):
            found.append(Finding("ssn", m.start(), m.end()))
    for m in _scan(_SSN_BARE, text):
        if ssn_ok(*m.groups()) and _near(_SSN_WORDS, text, m.start(), m.end()):
            found.append(Finding("ssn", m.start(), m.end()))
    for m in _scan(_CARD, text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            found.append(Finding("card", m.start(), m.end()))
    for m in _scan(_PHONE_NANP, text):
        if nanp_area_ok(_digits(m.group())):
            found.append(Finding("phone", m.start(), m.end()))
    for pattern in (_PHONE_INTL, _PHONE_TRUNK):
        for m in _scan(pattern, text):
            if 7 <= len(_digits(m.group())) <= 15:
                found.append(Finding("phone", m.start(), m.end()))
    for m in _scan(_PHONE_BARE, text):
        if _near(_PHONE_WORDS, text, m.start(), m.end()):
            found.append(Finding("phone", m.start(), m.end()))
    found.sort(key=lambda f: (f.start, -f.end))
    return found


def contains_pii(text: str | None) -> bool:
    return bool(text) and bool(find_pii(text or ""))


def redact(text: str) -> str:
    """``text`` with every finding replaced by its label (``[CARD]``, ``[EMAIL]``, ...)."""
    out: list[str] = []
    pos = 0
    for f in find_pii(text):
        if f.start < pos:  # overlaps a span already replaced
            pos = max(pos, f.end)
            continue
        out.append(text[pos:f.start])
        out.append(_LABELS[f.kind])
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def screen(text: str | None, policy: str) -> tuple[str | None, bool]:
    """What may be cached of ``text`` under ``policy``: (text to use, whether caching may go on).

    ``redact`` returns the redacted text; any other policy (``bypass``, the default, or an
    unknown value) stops caching when personal data is found.
    """
    if not text or not find_pii(text):
        return text, True
    if policy == "redact":
        return redact(text), True
    return text, False


def screen_json(value: object, policy: str) -> tuple[object, bool]:
    """``screen`` for a JSON value (entry metadata): every string in it, keys included."""
    ok = True

    def walk(v: object) -> object:
        nonlocal ok
        if isinstance(v, str):
            out, fine = screen(v, policy)
            ok = ok and fine
            return out
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    screened = walk(value)
    return screened, ok
