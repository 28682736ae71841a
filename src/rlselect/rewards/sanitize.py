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


def _nesting_too_deep(s: str) -> bool:
    depth = 0
    for ch in s:
        if ch in "{([":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif ch in "})]":
            depth = max(0, depth - 1)
    return False


def _group_end(s: str, i: int) -> int:
    """End (exclusive) of the operand starting at s[i]: a {...} / (...) group, a number, or a token."""
    n = len(s)
    while i < n and s[i] == " ":
        i += 1
    if i >= n:
        return n
    if s[i] in "{(":
        opener = s[i]
        closer = "}" if opener == "{" else ")"
        depth = 0
        for j in range(i, n):
            if s[j] == opener:
                depth += 1
            elif s[j] == closer:
                depth -= 1
                if depth == 0:
                    return j + 1
        return n
    if s[i].isdigit():
        j = i
        while j < n and s[j].isdigit():
            j += 1
        return j
    if s[i] == "\\":
        j = i + 1
        while j < n and s[j].isalpha():
            j += 1
        return max(j, i + 2)
    return i + 1


def _literal_log10(digits: str) -> float:
    """log10 of an integer literal (its length when too long to convert)."""
    if len(digits) > 300:
        return float(len(digits))
    value = int(digits)
    return math.log10(value) if value > 1 else 0.0


def _top_level_caret(s: str) -> int:
    """Index of the first `^` outside any bracket group, or -1."""
    depth = 0
    for i, ch in enumerate(s):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth = max(0, depth - 1)
        elif ch == "^" and depth == 0:
            return i
    return -1


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
    pos = _top_level_caret(s)
    if pos < 0:
        if "^" not in s:
            return max((_literal_log10(d) for d in _DIGITS.findall(s)[:200]), default=0.0)
        # powers inside brackets: the largest of the groups (and loose literals)
        best = 0.0
        i = 0
        while i < len(s):
            if s[i] in "{(":
                end = _group_end(s, i)
                best = max(best, _log10_estimate(s[i:end], depth + 1))
                i = max(end, i + 1)
            else:
                j = i
                while j < len(s) and s[j].isdigit():
                    j += 1
                if j > i:
                    best = max(best, _literal_log10(s[i:j]))
                i = max(j, i + 1)
        return best
    base_log = _log10_estimate(s[:pos], depth + 1)
    exp_end = _group_end(s, pos + 1)
    exp_log = _log10_estimate(s[pos + 1 : exp_end], depth + 1)
    value = math.inf if exp_log > 300 else (10.0**exp_log) * max(base_log, 0.0)
    rest = s[exp_end:]
    if rest.strip():
        value = max(value, _log10_estimate(rest, depth + 1))
    return value


def _operand_before(s: str, i: int) -> str:
    """The operand that ends just before s[i]: a trailing number or a (...) / {...} group."""
    j = i
    while j > 0 and s[j - 1] == " ":
        j -= 1
    if j == 0:
        return ""
    if s[j - 1].isdigit():
        k = j
        while k > 0 and s[k - 1].isdigit():
            k -= 1
        return s[k:j]
    if s[j - 1] in ")}":
        closer = s[j - 1]
        opener = "(" if closer == ")" else "{"
        depth = 0
        for k in range(j - 1, -1, -1):
            if s[k] == closer:
                depth += 1
            elif s[k] == opener:
                depth -= 1
                if depth == 0:
                    if k > 0 and s[k - 1] == "^":  # `10^{10}!`: the whole power
                        return _operand_before(s, k - 1) + s[k - 1 : j]
                    return s[k:j]
    return ""


def _largest_quantity(s: str) -> float:
    """log10 of the largest number written in s: integer literals and numeric powers."""
    t = s.replace("**", "^")
    best = max((_literal_log10(d) for d in _DIGITS.findall(t)), default=0.0)
    i = t.find("^")
    while i >= 0:
        j = i
        while j > 0 and t[j - 1].isdigit():
            j -= 1
        end = _group_end(t, i + 1)
        exponent = t[i + 1 : end]
        if j < i and _NUMERIC_ONLY.fullmatch(exponent or " "):
            best = max(best, _log10_estimate(t[j:end]))
        i = t.find("^", i + 1)
    return best


def _exponents(s: str):
    """(exponent, chained) for every `^` / `**` in s; chained when another power follows it
    directly (`2**2**2` is a tower even without braces)."""
    t = s.replace("**", "^")
    i = t.find("^")
    while i >= 0:
        end = _group_end(t, i + 1)
        yield t[i + 1 : end], t[end:].lstrip().startswith("^")
        i = t.find("^", i + 1)


def reject_reason(ans: str) -> str | None:
    """Why this answer must not reach sympy, or None when it may."""
    if len(ans) > MAX_ANSWER_CHARS:
        return f"answer longer than {MAX_ANSWER_CHARS} characters"
    if _FORBIDDEN.search(ans):
        return "code or TeX definitions in the answer"
    if _nesting_too_deep(ans):
        return f"nesting deeper than {MAX_NESTING}"
    for digits in _DIGITS.findall(ans):
        if len(digits) > MAX_DIGITS:
            return f"integer literal longer than {MAX_DIGITS} digits"
    if "^" in ans or "**" in ans:
        for exponent, chained in _exponents(ans):
            if chained or exponent.count("^") >= 2:
                return "power tower"
            if "!" in exponent or "\\binom" in exponent or "\\Gamma" in exponent:
                return "factorial in an exponent"
            if _NUMERIC_ONLY.fullmatch(exponent or " ") and _log10_estimate(exponent) > math.log10(MAX_EXPONENT):
                return f"numeric exponent above {MAX_EXPONENT}"
        t = ans.replace("**", "^")
        for i, ch in enumerate(t):
            if ch != "^":
                continue
            base = _operand_before(t, i)
            power = base + t[i : _group_end(t, i + 1)]
            if base and _NUMERIC_ONLY.fullmatch(power) and _log10_estimate(power) > MAX_POWER_DIGITS:
                return f"a power with more than {MAX_POWER_DIGITS} digits"
    if "!" in ans:
        for i, ch in enumerate(ans):
            if ch != "!" or (i > 0 and ans[i - 1] == "\\"):
                continue
            operand = _operand_before(ans, i)
            if operand and _NUMERIC_ONLY.fullmatch(operand) and _log10_estimate(operand) > math.log10(MAX_FACTORIAL):
                return f"factorial of a number above {MAX_FACTORIAL}"
    if _HUGE_ARGUMENT.search(ans) and _largest_quantity(ans) > math.log10(MAX_FACTORIAL_LIKE):
        return f"binomial, Gamma or factorial of a number above {MAX_FACTORIAL_LIKE}"
    return None
