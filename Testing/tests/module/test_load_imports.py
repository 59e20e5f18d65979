"""What Slicer's GUI process imports when it loads the module: only what Slicer 5.10 ships, never an engine package.

Slicer imports FLRSegmentation.py at startup. A third-party package it reaches at load time that Slicer does not
bundle is a ModuleNotFoundError there: the module is absent and its own dependency installer can never run. So
this walks, with `ast`, every statement that runs at import (module and class bodies, not function bodies, not
`if TYPE_CHECKING:`), follows our own modules, and checks each other package against Slicer's bundled list
(slicer_sources.BUNDLED_PACKAGES, read from Slicer's SuperBuild files).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from slicer_sources import APPLICATION_MODULES, BUNDLED_PACKAGES, IMPORT_NAMES, OLDEST_SLICER

REPO = Path(__file__).resolve().parents[3]
MODULE = REPO / "FLRSegmentation"
OWN_PACKAGES = {"FLRSegmentationLib", "FLRSegmentationModuleLib"}
ENGINE_ONLY = {"nrrd", "psutil", "torch", "nnunetv2", "monai", "dynamic_network_architectures", "batchgenerators"}


def bundled_import_names(version: str) -> set[str]:
    return {IMPORT_NAMES.get(name, name.replace("-", "_")) for name in BUNDLED_PACKAGES[version]}


def load_time_statements(body: list[ast.stmt]):
    """The statements Python runs when it imports the module: functions' bodies wait for a call."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from load_time_statements(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, [])
            yield from load_time_statements([c for c in children if isinstance(c, ast.stmt)])
            for handler in children:
                if isinstance(handler, ast.ExceptHandler):
                    yield from load_time_statements(handler.body)


def module_file(name: str) -> Path | None:
    """Our module's file (a package's __init__.py), or None for a name that is not a module of ours."""
    path = MODULE.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path, module: str) -> list[str]:
    """Absolute module names imported at load time by one file (a `from package import name` counts the package
    and, when it is one of ours, the submodule `package.name` if there is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in load_time_statements(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names if module_file(f"{base}.{alias.name}")]
    return names


def load_time_imports(start: Path = MODULE / "FLRSegmentation.py") -> dict[str, set[str]]:
    """Every module reached at load time -> the modules of ours that import it."""
    reached: dict[str, set[str]] = {}
    todo = [(start, "FLRSegmentation")]
    seen = set()
    while todo:
        path, module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in imported_names(path, module):
            reached.setdefault(name, set()).add(module)
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
                own = module_file(".".join(parts[:depth]))
                if own is not None:
                    todo.append((own, ".".join(parts[:depth])))
    return reached


def third_party(reached: dict[str, set[str]]) -> dict[str, set[str]]:
    """Top-level package -> importers, for everything that is neither ours nor Python's own."""
    found: dict[str, set[str]] = {}
    for name, importers in reached.items():
        top = name.split(".")[0]
        if top in OWN_PACKAGES or top in sys.stdlib_module_names or top in ("__future__", "FLRSegmentation"):
            continue
        found.setdefault(top, set()).update(importers)
    return found


def test_the_walk_follows_our_modules_and_finds_what_they_import():
    reached = load_time_imports()
    assert "FLRSegmentationModuleLib.widgets.run_widget" in reached  # a section the module builds
    assert "FLRSegmentationModuleLib.process_runner" in reached  # reached through the sections
    assert {"slicer", "qt", "numpy"} <= set(third_party(reached))


def test_module_load_reaches_only_what_slicer_ships():
    allowed = APPLICATION_MODULES | bundled_import_names(OLDEST_SLICER)
    outside = {name: sorted(importers) for name, importers in third_party(load_time_imports()).items()
               if name not in allowed}
    assert outside == {}, (f"imported when Slicer loads the module, but not shipped with Slicer {OLDEST_SLICER} "
                           f"(import them inside the function that needs them): {outside}")


def test_no_engine_package_is_reached_at_load_time():
    reached = third_party(load_time_imports())
    assert {name: sorted(reached[name]) for name in ENGINE_ONLY & set(reached)} == {}


def test_the_guard_sees_a_package_slicer_does_not_ship(tmp_path, monkeypatch):
    """The walk catches an engine import two modules away, as the annotation section once reached pynrrd."""
    package = tmp_path / "FLRSegmentationModuleLib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "section_widget.py").write_text("from .reader import read\n")
    (package / "reader.py").write_text("import nrrd\n\ndef read():\n    import torch\n")
    (tmp_path / "FLRSegmentation.py").write_text("from FLRSegmentationModuleLib.section_widget import read\n")
    monkeypatch.setattr(sys.modules[__name__], "MODULE", tmp_path)
    reached = third_party(load_time_imports(tmp_path / "FLRSegmentation.py"))
    assert reached == {"nrrd": {"FLRSegmentationModuleLib.reader"}}  # torch is imported lazily: allowed
