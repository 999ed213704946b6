"""Text scanning that stays linear in its input, in small steps.

Two hazards of running regular expressions over user text: a pattern whose match can start
at every position of a long run and run to its end (``[a-z]+@`` over a million letters) is
quadratic, and one C call over a megabyte holds the GIL for tens of milliseconds, so even a
linear scan stalls the event loop. ``finditer_bounded`` runs a pattern whose matches have a
known maximum length over windows of ``CHUNK`` characters, with exactly the matches a single
``finditer`` would give, handing the GIL on between windows; ``email_spans`` finds e-mail
addresses from each ``@`` outwards, each character read a bounded number of times.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

__all__ = ["CHUNK", "DOMAIN_MAX", "LOOKAROUND", "email_spans", "finditer_bounded"]

#: characters per C call: ~0.1-0.5 ms of regex time, so other threads get the GIL between
CHUNK = 16_384
#: how far any screening pattern's lookahead reads past its match (``(?![\w-]|\.\d)``: 2)
LOOKAROUND = 8
#: an e-mail domain is at most 255 characters (RFC 5321); longer runs are cut there
DOMAIN_MAX = 255

_LOCAL_CHARS = re.compile(r"[A-Za-z0-9._%+-]*")  # matched on the reversed text
_DOMAIN_RUN = re.compile(rf"[A-Za-z0-9.-]{{1,{DOMAIN_MAX}}}")


def finditer_bounded(pattern: re.Pattern[str], text: str, max_len: int) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, window by window, for a pattern none of whose matches is
    longer than ``max_len`` characters nor looks more than ``LOOKAROUND`` past its end (a
    lookbehind sees the text before a window: ``pos`` does not hide it)."""
    reach = max_len + LOOKAROUND
    pos, size = 0, len(text)
    while pos < size:
        stop = min(size, pos + CHUNK)
        for m in pattern.finditer(text, pos, min(size, stop + reach)):
            if m.start() >= stop:
                break
            yield m
            pos = max(pos, m.end() if m.end() > m.start() else m.end() + 1)
        pos = max(pos, stop)
        if pos < size:
            time.sleep(0)  # hand the GIL to a waiting thread now, not after its 5 ms switch


def _domain_end(domain: str) -> int | None:
    """Where ``[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}`` matching at the start of
    ``domain`` (a run of ``[A-Za-z0-9.-]``) ends, greedily, or None: after the last label
    (not the first) of the chain of non-empty labels that opens with two letters, at the end
    of its letters."""
    labels = domain.split(".")
    if not labels[0]:
        return None
    end: int | None = None
    offset = len(labels[0]) + 1
    for label in labels[1:]:
        if not label:
            break
        letters = 0
        while letters < len(label) and label[letters].isascii() and label[letters].isalpha():
            letters += 1
        if letters >= 2:
            end = offset + letters
        offset += len(label) + 1
    return end


def email_spans(text: str) -> Iterator[tuple[int, int]]:
    """The spans ``[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}`` finds,
    without trying every start: each ``@`` reads the local part back (on the reversed text, up
    to the previous match) and at most ``DOMAIN_MAX`` characters forward."""
    at = text.find("@")
    if at < 0:
        return
    reversed_text = text[::-1]
    size, last_end = len(text), 0
    while at >= 0:
        found = None
        domain = _DOMAIN_RUN.match(text, at + 1) if at > last_end else None
        end = _domain_end(domain.group()) if domain is not None else None
        if end is not None:
            local = _LOCAL_CHARS.match(reversed_text, size - at, size - last_end)
            if local is not None and local.end() > local.start():
                found = (at - (local.end() - local.start()), at + 1 + end)
        if found is not None:
            yield found
            last_end = found[1]
            at = text.find("@", last_end)
        else:
            at = text.find("@", at + 1)
