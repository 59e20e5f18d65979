"""Shared test fixtures: paths to the real CT data beside the checkout and to the demo model package."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real CT data folder {REAL_DATA} is absent (it sits beside the checkout on project machines)")
    return REAL_DATA

DEMO_PACKAGE = REPO / "Models" / "demo-phantom"


@pytest.fixture(scope="session")
def demo_package() -> Path:
    assert (DEMO_PACKAGE / "manifest.json").is_file(), "the demo model package is committed in Models/demo-phantom"
    return DEMO_PACKAGE


@pytest.fixture
def scene():
    """A Slicer MRML scene (slicer-core) with the segmentations logic registered, as conversion and export need."""
    import slicer  # slicer-core: Slicer's own MRML classes

    scene = slicer.vtkMRMLScene()
    app_logic = slicer.vtkSlicerApplicationLogic()
    app_logic.SetMRMLScene(scene)
    logic = slicer.vtkSlicerSegmentationsModuleLogic()
    logic.SetMRMLScene(scene)
    logic.SetMRMLApplicationLogic(app_logic)
    yield scene
    logic.SetMRMLScene(None)
    scene.Clear(1)


@pytest.fixture
def read_with_slicer(scene):
    """Load a .seg.nrrd into a segmentation node with Slicer's own storage node."""

    def read(path):
        node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
        storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
        storage.SetFileName(str(path))
        assert storage.ReadData(node) == 1, f"Slicer could not read {path}"
        return node

    return read
