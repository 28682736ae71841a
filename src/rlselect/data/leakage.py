"""No validation or test item in a training pool: removal by problem content, not by id.

The same problem often sits in several datasets under different ids and with cosmetic differences
(DAPO-Math-17K and WebInstruct both hold competition problems; GSM8K train has near-copies of test
problems). `content_key` reduces a problem text to a key that ignores such differences, and
`remove_overlap` drops the items of a pool whose key is a held-out item's key:

    held_out, unloaded = eval_test_items(cfg.eval)     # the evaluated benchmarks' problems (local only)
    val = remove_overlap(val, held_out, what="validation")
    pool = remove_overlap(pool, held_out, val, what="pool")

What `content_key` normalises (and nothing else; the key is compared for equality):

1. Unicode NFKC (full-width forms, non-breaking and other odd spaces, ligatures), then casefold.
2. TeX spacing commands become a space: ``\\,`` ``\\:`` ``\\;`` ``\\>`` ``\\ `` (control space),
   ``\\quad``, ``\\qquad`` and ``~``; the negative space ``\\!`` is removed. A backslash that is
   itself escaped (``\\\\,``: a line break, then a comma) is left alone.
3. Math delimiters are removed: every ``$`` (``$...$``, ``$$...$$``, an escaped ``\\$`` and a
   currency sign alike: two texts that differ only in dollar signs are the same problem),
   ``\\(`` ``\\)`` ``\\[`` ``\\]``.
4. Spelling variants with one rendering: ``\\dfrac`` / ``\\tfrac`` -> ``\\frac``; the sizing
   prefixes ``\\left`` / ``\\right`` before a delimiter are removed (``\\leftarrow`` stays).
5. Whitespace: runs collapse to one space, the ends are stripped, and a space next to a character
   that is neither a letter/digit/underscore nor a space (operators, punctuation, braces) is
   removed, so ``x + y`` = ``x+y``; a space between two words stays (``a b`` != ``ab``).

Not normalised, on purpose: wording, punctuation itself (``...?`` vs ``...``), number formats
(``1,000`` vs ``1000``), instructions appended to a problem, and answer text (two items with the
same problem and different gold answers are the same problem). A text whose key is empty never
matches.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_NOT_ESCAPED = r"(?<!\\)"  # a backslash that does not itself follow a backslash
_SPACING = re.compile(_NOT_ESCAPED + r"(?:\\[,:;> ]|\\q?quad(?![a-z])|~)")
_NEG_SPACE = re.compile(_NOT_ESCAPED + r"\\!")
_DELIMITERS = re.compile(_NOT_ESCAPED + r"(?:\\[()\[\]])")
_FRAC = re.compile(_NOT_ESCAPED + r"\\[dt]frac(?![a-z])")
_SIZING = re.compile(_NOT_ESCAPED + r"\\(?:left|right)(?![a-z])")
_SPACE_AT_SYMBOL = re.compile(r" (?=[^\w ])|(?<=[^\w ]) ")


def _text(item: Any) -> str:
    """A record's problem (its `question`), or the item itself when it is a string."""
    if isinstance(item, str):
        return item
    return str(item.get("question") or "")


def content_key(item: Any) -> str:
    """The normalised problem text of a record (or of a string): see the module docstring."""
    text = unicodedata.normalize("NFKC", _text(item)).casefold()
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
        log.info(
            "%s: removed %d of %d items that are validation or test problems (same content, any id): "
            "from %s; matching %s",
            what,
            len(pool) - len(kept),
            len(pool),
            _counts(dropped),
            _counts(matched),
        )
    else:
        log.debug("%s: none of %d items is one of %d validation or test problems", what, len(pool), len(held))
    return kept


def _counts(counter: Counter) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counter.items()))


def eval_test_items(eval_cfg: Any) -> tuple[list[dict], list[str]]:
    """(records, unloaded): the problems of every benchmark an eval config evaluates on, read only
    where they are available without the network, and a line per benchmark that could not be read.

    eval_cfg: a conf/eval group (dict or OmegaConf node): `runs` name the benchmarks; `split`,
    `data_dir` and `arith_seed` (shared, or a run's own) say where their problems come from, as in
    `rlselect.eval.run_config`. `arith` is generated in code; every other benchmark is read from
    <data_dir>/<benchmark>/<split>.jsonl|.json|.parquet, never from the dataset hub (with
    data_dir null, or without that file, it is listed in `unloaded`). The whole split is returned,
    whatever `limit` or `family` restrict an evaluation to: a partial evaluation's benchmark is
    still the whole split.
    """
    from omegaconf import OmegaConf

    from rlselect.data.registry import load_records
    from rlselect.eval.benchmarks import BENCHMARKS, GENERATED

    cfg = OmegaConf.to_container(eval_cfg, resolve=True) if OmegaConf.is_config(eval_cfg) else dict(eval_cfg or {})
    records: list[dict] = []
    unloaded: list[str] = []
    seen: set[tuple] = set()
    for run in cfg.get("runs") or []:
        settings = {**cfg, **dict(run)}
        split, data_dir = str(settings.get("split") or "test"), settings.get("data_dir")
        names = run.get("benchmarks") or []
        for name in names.split(",") if isinstance(names, str) else names:
            name = str(name).strip()
            where = (name, split, int(settings.get("arith_seed") or 0) if name in GENERATED else str(data_dir))
            if not name or where in seen:
                continue
            seen.add(where)
            if name not in BENCHMARKS:
                unloaded.append(f"{name}: unknown benchmark")
                continue
            try:
                if name in GENERATED:
                    records += load_records(name, split, seed=where[2])
                    continue
                if not data_dir:
                    unloaded.append(f"{name}:{split}: eval.data_dir is null (the dataset hub is not queried)")
                    continue
                folder = Path(str(data_dir)).expanduser() / name
                if not folder.is_dir():
                    unloaded.append(f"{name}:{split}: no folder {folder}")
                    continue
                records += load_records(name, split, path=folder)
            except (ValueError, OSError) as exc:  # DataError is a ValueError
                unloaded.append(f"{name}:{split}: {exc}")
    return records, unloaded
