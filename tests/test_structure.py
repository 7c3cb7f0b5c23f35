"""The tree's shape: the layers and who may import whom, no import cycle, one model contract, one place for
the tensor names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"paxcast.service": ROOT / "service", "paxcast.training": ROOT / "training"}


def modules() -> dict[str, Path]:
    """Every module of the two packages by its dotted name (a package's `__init__` by the package's name)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every project module `path` imports, at module level or inside functions alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from package import module` imports the module (the package's __init__ only when it names no module)
            submodules = [
                f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in known
            ]
            names = submodules or [node.module]
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


# Who may import whom. A module of the layer on the left imports only modules under the prefixes on the right
# (its own layer included); training reaches the service through its torch-free core and the `Predictor` only.
LAYERS = {
    "paxcast.service.core": ("paxcast.service.core",),
    "paxcast.service.inference": ("paxcast.service.core", "paxcast.service.inference"),
    # the store (SQLAlchemy, torch-free) sits beside inference: the app and `retrain --store` read it
    "paxcast.service.store": ("paxcast.service.core", "paxcast.service.store"),
    "paxcast.service.api": (
        "paxcast.service.core",
        "paxcast.service.inference",
        "paxcast.service.store",
        "paxcast.service.api",
    ),
    "paxcast.service.cli": ("paxcast.service",),
    "paxcast.training": (
        "paxcast.service.core",
        "paxcast.service.inference.predictor",
        "paxcast.service.store",
        "paxcast.training",
    ),
}
# The one crossing the other way: the command line's front hands train|backtest|retrain to training.
FRONT_TO_TRAINING = ("paxcast.service.cli.main", "paxcast.training.commands")


def layer_of(module: str) -> str:
    return max((layer for layer in LAYERS if module == layer or module.startswith(layer + ".")), key=len)


def allowed(importer: str, imported: str) -> bool:
    if (importer, imported) == FRONT_TO_TRAINING:
        return True
    return any(imported == p or imported.startswith(p + ".") for p in LAYERS[layer_of(importer)])


def test_every_module_belongs_to_a_layer():
    top = {"paxcast.service", "paxcast.training"}  # the packages' own docstrings
    assert [m for m in modules() if m not in top and layer_of(m) in top - {"paxcast.training"}] == []


def test_each_layer_imports_only_the_layers_below_it():
    known = set(modules())
    offenders = []
    for name, path in modules().items():
        for imported in imports_of(path, known) - {name}:
            if not allowed(name, imported):
                offenders.append(f"{name} imports {imported}")
    assert offenders == []


def test_the_layer_rules_refuse_what_they_should():
    assert not allowed("paxcast.service.core.contract", "paxcast.service.inference.predictor")
    assert not allowed("paxcast.service.inference.holder", "paxcast.service.api.settings")
    assert not allowed("paxcast.training.series.model", "paxcast.service.api.app")
    assert not allowed("paxcast.training.engine", "paxcast.service.cli.options")
    assert not allowed("paxcast.service.cli.models", "paxcast.training.commands")
    assert not allowed("paxcast.service.store.actuals", "paxcast.service.api.app")
    assert not allowed("paxcast.service.store.engine", "paxcast.service.inference.holder")
    assert not allowed("paxcast.service.inference.holder", "paxcast.service.store.engine")
    assert allowed("paxcast.service.cli.main", "paxcast.training.commands")
    assert allowed("paxcast.training.served", "paxcast.service.inference.predictor")


def test_the_store_never_imports_torch_or_training():
    """The serving image has no torch; `paxcast actuals load` runs there."""
    offenders = []
    for path in sorted((ROOT / "service" / "store").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "torch" or "training" in n]
    assert offenders == []


def test_the_front_reaches_training_only_from_inside_the_training_command():
    """`paxcast serve` and `paxcast models` run without torch: nothing at module level pulls training in."""
    tree = ast.parse((ROOT / "service" / "cli" / "main.py").read_text())
    at_top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not [n for n in at_top if "training" in (getattr(n, "module", None) or "")]


def source_files():
    folders = ("service", "training", "bench", "experiments")
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


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


def test_no_test_imports_bench_or_experiments():
    """The suite tests the product; `make lint` imports bench/ and experiments/ and runs their self-checks
    (`python -m bench.imports`), so a refactor that breaks them still fails `make test`."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            foreign = [n for n in names if n.split(".")[0] in ("bench", "experiments")]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in foreign]
    assert offenders == []
    lint = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "python -m compileall -q bench experiments" in lint and "python -m bench.imports" in lint
