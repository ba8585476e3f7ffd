"""The import structure of the tinyfin package: every import stands at the
top of its module, the modules' imports form no cycle, and each module
imports on its own.

Cycles used to hide behind imports inside functions (tensor <-> creation,
elementwise <-> elementwise_grad <-> indexing <-> shape, the autograd
modules <-> creation): a dependency that a reader cannot see at the top of
the file, and an import order that worked only because tinyfin/__init__.py
happened to import things in that order. The machinery several op modules
share now sits a layer below them (autograd/inplace.py,
autograd/linear_maps.py, _coordinates.py); these tests keep it that way.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from typing import Dict, List, Set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "tinyfin"

# Imports that may stand inside a function, "path:function" -> why. Only for
# a real reason: an optional dependency, or loading that must be lazy (as
# verify/report.py does with matplotlib).
ALLOWED_LOCAL_IMPORTS: Dict[str, str] = {
    # tinyfin.train: an optional dependency, imported when its callback is made
    "tinyfin/train/callbacks.py:_load_matplotlib_figure":
        "matplotlib is optional (PlotCurves only) and slow to import",
}


def _modules() -> Dict[str, str]:
    """Every module of the package: dotted name -> path."""
    found = {}
    for folder, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, f), ROOT)[:-3]
                parts = rel.split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = os.path.join(folder, f)
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].endswith("__init__.py")


def _tree(name: str) -> ast.Module:
    with open(MODULES[name]) as f:
        return ast.parse(f.read(), MODULES[name])


def _imports_inside_functions(tree: ast.Module) -> List[tuple]:
    """(function, line, statement) for each import not at module level."""
    found = []

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, scope + [child.name])
            elif isinstance(child, (ast.Import, ast.ImportFrom)) and scope:
                found.append((".".join(scope), child.lineno, ast.unparse(child)))
            else:
                visit(child, scope)
    visit(tree, [])
    return found


def _module_level_imports(tree: ast.Module) -> list:
    """The imports that run when the module does (under `if` and `try` at
    module level too), not those of function or class bodies."""
    found = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                        ast.ClassDef)):
                visit(child)
    visit(tree)
    return found


def _targets(name: str, node) -> Set[str]:
    """The package's modules an import statement of module `name` loads."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in MODULES}
    if node.level:
        base = name if _is_package(name) else name.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    if base not in MODULES:
        return set()  # not one of ours (numpy, ctypes, ...)
    # `from pkg import sub` loads pkg.sub when sub is a module, else pkg
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
            for a in node.names}


def import_graph() -> Dict[str, Set[str]]:
    """module -> the modules its module-level imports run. Importing
    tinyfin.autograd.graph from outside tinyfin.autograd first runs
    tinyfin/autograd/__init__.py, so that counts as importing the package
    too. The top package is left out as a target: Python runs
    tinyfin/__init__.py before any submodule, so it is where every import
    starts, never a step in the middle of one."""
    graph: Dict[str, Set[str]] = {}
    for name in MODULES:
        edges = set()
        for node in _module_level_imports(_tree(name)):
            for target in _targets(name, node):
                edges.add(target)
                parts = target.split(".")
                for i in range(2, len(parts)):
                    package = ".".join(parts[:i])
                    if name != package and not name.startswith(package + "."):
                        edges.add(package)
        edges.discard(PACKAGE)
        graph[name] = edges - {name}
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module
    (Tarjan), each as a sorted list."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    cycles = []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return cycles


def test_no_imports_inside_functions():
    found = []
    for name, path in MODULES.items():
        rel = os.path.relpath(path, ROOT)
        for function, line, statement in _imports_inside_functions(_tree(name)):
            if f"{rel}:{function}" not in ALLOWED_LOCAL_IMPORTS:
                found.append(f"{rel}:{line} in {function}: {statement}")
    assert not found, (
        "imports inside functions (move them to the top of the module; where "
        "that makes a cycle, move what both modules need a layer down; a "
        "genuinely lazy or optional import goes in ALLOWED_LOCAL_IMPORTS with "
        "its reason):\n" + "\n".join(found))


def test_allowed_local_imports_still_exist():
    present = {f"{os.path.relpath(path, ROOT)}:{function}"
               for name, path in MODULES.items()
               for function, _, _ in _imports_inside_functions(_tree(name))}
    stale = sorted(set(ALLOWED_LOCAL_IMPORTS) - present)
    assert not stale, f"ALLOWED_LOCAL_IMPORTS entries without such an import: {stale}"


def test_module_imports_form_no_cycle():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among tinyfin's modules:\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_cycles():
    """The graph check itself works: a cycle through a package's __init__
    (as functional importing the op modules would make) is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": set()}
    assert find_cycles(graph) == []
    graph["c"] = {"a"}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert "tinyfin.autograd" in import_graph()["tinyfin.shape"]


# Run in a fresh interpreter: tinyfin itself is replaced by a bare package,
# so that its __init__.py (which imports every module, in its own order)
# does not run first; each module, in a forked child, then has to import
# what it needs by itself, and a cycle that a lucky order hides fails there
# with "partially initialized module".
_ALONE = r"""
import importlib, os, sys, traceback, types
import numpy  # loaded once, shared by the forked children

root, names = sys.argv[1], sys.argv[2:]
failed = []
for name in names:
    pid = os.fork()
    if pid == 0:
        package = types.ModuleType("tinyfin")
        package.__path__ = [os.path.join(root, "tinyfin")]
        sys.modules["tinyfin"] = package
        try:
            importlib.import_module(name)
        except BaseException:
            print(f"---- {name}", file=sys.stderr)
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1]:
        failed.append(name)
print(" ".join(failed))
"""


def test_each_module_imports_on_its_own():
    names = sorted(n for n in MODULES if n != PACKAGE)
    run = subprocess.run([sys.executable, "-c", _ALONE, ROOT, *names],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    failed = run.stdout.split()
    assert not failed, f"modules that fail to import on their own: {failed}\n{run.stderr}"
