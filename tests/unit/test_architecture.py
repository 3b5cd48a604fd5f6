"""The layout rules of the house: short files, no import cycles, pure rules in `governance/`."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import openlfr

PKG = Path(openlfr.__file__).parent
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


def _imports(name: str, path: Path) -> set[str]:
    """openlfr modules `name` imports at module level or inside functions (ast, not executed)."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_pkg else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from openlfr.services import rows` imports the submodule itself.
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps = set()
        for imp in _imports(name, path):
            # Resolve to the longest known module name (`a.b.C` -> `a.b`).
            parts = imp.split(".")
            while parts and ".".join(parts) not in mods:
                parts.pop()
            target = ".".join(parts)
            # A package's own __init__ is not an edge out of its submodules.
            if target and target != name and not name.startswith(target + "."):
                deps.add(target)
        graph[name] = deps
    return graph


def test_no_file_is_too_long() -> None:
    long = {
        str(p.relative_to(PKG)): n
        for p in PKG.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split by concern: files over {MAX_LINES} lines: {long}"


def test_every_module_imports() -> None:
    for mod in pkgutil.walk_packages(openlfr.__path__, "openlfr."):
        if ".migrations.versions." in mod.name:
            continue  # Alembic loads revision files itself
        importlib.import_module(mod.name)


def test_import_graph_has_no_cycles() -> None:
    graph = _graph()
    assert "openlfr.services.governance" in graph  # the walk sees the package
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                cycle = [*stack[stack.index(d) :], d]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_graph_walk_finds_a_planted_cycle(tmp_path: Path) -> None:
    # The checker itself: a two-module cycle in a scratch tree is an edge both ways.
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from openlfr.x import b\n")
    b.write_text("import openlfr.x.a\n")
    assert "openlfr.x.b" in _imports("openlfr.x.a", a)
    assert "openlfr.x.a" in _imports("openlfr.x.b", b)


def test_governance_rules_are_pure() -> None:
    banned = {"fastapi", "starlette", "sqlalchemy"}
    for name, path in _modules().items():
        if name == "openlfr.governance" or name.startswith("openlfr.governance."):
            bad = {i for i in _imports(name, path) if i.split(".")[0] in banned}
            assert not bad, f"{name} imports {sorted(bad)}: domain rules stay plain Python"


def test_a_worker_needs_nothing_of_services_or_storage() -> None:
    """What a worker at the camera loads (edge/, broker/, pipeline/, vision/ and what they
    import, transitively) reaches neither `services/` nor `storage/` nor the centre's side of
    the broker (`centre/`): the wire protocol it shares with the centre lives in broker/, and
    nothing of the database comes with it. Every module of edge/ is a root: none is exempt."""
    graph = _graph()
    roots = [n for n in graph if n.startswith("openlfr.edge.")]
    roots.append("openlfr.cli.worker")
    assert "openlfr.edge.worker" in roots
    seen: dict[str, str] = {}  # module -> the module that pulled it in
    todo = list(roots)
    while todo:
        n = todo.pop()
        for d in graph.get(n, ()):
            if d not in seen and d not in roots:
                seen[d] = n
                todo.append(d)
    banned = ("services", "storage", "api", "centre")
    bad = sorted(d for d in seen if d.split(".")[1] in banned)
    assert not bad, "a worker imports " + ", ".join(f"{d} (via {seen[d]})" for d in bad)


def test_the_centre_side_would_be_caught_under_edge() -> None:
    # The walk above has teeth: the centre's link reaches services/, so were it under edge/ again
    # (a root) the worker test would fail.
    graph = _graph()
    assert any(d.startswith("openlfr.services.") for d in graph["openlfr.centre.link"])
