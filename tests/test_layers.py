"""The engine's layers are kept by import-linter (pyproject.toml's contracts, `lint-imports` in
`make test`), and no module of the package imports itself back through others.

Each contract is proven to fail: a copy of the package with one import that breaks it is
linted, and the contract must be reported broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# One import that breaks a contract: (module file, the line added, the contract's name).
BREAKS = [
    ("model/results.py", "import grpc", "The model and the rules know no transport"),
    ("rules/fields.py", "from conformance.transport import client",
     "The model and the rules know no transport"),
    ("model/violations.py", "from conformance.nightly import compare",
     "The engine in layers"),
    ("checks/test_ft.py", "from conformance.run import plugin",
     "Nothing but pytest and the CLI imports the plugin"),
    ("run/options.py", "from conformance.nightly import expectations",
     "run, apart from the plugin, wires no feature"),
    ("checks/test_ct.py", "import grpc", "The checks talk to a target through the transport"),
    ("report/markup.py", "from conformance.reference import faults",
     "The reference server is a world apart"),
    ("run/target_config.py", "from conformance.run import options",
     "The plugin is the composition root"),
]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_layers_hold() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.fixture(scope="module")
def broken_tree(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One copy of the package with every import of BREAKS added, linted once."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "conformance", root / "conformance",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for module, line, _ in BREAKS:
        path = root / "conformance" / module
        path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n",
                        encoding="utf-8")
    return _lint(root)


def _contract(prefix: str) -> str:
    """The full name of the one contract whose name starts with `prefix`."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [name] = [c["name"] for c in config["tool"]["importlinter"]["contracts"]
              if c["name"].startswith(prefix)]
    return str(name)


@pytest.mark.parametrize(("module", "line", "contract"), BREAKS,
                         ids=[f"{m}: {line}" for m, line, _ in BREAKS])
def test_each_contract_fails_when_broken(broken_tree: subprocess.CompletedProcess[str],
                                         module: str, line: str, contract: str) -> None:
    report = " ".join(broken_tree.stdout.split())  # import-linter wraps long lines
    assert broken_tree.returncode != 0, report[-2000:]
    assert f"{_contract(contract)} BROKEN" in report, report[-3000:]
    words = line.split()
    imported = words[1] if words[0] == "import" else f"{words[1]}.{words[3]}"
    assert f"conformance.{module.removesuffix('.py').replace('/', '.')} -> {imported}" in report


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if position < len(edges[node]):
                work.append((node, position + 1))
                after = edges[node][position]
                if after not in index:
                    work.append((after, 0))
                elif after in on_stack:
                    low[node] = min(low[node], index[after])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_import_circle() -> None:
    """Imports at any depth (in functions too), but not those only a type checker reads."""
    graph = grimp.build_graph("conformance", exclude_type_checking_imports=True)
    modules = {m for m in graph.modules if not m.startswith("conformance._generated")}
    assert _cycles(graph, modules) == []


def test_the_circle_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.c", imported="a.d")
    assert _cycles(graph, {"a.b", "a.c", "a.d"}) == [["a.b", "a.c"]]
