"""The module's model manager on real files: install from folder or zip, verify, remove, download over localhost."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationModuleLib.model_manager import DEMO_LABEL, ModelManager
from package_folders import make_package, set_entry, zip_folder


def test_lists_registry_models_with_their_state(manager):
    demo, other = manager.models()
    assert (demo.id, demo.installed, demo.bundled, demo.demo) == ("demo", True, True, True)
    assert DEMO_LABEL in demo.display_name()
    assert demo.strategies == {"cascade": ["liver", "crlm", "flr"]} and demo.size_bytes > 0
    assert (other.id, other.installed, other.size_bytes, other.version) == ("liver-test", False, 1234, "2.0.0")
    assert DEMO_LABEL not in other.display_name()


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_install_verifies_then_lists_as_installed(manager, tmp_path, as_zip):
    source = make_package(tmp_path / "liver-test")
    if as_zip:
        source = zip_folder(source, tmp_path / "liver-test.zip")
    info = manager.install(source)
    assert info.installed and info.path == manager.models_folder / "liver-test"
    assert (info.license, info.citation, info.strategies["cascade"]) == ("CC-BY-4.0", "Doe et al. 2026",
                                                                         ["liver", "crlm", "flr"])
    assert sorted(p.name for p in manager.models_folder.iterdir()) == ["liver-test"]  # no scratch left


def test_install_refuses_an_altered_package_and_keeps_nothing(manager, tmp_path):
    source = make_package(tmp_path / "liver-test")
    (source / "flr.zip").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="sha256"):
        manager.install(source)
    assert not manager.model("liver-test").installed
    assert list(manager.models_folder.iterdir()) == []


def test_install_refuses_a_zip_escaping_its_folder(manager, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../outside.txt", "x")
    with pytest.raises(ModelError, match="outside"):
        manager.install(archive)
    assert not (tmp_path / "outside.txt").exists() and not (manager.models_folder.parent / "outside.txt").exists()


def test_install_refuses_an_id_that_is_not_a_folder_name(manager, tmp_path):
    with pytest.raises(ModelError, match="folder name"):
        manager.install(make_package(tmp_path / "pkg", id="../escape"))


def test_remove_installed_but_not_bundled(manager, tmp_path):
    manager.install(make_package(tmp_path / "liver-test"))
    manager.remove("liver-test")
    assert not manager.model("liver-test").installed
    with pytest.raises(ModelError, match="ships with the extension"):
        manager.remove("demo")
    with pytest.raises(ModelError, match="not installed"):
        manager.remove("liver-test")


def test_download_checks_sha256_then_installs(manager, registry, tmp_path, http_folder):
    served, base = http_folder
    archive = zip_folder(make_package(tmp_path / "liver-test"), served / "liver-test.zip")
    set_entry(registry, url=f"{base}/liver-test.zip", sha256=hashlib.sha256(archive.read_bytes()).hexdigest())
    reports = []
    info = manager.download("liver-test", lambda done, total: reports.append((done, total)))
    assert info.installed
    assert reports[-1] == (archive.stat().st_size, archive.stat().st_size)


def test_download_with_wrong_sha256_is_refused(manager, registry, tmp_path, http_folder):
    served, base = http_folder
    zip_folder(make_package(tmp_path / "liver-test"), served / "liver-test.zip")
    set_entry(registry, url=f"{base}/liver-test.zip", sha256="ab" * 32)
    with pytest.raises(ModelError, match="sha256"):
        manager.download("liver-test")
    assert not manager.model("liver-test").installed
    assert list(manager.models_folder.iterdir()) == []


def test_download_failure_says_to_install_from_file(manager, registry, http_folder):
    _, base = http_folder
    set_entry(registry, url=f"{base}/missing.zip")
    with pytest.raises(ModelError, match="Install from file"):
        manager.download("liver-test")


def test_bundled_demo_package_is_listed_from_the_repository_registry():
    repo_registry = Path(__file__).resolve().parents[3] / "Models" / "registry.json"
    manager = ModelManager(repo_registry, Path("/nonexistent-models-folder"))
    demo = manager.model("demo-phantom")
    assert demo.demo and DEMO_LABEL in demo.display_name()
    assert set(demo.strategies) == {"cascade", "e2e"}
