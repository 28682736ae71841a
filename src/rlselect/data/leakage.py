"""No validation or test item in a training pool: removal by problem content, not by id.

The same problem often sits in several datasets under different ids and with cosmetic differences
(DAPO-Math-17K and WebInstruct both hold competition problems; GSM8K train has near-copies of test
problems). `content_key` reduces a problem text to a key that ignores such differences, and
`remove_overlap` drops the items of a pool whose key is a held-out item's key:

    held_out, unloaded = eval_test_items(cfg.eval)     # rlselect.eval.benchmarks: the tested problems
    val = remove_overlap(val, held_out, what="validation")
    pool = remove_overlap(pool, held_out, val, what="pool")

What `content_key` normalises (and nothing else; keys are compared for equality):

1. Unicode NFKC (full-width forms, odd spaces, ligatures), then casefold.
2. TeX spacing ``\\,`` ``\\:`` ``\\;`` ``\\>`` ``\\ `` ``\\quad`` ``\\qquad`` ``~`` becomes a space; ``\\!`` is
   removed. An escaped backslash (``\\\\,``: a line break, then a comma) is left alone.
3. Math delimiters are removed: every ``$`` (``$...$``, ``$$``, ``\\$`` and a currency sign alike),
   ``\\(`` ``\\)`` ``\\[`` ``\\]``.
4. ``\\dfrac`` / ``\\tfrac`` -> ``\\frac``; ``\\left`` / ``\\right`` are removed (``\\leftarrow`` stays).
5. Whitespace runs collapse to one space, the ends are stripped, and a space next to a character that
   is neither a word character nor a space is removed (``x + y`` = ``x+y``; ``a b`` != ``ab``).

Not normalised, on purpose: wording, punctuation, number formats (``1,000``), appended instructions,
answers (same problem, different gold answers: the same problem). An empty key never matches.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_NOT_ESCAPED = r"(?<!\\)"  # a backslash that does not itself follow a backslash
_SPACING = re.compile(_NOT_ESCAPED + r"(?:\\[,:;> ]|\\q?quad(?![a-z])|~)")
_NEG_SPACE = re.compile(_NOT_ESCAPED + r"\\!")
_DELIMITERS = re.compile(_NOT_ESCAPED + r"(?:\\[()\[\]])")
_FRAC = re.compile(_NOT_ESCAPED + r"\\[dt]frac(?![a-z])")
_SIZING = re.compile(_NOT_ESCAPED + r"\\(?:left|right)(?![a-z])")
_SPACE_AT_SYMBOL = re.compile(r" (?=[^\w ])|(?<=[^\w ]) ")


def content_key(item: Any) -> str:
    """The normalised problem text of a record (its `question`) or of a string: see the module docstring."""
    text = item if isinstance(item, str) else str(item.get("question") or "")
    text = unicodedata.normalize("NFKC", text).casefold()
    if "\\" in text or "~" in text:  # TeX (most GSM8K-style problems have none: skip the scans)
        text = _NEG_SPACE.sub("", _SPACING.sub(" ", text))  # before `$` goes: `\$` must not become `\`
        text = text.replace("\\$", "$").replace("$", "")
        text = _SIZING.sub("", _FRAC.sub(r"\\frac", _DELIMITERS.sub(" ", text)))
    text = " ".join(text.replace("$", "").split())
    return _SPACE_AT_SYMBOL.sub("", text)


def content_keys(items: Iterable[Any]) -> set[str]:
    """The non-empty content keys of `items` (records or strings)."""
    return {k for k in map(content_key, items) if k}


def _label(item: Any) -> str:
    return "text" if isinstance(item, str) else str(item.get("source") or "?")


def remove_overlap(pool: Iterable[dict], *held_out_sets: Iterable[Any], what: str = "pool") -> list[dict]:
    """The items of `pool` whose content key is no held-out item's key, in their order.

    held_out_sets: validation and/or test items (records or problem texts). What was dropped is
    logged per source of the dropped items and per source of the held-out items they matched;
    `what` names the pool in that line ("pool", "validation").
    """
    pool = list(pool)
    held: dict[str, str] = {}  # key -> source of the first held-out item with that key
    for items in held_out_sets:
        for item in items or ():
            if key := content_key(item):
                held.setdefault(key, _label(item))
    if not held:
        return pool
    kept, dropped, matched = [], Counter(), Counter()
    for rec in pool:
        if (key := content_key(rec)) and key in held:
            dropped[_label(rec)] += 1
            matched[held[key]] += 1
        else:
            kept.append(rec)
    if dropped:
        counts = [", ".join(f"{name} {n}" for name, n in sorted(c.items())) for c in (dropped, matched)]
        msg = "%s: removed %d of %d items that are validation or test problems (same content, any id): from %s; matching %s"
        log.info(msg, what, len(pool) - len(kept), len(pool), *counts)
    else:
        log.debug("%s: none of %d items is one of %d validation or test problems", what, len(pool), len(held))
    return kept
