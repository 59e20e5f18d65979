"""FLRSegmentationLogic builds under Slicer's base class, whose __init__ calls super().__init__().

Slicer's ScriptedLoadableModuleLogic.__init__(self, parent=None) starts with `super().__init__()`
(Base/Python/slicer/ScriptedLoadableModule.py, v5.10.0 and v5.12.0). With a second base class, that call lands on
the second base's __init__ without its arguments: a TypeError, an empty module panel and a failing self-test. The
application's `slicer.ScriptedLoadableModule` is not in slicer-core, so the class is taken from FLRSegmentation.py
and built over a stand-in base that does the same, with the real ModuleLogic and a real MRML scene.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from FLRSegmentationModuleLib.module_logic import ModuleLogic
from FLRSegmentationModuleLib.module_settings import ModuleSettings
from FLRSegmentationModuleLib.resection_logic import ResectionLogic
from FLRSegmentationModuleLib.volumetry_results import PatientValues, VolumetryResults
from mrml_volumetry import ManualScheduler

MODULE = Path(__file__).resolve().parents[3] / "FLRSegmentation"


class StandInScriptedLoadableModuleLogic:
    """What Slicer's base does at construction: super().__init__() first, then its own attributes."""

    def __init__(self, parent=None):
        super().__init__()
        self.moduleName = type(self).__name__.removesuffix("Logic")


def logic_class(scene, settings_file: Path):
    """FLRSegmentationLogic from FLRSegmentation.py's source, over the stand-in base."""
    tree = ast.parse((MODULE / "FLRSegmentation.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "FLRSegmentationLogic")
    app = SimpleNamespace(slicerUserSettingsFilePath=str(settings_file))
    namespace = {"ScriptedLoadableModuleLogic": StandInScriptedLoadableModuleLogic, "ModuleLogic": ModuleLogic,
                 "ModuleSettings": ModuleSettings, "VolumetryResults": VolumetryResults, "PatientValues": PatientValues,
                 "ResectionLogic": ResectionLogic, "qt_scheduler": lambda callback, delay_ms=0: ManualScheduler(callback),
                 "Path": Path, "MODULE_DIR": MODULE,
                 "slicer": SimpleNamespace(app=app, mrmlScene=scene)}
    exec(compile(ast.Module([node], []), "FLRSegmentation.py", "exec"), namespace)
    return namespace["FLRSegmentationLogic"]


def test_the_logic_builds_and_holds_a_module_logic(scene, tmp_path):
    logic = logic_class(scene, tmp_path / "Slicer.ini")()
    assert logic.moduleName == "FLRSegmentation"
    assert isinstance(logic.moduleLogic, ModuleLogic)
    assert logic.moduleLogic.settings.path == tmp_path / "FLRSegmentation" / "settings.json"
    assert any(info.id == "demo-phantom" and info.bundled for info in logic.moduleLogic.models.models())
    assert not logic.moduleLogic.running
    assert isinstance(logic.resection, ResectionLogic) and logic.resection.segmentation_node is None
    logic.volumetry.close()
    logic.resection.close()


def test_the_stand_in_fails_the_way_slicer_does_with_a_second_base(tmp_path):
    """Proof the guard can fail: the multiple-inheritance form this module once had raises at construction."""

    class Mixed(StandInScriptedLoadableModuleLogic, ModuleLogic):
        def __init__(self):
            StandInScriptedLoadableModuleLogic.__init__(self)

    with pytest.raises(TypeError, match="module_dir"):
        Mixed()


def test_the_logic_has_one_base():
    tree = ast.parse((MODULE / "FLRSegmentation.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "FLRSegmentationLogic")
    assert [ast.unparse(base) for base in node.bases] == ["ScriptedLoadableModuleLogic"]
