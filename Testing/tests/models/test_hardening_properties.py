"""Property tests (hypothesis): random plans, manifests and header geometries never give anything but a clean
refusal (ModelError / InputError, exit 2) or a pass; a plan that passes makes nnU-Net locate only allow-listed
names; a package check writes only inside its unpack folder; volumetry writes only into its output folder.

In-process calls to the checking functions with bounded example counts keep this under a minute."""

import json
import math
import pydoc
import shutil
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.errors import InputError, ModelError
from FLRSegmentationLib.imaging.header_check import check_geometry
from FLRSegmentationLib.models.network_builders import build_plain_network
from FLRSegmentationLib.models.packages import open_package
from FLRSegmentationLib.models.plan_check import LAYER_NAMES, NETWORKS, check_stage_plans
from FLRSegmentationLib.vocabulary.stages import STAGES

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NAMES = st.sampled_from(["os.system", "builtins.exec", "subprocess.Popen", "torch.nn.Conv3d", "torch.nn.LeakyReLU",
                         "torch.nn.modules.dropout.Dropout3d", "dynamic_network_architectures.architectures.unet."
                         "PlainConvUNet", "DefaultPreprocessor", "../x", "*", ""])
SCALARS = (st.none() | st.booleans() | st.integers(-5, 10 ** 12) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | NAMES)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8) | NAMES,
                                                                                         inner, max_size=4),
                    max_leaves=12)
ALLOWED_LOCATIONS = set(NETWORKS) | {name for names in LAYER_NAMES.values() for name in names}


@pytest.fixture(scope="module")
def liver_plans(demo_package):
    with zipfile.ZipFile(demo_package / "liver.zip") as zf:
        name = next(n for n in zf.namelist() if n.endswith("plans.json"))
        return json.loads(zf.read(name))


def mutate(document: dict, path: list, value):
    """document with the value at `path` (keys into nested dicts, made where missing) replaced."""
    target = document
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    return document


ARCH = ["configurations", "3d_fullres", "architecture"]
PLAN_PATHS = st.sampled_from(
    [ARCH + ["network_class_name"], ARCH + ["_kw_requires_import"], ARCH + ["arch_kwargs"]]
    + [ARCH + ["arch_kwargs", k] for k in ("n_stages", "features_per_stage", "conv_op", "kernel_sizes", "strides",
                                           "norm_op", "norm_op_kwargs", "dropout_op", "dropout_op_kwargs", "nonlin",
                                           "nonlin_kwargs", "block", "extra")]
    + [["configurations", "3d_fullres", k] for k in ("patch_size", "spacing", "preprocessor_name",
                                                     "normalization_schemes", "resampling_fn_data",
                                                     "resampling_fn_data_kwargs", "inherits_from")]
    + [["configurations"], ["label_manager"], ["image_reader_writer"]])


@settings(max_examples=150, **SETTINGS)
@given(changes=st.lists(st.tuples(PLAN_PATHS, JSON), min_size=1, max_size=3))
def test_random_plans_are_refused_cleanly_or_locate_only_allowed_names(liver_plans, monkeypatch, changes):
    plans = json.loads(json.dumps(liver_plans))
    for path, value in changes:
        mutate(plans, list(path), value)
    try:
        check_stage_plans(plans, "3d_fullres", "nnUNetTrainerFLRDemo", "test")
    except ModelError:
        return
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    located = []
    real_locate = pydoc.locate
    monkeypatch.setattr(pydoc, "locate", lambda name, *a: located.append(name) or real_locate(name, *a))
    with torch.device("meta"):  # nothing allocated, whatever the sizes
        try:
            manager = PlansManager(plans)
            build_plain_network(manager, manager.get_configuration("3d_fullres"), 1, 2)
        except (TypeError, ValueError, AssertionError, IndexError, RuntimeError, KeyError):
            pass  # the hyper-parameters do not fit each other: a refusal by the network, never a call of code
    assert set(located) <= ALLOWED_LOCATIONS, located


@pytest.fixture(scope="module")
def package_copy(demo_package, tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop") / "pkg"
    shutil.copytree(demo_package, folder)
    return folder


MANIFEST_PATHS = st.sampled_from(
    [[k] for k in ("id", "version", "strategies", "stages", "files", "demo")]
    + [["strategies", "cascade"], ["strategies", "e2e"], ["stages", "liver"], ["files", "liver.zip"],
       ["files", "../x"], ["files", "/etc/passwd"]]
    + [["stages", "liver", k] for k in ("file", "trainer", "plans", "configuration", "folds", "checkpoint",
                                        "input_channels", "labels")])


@settings(max_examples=60, **SETTINGS)
@given(changes=st.lists(st.tuples(MANIFEST_PATHS, JSON), min_size=1, max_size=3))
def test_random_manifests_are_refused_cleanly_and_write_only_into_the_unpack_folder(package_copy, tmp_path,
                                                                                    demo_package, changes):
    manifest = json.loads((demo_package / "manifest.json").read_text())
    for path, value in changes:
        mutate(manifest, list(path), value)
    (package_copy / "manifest.json").write_text(json.dumps(manifest))
    before = sorted(p.name for p in package_copy.parent.iterdir())
    unpack = package_copy.parent / "unpack"
    try:
        package = open_package(package_copy, unpack)
        stages = package.manifest["stages"]
        for name in (n for n in STAGES if n in stages and n == "liver"):
            package.stage(name, unpack)
    except ModelError:
        pass
    finally:
        shutil.rmtree(unpack, ignore_errors=True)
    assert sorted(p.name for p in package_copy.parent.iterdir()) == before
    assert sorted(p.name for p in package_copy.iterdir()) == sorted(p.name for p in demo_package.iterdir())


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32) | st.sampled_from([0.0, -1.0, 1e-30, 1e30])


@settings(max_examples=300, **SETTINGS)
@given(spacing=st.lists(FLOATS, min_size=3, max_size=3), direction=st.lists(FLOATS, min_size=9, max_size=9))
def test_random_geometry_is_refused_or_sane(spacing, direction):
    try:
        check_geometry(spacing, direction, "image")
    except InputError:
        return
    assert all(math.isfinite(s) and s > 0 for s in spacing)
    matrix = np.reshape(direction, (3, 3))
    assert np.allclose(matrix.T @ matrix, np.eye(3), atol=1e-3)


@settings(max_examples=25, **SETTINGS)
@given(spacing=st.lists(FLOATS.map(lambda v: f"{v:g}"), min_size=3, max_size=3),
       shear=st.sampled_from([0.0, 0.0, 0.3]))
def test_volumetry_of_random_headers_exits_0_or_2_and_writes_only_its_output(tmp_path_factory, spacing, shear):
    work = tmp_path_factory.mktemp("vol")
    label = work / "lab.mha"
    label.write_text(f"ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_UCHAR\nElementSpacing = "
                     f"{' '.join(spacing)}\nTransformMatrix = 1 0 0 {shear} 1 0 0 0 1\nElementDataFile = LOCAL\n")
    with open(label, "ab") as f:
        f.write(bytes([1] * 64))
    (work / "out").mkdir()
    code = main(["volumetry", str(label), "--json", str(work / "out" / "r.json")])
    assert code in (0, 2)
    assert sorted(p.name for p in work.iterdir()) == ["lab.mha", "out"]
    assert [p.name for p in (work / "out").iterdir()] == (["r.json"] if code == 0 else [])
