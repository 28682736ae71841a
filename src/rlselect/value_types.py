"""Does a config value fit a Python annotation? For keys that reach a function's keyword argument or a
dataclass field unchecked: `selector.params.floor=abc` or `trainer.args.learning_rate=abc` arrive as strings
and would fail only when used, after the rollouts, the selection or hours of scoring."""

from __future__ import annotations

import types
import typing
from typing import Any

_KINDS: dict[Any, tuple[type, ...]] = {
    bool: (bool,),
    int: (int,),
    float: (int, float),
    str: (str,),
    type(None): (type(None),),
}


def expected_type(hint: Any, value: Any) -> str | None:
    """What `hint` asks for when `value` does not fit it; None when it fits or when `hint` is not one
    checked here (bool, int, float, str, None, Literal[...] and unions of them; other arms fit anything)."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return None if value in typing.get_args(hint) else f"one of {', '.join(map(repr, typing.get_args(hint)))}"
    if origin in (typing.Union, types.UnionType):
        wants = [expected_type(arm, value) for arm in typing.get_args(hint)]
        return None if None in wants else " or ".join(str(w) for w in wants)
    if hint not in _KINDS or (isinstance(value, _KINDS[hint]) and (hint is bool or not isinstance(value, bool))):
        return None
    return "None" if hint is type(None) else ("an int" if hint is int else f"a {hint.__name__}")
