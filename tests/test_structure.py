"""The tree's shape: no import cycle, one model contract, one place for the tensor names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"paxcast.service": ROOT / "service", "paxcast.training": ROOT / "training"}


def modules() -> dict[str, Path]:
    return {
        f"{package}.{path.stem}": path
        for package, folder in PACKAGES.items()
        for path in sorted(folder.glob("*.py"))
        if path.stem != "__init__"
    }


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every project module `path` imports, at module level or inside functions alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_there_is_no_import_cycle():
    known = set(modules())
    graph = {name: imports_of(path, known) - {name} for name, path in modules().items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def source_files():
    return [p for folder in ("service", "training", "bench") for p in sorted((ROOT / folder).glob("*.py"))]


@pytest.mark.parametrize("pattern", ['meta["', "meta.get(", "read_contract"])
def test_the_model_card_is_read_only_through_the_contract(pattern):
    offenders = [str(p.relative_to(ROOT)) for p in source_files() if pattern in p.read_text()]
    assert offenders == []


def test_tensor_names_are_written_only_in_the_contract():
    offenders = []
    for path in source_files():
        if path.name == "contract.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            # the names as dictionary keys or list items of a session.run / export call
            if isinstance(node, (ast.Dict, ast.List)):
                items = node.keys if isinstance(node, ast.Dict) else node.elts
                names_a_tensor = any(
                    isinstance(k, ast.Constant) and k.value in ("history", "forecast") for k in items if k is not None
                )
                only_constants = all(isinstance(k, ast.Constant) for k in items if k is not None) and len(items) == 1
                if names_a_tensor and (isinstance(node, ast.List) or only_constants):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_every_bench_module_imports():
    """The benchmarks are not run by the suite; an import that a refactor broke must still fail it."""
    import importlib

    for path in sorted((ROOT / "bench").glob("*.py")):
        if path.stem != "__init__":
            importlib.import_module(f"bench.{path.stem}")
