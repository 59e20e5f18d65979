"""Model packages: manifest checks, sha256, safe extraction, registry, channel contract."""

import json
import shutil
import zipfile

import pytest

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models.packages import open_package, resolve_model, safe_extract, sha256_file


def copy_package(src, tmp_path):
    dst = tmp_path / "pkg"
    shutil.copytree(src, dst)
    return dst


def edit_manifest(folder, change):
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_demo_package_opens_and_every_stage_unpacks(demo_package, tmp_path):
    package = open_package(demo_package, tmp_path)
    assert package.is_demo and "NOT FOR CLINICAL USE" in package.manifest["intended_use"]
    assert "not for clinical use" in package.label()
    assert package.strategy_stages("cascade") == ["liver", "crlm", "flr"]
    assert package.strategy_stages("e2e") == ["e2e"]
    for name in ("liver", "crlm", "flr", "e2e"):
        stage = package.stage(name, tmp_path / "unpacked")
        assert (stage.folder / "plans.json").is_file() and stage.folds == ("all",)
    for rel, digest in package.manifest["files"].items():
        assert sha256_file(demo_package / rel) == digest


def test_registry_id_and_zip_resolve(demo_package, tmp_path):
    assert resolve_model("demo-phantom", tmp_path / "a").id == "demo-phantom"
    archive = shutil.make_archive(str(tmp_path / "demo"), "zip", demo_package)
    assert resolve_model(archive, tmp_path / "b").manifest["files"] == open_package(demo_package, tmp_path).manifest["files"]
    with pytest.raises(ModelError, match="unknown model id 'nope'.*demo-phantom"):
        resolve_model("nope", tmp_path)


def test_altered_file_fails_its_checksum(demo_package, tmp_path):
    pkg = copy_package(demo_package, tmp_path)
    with open(pkg / "crlm.zip", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(ModelError, match="crlm.zip' fails its sha256 check"):
        open_package(pkg, tmp_path)


def test_folder_without_manifest_or_with_incomplete_manifest_is_refused(demo_package, tmp_path):
    with pytest.raises(ModelError, match="not a model package"):
        open_package(tmp_path, tmp_path)
    pkg = copy_package(demo_package, tmp_path)
    edit_manifest(pkg, lambda m: m.pop("license"))
    with pytest.raises(ModelError, match="lacks license"):
        open_package(pkg, tmp_path)


def test_stage_whose_channels_do_not_match_is_refused(demo_package, tmp_path):
    pkg = copy_package(demo_package, tmp_path)
    edit_manifest(pkg, lambda m: m["stages"]["crlm"].update(input_channels=["CT"]))
    package = open_package(pkg, tmp_path)
    with pytest.raises(ModelError, match="stage 'crlm' expects input channels \\['CT'\\]"):
        package.stage("crlm", tmp_path / "unpacked")


@pytest.mark.parametrize("entry", ["../escape.txt", "/tmp/flrseg-absolute-escape.txt", "a/../../escape.txt"])
def test_zip_entries_outside_the_target_are_refused(tmp_path, entry):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr(zipfile.ZipInfo(entry), "escaped")
    target = tmp_path / "target"
    with pytest.raises(ModelError, match="outside the model folder"):
        safe_extract(archive, target)
    assert not (tmp_path / "escape.txt").exists() and not list(tmp_path.glob("target/*"))


def test_symlink_entry_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ModelError, match="symbolic link"):
        safe_extract(archive, tmp_path / "t")


def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a valid zip"):
        safe_extract(bad, tmp_path / "t")
