"""The import graph of `src/rlselect` is acyclic, counting imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import rlselect

SRC = Path(rlselect.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the rlselect modules it names in an import statement (anywhere in its body).
    `from pkg import name` points at pkg.name when that is a module, else at pkg itself."""
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph[mod].update(t for t in targets if t in files and t != mod)
        if is_pkg and "import_submodules(__name__" in path.read_text():  # discovery.py: imports all its modules
            graph[mod].update(m for m in files if m.rpartition(".")[0] == mod)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_finder_sees_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_graph_covers_function_level_imports():
    graph = import_graph()
    assert len(graph) > 40
    assert "rlselect.pipeline" in graph["rlselect.cli"]  # imported inside main()


def test_graph_covers_the_packages_that_import_all_their_modules():
    graph = import_graph()
    assert {"rlselect.selectors.gradalign", "rlselect.selectors.base"} <= graph["rlselect.selectors"]
    assert {"rlselect.data.gsm8k", "rlselect.data.arith"} <= graph["rlselect.data"]


def test_import_graph_is_acyclic():
    assert find_cycle(import_graph()) is None
