"""Packaging: licence, declared dependencies, version, changelog, make clean,
no import cycle."""

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import skquant

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _distribution_name(requirement):
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def _third_party_imports():
    """``{top-level import name: is every import of it inside a function}``."""
    found = {}
    for path in (ROOT / "skquant").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        in_function = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function.update(id(n) for n in ast.walk(node) if n is not node)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "skquant" or top in sys.stdlib_module_names:
                    continue
                found[top] = found.get(top, True) and id(node) in in_function
    return found


def _import_graph():
    """``{module: the skquant modules it imports}``, read from the source.

    Imports inside functions count as well as module-level ones: a cycle
    through a deferred import still ties the two layers together. A name
    imported from a package counts as an import of that package (its
    ``__init__``), unless the name is a submodule.
    """
    modules = {}
    for path in (ROOT / "skquant").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name):
        while name not in modules and "." in name:
            name = name.rpartition(".")[0]
        return name if name in modules else None

    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}:{node.lineno}: relative import"
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {resolve(target) for target in targets} - {None, name}
    return graph


def _find_cycle(graph):
    """One import cycle of ``graph`` as a list ``[a, b, ..., a]``, or None."""
    state = {}

    def visit(path):
        state[path[-1]] = "open"
        for successor in sorted(graph[path[-1]]):
            if state.get(successor) == "open":
                return path[path.index(successor) :] + [successor]
            if successor not in state and (found := visit(path + [successor])):
                return found
        state[path[-1]] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (found := visit([module])):
            return found
    return None


def test_license_is_an_spdx_string_with_its_file():
    assert PROJECT["license"] == "BSD-3-Clause"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Neither the name of the copyright holder" in text
    # SPDX strings need setuptools 77; older ones refuse or warn
    (requirement,) = [
        r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")
    ]
    assert requirement == "setuptools>=77"
    metadata = importlib.metadata.metadata("skquant")
    assert metadata["License-Expression"] == "BSD-3-Clause"


def test_every_imported_package_is_declared():
    distributions = importlib.metadata.packages_distributions()
    required = {_distribution_name(r) for r in PROJECT["dependencies"]}
    extras = {
        _distribution_name(r)
        for group in PROJECT["optional-dependencies"].values()
        for r in group
    }
    imports = _third_party_imports()
    assert {"numpy", "sklearn", "scipy", "numba", "cv2"} <= set(imports)
    for name, only_in_functions in sorted(imports.items()):
        if name not in distributions:
            pytest.fail(f"skquant imports {name!r}, which is not installed")
        dists = {d.lower() for d in distributions[name]}
        if dists & required:
            continue
        # an extra is enough for what is imported only when a feature runs
        assert dists & extras, f"{name} ({dists}) is imported but not declared"
        assert only_in_functions, (
            f"{name} comes from an optional extra but is imported at module "
            "level; import it where it is used, or make it a dependency"
        )


def test_version_is_installed_and_in_the_changelog():
    assert re.fullmatch(r"\d+\.\d+\.\d+", skquant.__version__)
    # the Makefile reinstalls when _version.py changes, so metadata follows
    installed = importlib.metadata.version("skquant")
    assert installed == skquant.__version__, (
        f"installed metadata says {installed}: reinstall (make .venv/.installed)"
    )
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## (\d+\.\d+\.\d+)", changelog, flags=re.MULTILINE)
    assert headings[0] == skquant.__version__
    newest_first = sorted(
        headings, key=lambda v: tuple(map(int, v.split("."))), reverse=True
    )
    assert headings == newest_first


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_clean_cache_removes_numba_caches(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    cache = tmp_path / "skquant" / "_kernels" / "__pycache__"
    cache.mkdir(parents=True)
    stale = [cache / "_assign.f-1.py311.nbi", cache / "_assign.f-1.py311.1.nbc"]
    elsewhere = tmp_path / "skquant" / "other.nbc"
    for path in [*stale, elsewhere]:
        path.write_bytes(b"stale")
    source = tmp_path / "skquant" / "_kernels" / "_assign.py"
    source.write_text("")
    subprocess.run(
        ["make", "-s", "clean-cache"], cwd=tmp_path, check=True, capture_output=True
    )
    assert not cache.exists() and not elsewhere.exists()
    assert source.exists()
    done = subprocess.run(
        ["make", "-n", "clean"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "*.nbi" in done.stdout and "*.nbc" in done.stdout


def test_make_test_checks_formatting():
    done = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    assert "ruff format --check" in done.stdout
    assert "ruff check" in done.stdout


def test_no_import_cycle_within_skquant():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None
    graph = _import_graph()
    # the graph sees module-level and deferred imports, and submodules
    # imported from their package
    assert {"skquant._engine", "skquant._dask"} <= graph["skquant._quantizer"]
    assert "skquant._quantizer" in graph["skquant._quantize"]  # inside quantize()
    assert "skquant.io._pillow" in graph["skquant.io._indexed"]
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
