"""Cheap checks that keep pathological answers away from sympy.

math-verify parses LaTeX with ANTLR (no eval) into sympy, and sympy evaluates integer arithmetic
eagerly: `9^{9^{9}}` or `(10^{10})!` would run for hours inside one C call that no signal can
interrupt. `reject_reason` spots such answers (and a few that are never legitimate final answers,
such as TeX definitions or Python code) in microseconds, so they score 0.0 without being parsed.
The worker process's hard timeout (`rlselect.rewards.verifier`) is the backstop for anything
these rules miss.
"""

from __future__ import annotations

import math
import re
from itertools import accumulate

from rlselect.rewards.extract import MAX_ANSWER_CHARS

MAX_NESTING = 24  # braces / parentheses / brackets
MAX_EXPONENT = 100_000  # largest numeric exponent (2^{100000} has 30k digits: fine)
MAX_POWER_DIGITS = 1_000_000  # largest number of digits of a numeric power such as (2^{10})^{10}
MAX_FACTORIAL = 5_000
MAX_DIGITS = 120  # longest integer literal
MAX_FACTORIAL_LIKE = 100_000  # largest number inside \\binom, \\Gamma, factorial(...)

# TeX primitives that define or read things, and Python that could mean an injection attempt.
# None of them can appear in a real final answer.
_FORBIDDEN = re.compile(
    r"\\(?:def|edef|gdef|xdef|let|newcommand|renewcommand|providecommand|DeclareMathOperator|"
    r"input|include|includeonly|usepackage|documentclass|csname|endcsname|catcode|write|"
    r"immediate|openout|openin|read|expandafter|special|directlua|loop|repeat)(?![a-zA-Z])"
    r"|__|\blambda\b|\bimport\b|\beval\s*\(|\bexec\s*\(|\bcompile\s*\(|\bgetattr\s*\(|"
    r"\bopen\s*\(|\bsystem\s*\(|\bglobals\s*\(|\bsubprocess\b|\bSymbol\s*\(|\bsympify\b",
)
_NUMERIC_ONLY = re.compile(r"[\d\s{}()\[\]^*+\-.,]+")
_DIGITS = re.compile(r"\d+")
_HUGE_ARGUMENT = re.compile(r"\\binom|\\choose|\\[dt]binom|\\Gamma|\\operatorname|factorial|gamma|binomial")
_PARTNER = {"{": "}", "(": ")", "}": "{", ")": "("}


def _depths(s: str) -> list[int]:
    """Bracket depth after each character of s (a stray closer does not go below 0)."""
    return list(accumulate(s, _depth_step, initial=0))[1:]


def _depth_step(depth: int, ch: str) -> int:
    if ch in "{([":
        return depth + 1
    if ch in "})]":
        return max(0, depth - 1)
    return depth


def _run_end(s: str, i: int, test=str.isdigit) -> int:
    """End (exclusive) of the run of characters passing `test` (digits by default) that starts at s[i]."""
    while i < len(s) and test(s[i]):
        i += 1
    return i


def _trailing_digits(s: str) -> str:
    """The run of digits that ends s."""
    return s[len(s) - _run_end(s[::-1], 0) :]


def _partner(s: str, i: int) -> int | None:
    """Index of the bracket that closes (or, for a closer, opens) the `{`/`(` group at s[i], or None."""
    depth, step = 0, 1 if s[i] in "{(" else -1
    for j in range(i, len(s) if step > 0 else -1, step):
        if s[j] == s[i]:
            depth += 1
        elif s[j] == _PARTNER[s[i]]:
            depth -= 1
            if depth == 0:
                return j
    return None


def _group_end(s: str, i: int) -> int:
    """End (exclusive) of the operand starting at s[i]: a {...} / (...) group, a number, or a token."""
    i = len(s) - len(s[i:].lstrip(" "))
    if i >= len(s):
        return len(s)
    if s[i] in "{(":
        close = _partner(s, i)
        return len(s) if close is None else close + 1
    if s[i].isdigit():
        return _run_end(s, i)
    if s[i] == "\\":  # a command name, or `\` and one character
        return max(_run_end(s, i + 1, str.isalpha), i + 2)
    return i + 1


def _literal_log10(digits: str) -> float:
    """log10 of an integer literal (its length when too long to convert)."""
    if len(digits) > 300:
        return float(len(digits))
    value = int(digits)
    return math.log10(value) if value > 1 else 0.0


def _log10_estimate(expr: str, depth: int = 0) -> float:
    """Rough upper estimate of log10 of a purely numeric expression made of numbers, powers,
    + - * and brackets; inf when it is astronomically large."""
    if depth > 12:
        return math.inf
    s = expr.replace("**", "^").strip()
    while s and s[0] in "{(" and _group_end(s, 0) == len(s):
        s = s[1:-1].strip()
    if not s:
        return 0.0
    pos = next((i for i, (ch, d) in enumerate(zip(s, _depths(s))) if ch == "^" and d == 0), -1)  # top-level `^`
    if pos < 0:
        if "^" not in s:
            return max((_literal_log10(d) for d in _DIGITS.findall(s)[:200]), default=0.0)
        # powers inside brackets: the largest of the groups (and loose literals)
        best, i = 0.0, 0
        while i < len(s):
            if s[i] in "{(":
                end = _group_end(s, i)
                best = max(best, _log10_estimate(s[i:end], depth + 1))
            else:
                end = _run_end(s, i)
                if end > i:
                    best = max(best, _literal_log10(s[i:end]))
            i = max(end, i + 1)
        return best
    base_log = _log10_estimate(s[:pos], depth + 1)
    exp_end = _group_end(s, pos + 1)
    exp_log = _log10_estimate(s[pos + 1 : exp_end], depth + 1)
    value = math.inf if exp_log > 300 else (10.0**exp_log) * max(base_log, 0.0)
    rest = s[exp_end:]
    if rest.strip():
        value = max(value, _log10_estimate(rest, depth + 1))
    return value


def _operand_before(s: str) -> str:
    """The operand that ends s: a trailing number or a (...) / {...} group (with its base, if a power)."""
    s = s.rstrip(" ")
    if not s:
        return ""
    if s[-1].isdigit():
        return _trailing_digits(s)
    if s[-1] in ")}" and (k := _partner(s, len(s) - 1)) is not None:
        if k > 0 and s[k - 1] == "^":  # `10^{10}!`: the whole power
            return _operand_before(s[: k - 1]) + s[k - 1 :]
        return s[k:]
    return ""


def _powers(s: str) -> list[tuple[str, str, str]]:
    """(text before, exponent, text after) for every `^` / `**` in s."""
    t = s.replace("**", "^")
    ends = {i: _group_end(t, i + 1) for i, ch in enumerate(t) if ch == "^"}
    return [(t[:i], t[i + 1 : end], t[end:]) for i, end in ends.items()]


def _numeric_log10(expr: str) -> float:
    """`_log10_estimate` of a purely numeric expression (an empty one counts as 0); 0.0 for anything else."""
    return _log10_estimate(expr) if _NUMERIC_ONLY.fullmatch(expr or " ") else 0.0


def reject_reason(ans: str) -> str | None:
    """Why this answer must not reach sympy, or None when it may."""
    if len(ans) > MAX_ANSWER_CHARS:
        return f"answer longer than {MAX_ANSWER_CHARS} characters"
    if _FORBIDDEN.search(ans):
        return "code or TeX definitions in the answer"
    if max(_depths(ans), default=0) > MAX_NESTING:
        return f"nesting deeper than {MAX_NESTING}"
    if any(len(digits) > MAX_DIGITS for digits in _DIGITS.findall(ans)):
        return f"integer literal longer than {MAX_DIGITS} digits"
    powers = _powers(ans)
    for _, exponent, after in powers:
        # chained: another power follows directly (`2**2**2` is a tower even without braces)
        if after.lstrip().startswith("^") or exponent.count("^") >= 2:
            return "power tower"
        if "!" in exponent or "\\binom" in exponent or "\\Gamma" in exponent:
            return "factorial in an exponent"
        if _numeric_log10(exponent) > math.log10(MAX_EXPONENT):
            return f"numeric exponent above {MAX_EXPONENT}"
    for before, exponent, _ in powers:
        if (base := _operand_before(before)) and _numeric_log10(f"{base}^{exponent}") > MAX_POWER_DIGITS:
            return f"a power with more than {MAX_POWER_DIGITS} digits"
    for m in re.finditer(r"(?<!\\)!", ans):
        if (operand := _operand_before(ans[: m.start()])) and _numeric_log10(operand) > math.log10(MAX_FACTORIAL):
            return f"factorial of a number above {MAX_FACTORIAL}"
    if _HUGE_ARGUMENT.search(ans):
        # log10 of the largest number written: integer literals and numeric powers
        best = max((_literal_log10(d) for d in _DIGITS.findall(ans)), default=0.0)
        for before, exponent, _ in powers:
            if (base := _trailing_digits(before)) and _NUMERIC_ONLY.fullmatch(exponent or " "):
                best = max(best, _log10_estimate(f"{base}^{exponent}"))
        if best > math.log10(MAX_FACTORIAL_LIKE):
            return f"binomial, Gamma or factorial of a number above {MAX_FACTORIAL_LIKE}"
    return None
