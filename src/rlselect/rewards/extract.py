"""Finding the final answer in a completion, and the cheap string/number comparisons.

Everything here is plain string work with bounded cost: no sympy, no eval, and no scan longer than
a few thousand characters past any marker, so that a megabyte of hostile text costs milliseconds.
"""

from __future__ import annotations

import re
from fractions import Fraction

# An answer longer than this is not a final answer (the longest MATH500 gold has ~55 chars).
MAX_ANSWER_CHARS = 400
# How far past `\boxed{` the brace matcher looks for the closing brace.
MAX_BOXED_SCAN = 4000
# How many `\boxed` occurrences (from the end) are tried before giving up.
MAX_BOXED_TRIES = 64
# The plain-text fallbacks ('#### x', 'The answer is x') only look at the completion's tail.
TAIL_CHARS = 20_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\b[ \t]*")
_BRACES = re.compile(r"\\.|[{}]", re.S)
_HASH_RE = re.compile(r"####[ \t]*([^\n]*)")
_ANSWER_IS_RE = re.compile(
    r"(?:answer\s+is|answer\s*:)[ \t]*:?[ \t]*([^\n]*)",
    re.I,
)
_SENTENCE_END = re.compile(r"\.(?:\s|$)")


def strip_control(text: str) -> str:
    """Drop NUL and other control characters (tabs and newlines stay)."""
    return _CONTROL.sub("", text)


def _match_braces(text: str, open_pos: int) -> int | None:
    """Index of the brace closing the one at `open_pos`, or None (unbalanced or too far away).

    Escaped braces (`\\{`, `\\}`) are content, not structure.
    """
    depth = 0
    end = min(len(text), open_pos + MAX_BOXED_SCAN)
    for m in _BRACES.finditer(text, open_pos, end):
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return None


def _boxed_at(text: str, pos: int) -> str | None:
    """Content of the `\\boxed`/`\\fbox` starting at `pos`, or None when it is malformed or empty."""
    m = _BOX_RE.match(text, pos)
    if not m:
        return None
    i = m.end()
    if text[i : i + 1] == "{":
        close = _match_braces(text, i)
        if close is None:
            return None
        content = text[i + 1 : close]
    else:  # `\boxed 5`: one bare token
        tok = re.match(r"[-+\w\\][^\s$]*", text[i : i + MAX_ANSWER_CHARS + 1])
        if not tok:
            return None
        content = tok.group()
    content = content.strip()
    return content or None


def last_boxed(text: str) -> str | None:
    """Content of the last well-formed, non-empty `\\boxed{...}` (or `\\fbox{...}`)."""
    end = len(text)
    for _ in range(MAX_BOXED_TRIES):
        pos = max(text.rfind("\\boxed", 0, end), text.rfind("\\fbox", 0, end))
        if pos < 0:
            return None
        content = _boxed_at(text, pos)
        if content is not None:
            return content
        end = pos
    return None


def _clean(ans: str) -> str | None:
    """Trim the decorations around a plain-text answer: $...$, \\(...\\), **bold**, final period."""
    ans = ans.strip()
    for _ in range(3):
        before = ans
        ans = ans.strip().strip("*").strip()
        if ans.endswith("."):
            ans = ans[:-1].rstrip()
        for lo, hi in (("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if ans.startswith(lo) and ans.endswith(hi) and len(ans) >= len(lo) + len(hi):
                ans = ans[len(lo) : len(ans) - len(hi)].strip()
        if ans == before:
            break
    return ans or None


def extract_answer(text: str) -> str | None:
    """The final answer in a model completion, or None when there is none.

    In order: the content of the LAST `\\boxed{...}` / `\\fbox{...}` (balanced braces; escaped
    braces are content); else the text after GSM8K's last `#### `; else what follows the last
    "The answer is" / "answer:" up to the end of that sentence. Control characters are dropped.
    """
    if not isinstance(text, str) or not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None:
        return strip_control(boxed).strip() or None
    tail = text[-TAIL_CHARS:]
    for m in reversed(list(_HASH_RE.finditer(tail))):
        if ans := _clean(strip_control(m.group(1))):
            return ans
    for m in reversed(list(_ANSWER_IS_RE.finditer(tail))):  # up to the end of the sentence
        if ans := _clean(_SENTENCE_END.split(strip_control(m.group(1)), maxsplit=1)[0]):
            return ans
    return None


# ---------------------------------------------------------------------------------------------
# Cheap comparisons (the fast paths in front of math-verify)

_SPACING = re.compile(r"\\[,;:! ]|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\s+")
_DFRAC = re.compile(r"\\[dt]frac(?![a-zA-Z])")


def normalise(ans: str) -> str:
    """Spelling differences that never change the value: spaces, `\\left`/`\\right`, spacing
    commands, `$`, `\\dfrac`/`\\tfrac` -> `\\frac`, a final period."""
    s = _SPACING.sub("", strip_control(ans)).replace("$", "")
    return _DFRAC.sub(r"\\frac", s).rstrip(".")


_INT = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)"
_NUMBER_RE = re.compile(rf"({_INT})(\.\d+)?|([+-]?)\.(\d+)")
_FRAC_RE = re.compile(r"([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}|([+-]?)\\frac(\d)(\d)")
_SLASH_RE = re.compile(r"()([+-]?\d+)/([+-]?\d+)")  # (sign, numerator, denominator) as in _FRAC_RE
_PERCENT = re.compile(r"\\?%\Z")
_MAX_NUMBER_CHARS = 60


def parse_number(s: str) -> tuple[Fraction, bool] | None:
    """(value, is_decimal) for a normalised plain number, else None.

    Accepts integers ("-12", "1,234" with strict thousands groups), decimals ("0.5", ".5"),
    "a/b", `\\frac{a}{b}` and `\\frac12`, with an optional leading `\\$` and trailing `\\%`.
    Anything else (units, symbols) is left to math-verify.
    """
    if not s or len(s) > _MAX_NUMBER_CHARS:
        return None
    # A percent sign is dropped (10\\% == 10, as in math-verify; math-verify 0.9.0 itself fails
    # to parse `\\boxed{10\\%}`, so this must happen here).
    s = _PERCENT.sub("", s.removeprefix("\\$"))
    m = _NUMBER_RE.fullmatch(s)
    if m:
        if m.group(1) is not None:
            whole = m.group(1).replace(",", "")
            frac = m.group(2) or ""
            return Fraction(whole + frac), bool(frac)
        return Fraction(f"{m.group(3)}0.{m.group(4)}"), True
    m = _FRAC_RE.fullmatch(s) or _SLASH_RE.fullmatch(s)
    if m:
        sign, num, den = m.group(1, 2, 3) if m.group(2) else m.group(4, 5, 6)
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
        return (-value if sign == "-" else value), False
    return None


def numbers_equal(a: tuple[Fraction, bool], b: tuple[Fraction, bool], rounding: int = 6) -> bool:
    """Exact equality, or, when either side is a decimal, equality after rounding to `rounding`
    places (math-verify's rule, so that 1/3 == 0.333333 but 1/3 != 0.333)."""
    (x, x_dec), (y, y_dec) = a, b
    if x == y:
        return True
    if x_dec or y_dec:
        return round(x, rounding) == round(y, rounding)
    return False
