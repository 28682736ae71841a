"""A new selector or dataset is one file: the package imports (and so registers) every module."""

from __future__ import annotations

import sys

import pytest

from rlselect.discovery import import_submodules

SELECTOR_FILE = '''
from rlselect.selectors.base import register_selector


@register_selector("shortest_question_test_only")
def shortest_question(inputs, budget, seed):
    """Shortest questions first."""
    return sorted(inputs.ids, key=lambda i: len(next(r["question"] for r in inputs.records if r["id"] == i)))
'''


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    pkg = tmp_path / "my_selectors"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "shortest.py").write_text(SELECTOR_FILE)
    (pkg / "_helpers.py").write_text("raise RuntimeError('private modules are not imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in [m for m in sys.modules if m.startswith("my_selectors")]:
        del sys.modules[name]


def test_a_dropped_in_selector_file_registers_and_selects(plugin_package):
    from rlselect.selectors import SELECTORS, SelectionInputs, get_selector

    try:
        assert import_submodules("my_selectors", [str(plugin_package)]) == ["shortest"]
        selector = get_selector("shortest_question_test_only")
        records = [{"id": f"q{i}", "question": "x" * (5 - i)} for i in range(5)]
        assert selector(SelectionInputs(records), 2, 0)[:2] == ["q4", "q3"]
        assert selector.doc == "Shortest questions first."
    finally:
        SELECTORS.pop("shortest_question_test_only", None)


def test_a_broken_module_fails_loudly_with_its_name(plugin_package):
    (plugin_package / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(ModuleNotFoundError, match="not_a_module_anywhere"):
        import_submodules("my_selectors", [str(plugin_package)])


def test_the_project_packages_register_every_module_they_hold():
    from pathlib import Path

    import rlselect.data as data
    import rlselect.selectors as selectors

    for package in (selectors, data):
        files = sorted(p.stem for p in Path(package.__file__).parent.glob("*.py") if not p.stem.startswith("_"))
        assert all(f"{package.__name__}.{name}" in sys.modules for name in files)
    assert {"gradalign", "learnalign", "random"} <= set(selectors.SELECTORS)
    assert {"gsm8k", "arith", "digits", "mixture"} <= set(data.LOADERS)


def test_a_name_registered_twice_is_refused_naming_both_functions():
    """A user's selector named like a shipped one (or two files naming one dataset) replaced the
    other silently, whichever module imported last."""
    from rlselect.data.registry import LOADERS, register
    from rlselect.selectors import SELECTORS, register_selector

    def random_twin(inputs, budget, seed):
        return []

    with pytest.raises(
        ValueError, match=r"selector 'random' is registered twice, by rlselect\.selectors\..*select_random"
    ):
        register_selector("random")(random_twin)
    assert SELECTORS["random"].fn is not random_twin
    with pytest.raises(ValueError, match=r"dataset 'gsm8k' is registered twice"):
        register("gsm8k")(random_twin)
    assert LOADERS["gsm8k"] is not random_twin
    try:  # the same function again (a notebook cell rerun) is no conflict
        register_selector("twin_test_only")(random_twin)
        register_selector("twin_test_only")(random_twin)
    finally:
        SELECTORS.pop("twin_test_only", None)


def test_a_selector_without_inputs_budget_seed_is_refused_when_registered():
    from rlselect.selectors import register_selector

    def two_args(inputs, budget):
        return []

    with pytest.raises(TypeError, match=r"two_args\(inputs, budget\) must take \(inputs, budget, seed, \*\*params\)"):
        register_selector("two_args_test_only")(two_args)


@pytest.mark.parametrize(
    "returned, message",
    [
        ([1, 0], r"returned 1, which is not an id of the pool \(a position\? return inputs.ids\[i\]\)"),
        (["p0", "nope"], r"returned 'nope', which is not an id of the pool$"),
        (["p1", "p1"], r"returned id 'p1' twice"),
        (None, r"returned NoneType: return a list of ids from inputs.ids"),
    ],
)
def test_a_selector_returning_no_list_of_pool_ids_is_named_with_the_first_bad_value(returned, message):
    """A user's selector that returned positions or a repeated id stopped with "returned duplicate or unknown
    ids", and one that returned None with a TypeError from set()."""
    import torch

    from rlselect.selection import run_selector
    from rlselect.selectors.base import SelectionInputs, Selector

    inputs = SelectionInputs(records=[{"id": f"p{i}"} for i in range(3)], stats={})
    selector = Selector("mine", lambda inputs, budget, seed: returned, frozenset(), "")
    with pytest.raises((ValueError, TypeError), match=message):
        run_selector(selector, inputs, 2, 0, {})
    tensor_ids = Selector("mine", lambda inputs, budget, seed: torch.tensor([2, 0]), frozenset(), "")
    with pytest.raises(ValueError, match=r"returned tensor\(2\), which is not an id of the pool \(a position"):
        run_selector(tensor_ids, inputs, 2, 0, {})
    ok = Selector("mine", lambda inputs, budget, seed: iter(["p2", "p0", "p1"]), frozenset(), "")
    assert run_selector(ok, inputs, 2, 0, {}) == ["p2", "p0"]
