"""The extension's CMake against Slicer's: only variables Slicer defines, and Models/ beside the scripts in the build
tree and in the package.

The real Slicer SDK can't be installed here, so the configure runs against a stand-in SlicerConfig.cmake that sets
what Slicer's own files set for the scripted-module folders (slicer_sources.QTSCRIPTEDMODULES_LIB_DIR) and a
slicerMacroBuildScriptedModule that lays scripts out as CTK's ctkMacroCompilePythonScript does (each script and
resource at its relative path in ${CMAKE_BINARY_DIR}/${Slicer_QTSCRIPTEDMODULES_LIB_DIR}, that folder installed to
${Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR}). A variable Slicer does not define stays empty in both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from FLRSegmentationModuleLib.model_manager import ModelManager, bundled_registry_file
from slicer_sources import CMAKE_VARIABLES, INSTALL_QTSCRIPTEDMODULES_LIB_DIR, QTSCRIPTEDMODULES_LIB_DIR

REPO = Path(__file__).resolve().parents[3]
CMAKE_FILES = [REPO / "CMakeLists.txt", REPO / "FLRSegmentation" / "CMakeLists.txt"]
PREFIX = "/opt/slicer-extension"

STAND_IN_CONFIG = f"""
set(Slicer_USE_FILE ${{CMAKE_CURRENT_LIST_DIR}}/UseSlicer.cmake)
set(Slicer_EXTENSION_GENERATE_CONFIG ${{CMAKE_CURRENT_LIST_DIR}}/Nothing.cmake)
set(Slicer_EXTENSION_CPACK ${{CMAKE_CURRENT_LIST_DIR}}/Nothing.cmake)
"""
STAND_IN_USE_FILE = f"""
set(Slicer_QTSCRIPTEDMODULES_LIB_DIR "{QTSCRIPTEDMODULES_LIB_DIR}")
set(Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR "{INSTALL_QTSCRIPTEDMODULES_LIB_DIR}")
macro(slicerMacroBuildScriptedModule)
  cmake_parse_arguments(MY_SLICER "WITH_GENERIC_TESTS;WITH_SUBDIR;VERBOSE" "NAME" "SCRIPTS;RESOURCES" ${{ARGN}})
  set(_destination ${{CMAKE_BINARY_DIR}}/${{Slicer_QTSCRIPTEDMODULES_LIB_DIR}})
  foreach(_file ${{MY_SLICER_SCRIPTS}} ${{MY_SLICER_RESOURCES}})
    get_filename_component(_folder ${{_file}} DIRECTORY)
    file(COPY ${{CMAKE_CURRENT_SOURCE_DIR}}/${{_file}} DESTINATION ${{_destination}}/${{_folder}})
  endforeach()
  install(DIRECTORY ${{_destination}}/ DESTINATION ${{Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR}}
    COMPONENT RuntimeLibraries)
endmacro()
macro(slicer_add_python_unittest)
endmacro()
"""


def cmake_text() -> str:
    return "\n".join(path.read_text() for path in CMAKE_FILES)


def test_every_slicer_variable_the_cmake_uses_is_one_slicer_defines():
    used = set(re.findall(r"\bSlicer_[A-Za-z0-9_]+", cmake_text()))
    assert {"Slicer_USE_FILE", "Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR", "Slicer_QTSCRIPTEDMODULES_LIB_DIR"} <= used
    assert used - CMAKE_VARIABLES == set(), "not defined by Slicer (CMake/SlicerDirectories.cmake, UseSlicer.cmake.in)"


def test_the_variable_check_knows_the_misspelling_it_guards_against():
    assert "Slicer_INSTALL_QTSCRIPTEDMODULES_DIR" not in CMAKE_VARIABLES  # what the install rule once used


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    """The extension configured against the stand-in, and installed with DESTDIR into a staging folder."""
    cmake = shutil.which("cmake")
    assert cmake, "cmake (3.16 or later) is needed to check the extension's install rules"
    root = tmp_path_factory.mktemp("cmake")
    sdk = root / "Slicer"
    sdk.mkdir()
    (sdk / "SlicerConfig.cmake").write_text(STAND_IN_CONFIG)
    (sdk / "UseSlicer.cmake").write_text(STAND_IN_USE_FILE)
    (sdk / "Nothing.cmake").write_text("")
    build, stage = root / "build", root / "stage"
    for command in ([cmake, "-S", str(REPO), "-B", str(build), f"-DSlicer_DIR={sdk}", "-DBUILD_TESTING=OFF"],
                    [cmake, "--install", str(build), "--prefix", PREFIX]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "DESTDIR": str(stage)})
        assert done.returncode == 0, done.stdout + done.stderr
    return build / QTSCRIPTEDMODULES_LIB_DIR, stage


def test_models_are_in_the_build_tree_beside_the_scripts(configured):
    scripts, _ = configured
    assert (scripts / "FLRSegmentation.py").is_file()
    assert (scripts / "Models" / "registry.json").is_file()
    assert (scripts / "Models" / "demo-phantom" / "manifest.json").is_file()
    assert not list((scripts / "Models").glob("build_*.py"))  # the scripts that build them stay in the source


def test_models_are_installed_beside_the_scripts_and_nothing_outside_the_prefix(configured):
    _, stage = configured
    installed = {p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()}
    scripts = (Path(PREFIX.lstrip("/")) / INSTALL_QTSCRIPTEDMODULES_LIB_DIR).as_posix().replace("/./", "/")
    assert f"{scripts}/FLRSegmentation.py" in installed
    assert f"{scripts}/Models/registry.json" in installed
    assert f"{scripts}/Models/demo-phantom-stunet/manifest.json" in installed
    assert not [p for p in installed if not p.startswith(PREFIX.lstrip("/") + "/")]
    assert not [p for p in installed if "/Models/build_" in p]


@pytest.mark.parametrize("tree", ["build", "install"])
def test_the_module_finds_its_bundled_models_where_cmake_puts_them(configured, tree, tmp_path):
    scripts, stage = configured
    if tree == "install":
        scripts = stage / PREFIX.lstrip("/") / INSTALL_QTSCRIPTEDMODULES_LIB_DIR
    registry = bundled_registry_file(scripts)  # the module passes the folder that holds FLRSegmentation.py
    assert registry == scripts / "Models" / "registry.json"
    models = {info.id: info for info in ModelManager(registry, tmp_path / "user-models").models()}
    assert models["demo-phantom"].installed and models["demo-phantom"].bundled
