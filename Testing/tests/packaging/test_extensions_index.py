"""The Extensions Index entry passes the index's own checks, re-implemented here from its
scripts/check_description_files.py (github.com/Slicer/ExtensionsIndex, main, commit 43753a55) and the entry schema
Schemas/slicer-extension-catalog-entry-schema-v1.0.1.json (Slicer v5.10.0). The checks that need the network
(downloading the icon and screenshots, the repository's GitHub topics) are replaced by checking that each URL
names a file of this checkout in the repository and revision the entry names.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.parse
from pathlib import Path

from slicer_sources import (ENTRY_SCHEMA_REQUIRED, ENTRY_SCHEMA_TYPES, INDEX_CATEGORIES, INDEX_EXTENSIONS,
                            INDEX_LICENSE_FILES, INDEX_REPOSITORY_PREFIXES, INDEX_SCM_SCHEMES, INDEX_SIZE_LIMIT_MB)

REPO = Path(__file__).resolve().parents[3]
ENTRY_FILE = REPO / "FLRSegmentation.json"
EXTENSION_NAME = ENTRY_FILE.stem  # the index names an extension by its description file


def entry() -> dict:
    return json.loads(ENTRY_FILE.read_text())


def cmake_setting(name: str) -> str:
    """A `set(NAME "value")` of the top-level CMakeLists.txt, found the way check_cmakelists_content finds it."""
    found = re.findall(rf'set\s*\({name}\s*"([^"]+)"\s*\)', (REPO / "CMakeLists.txt").read_text(), re.IGNORECASE)
    assert found, f"no {name} in CMakeLists.txt"
    return found[0].strip()


def repository_name(scm_url: str) -> str:
    """check_git_repository_name's reading of scm_url."""
    url = scm_url.strip().strip("/")
    return os.path.splitext(urllib.parse.urlsplit(url).path.split("/")[-1])[0]


def test_extension_name_does_not_start_with_slicer():
    assert not EXTENSION_NAME.lower().startswith("slicer")


def test_repository_name_starts_with_slicer():
    name = repository_name(entry()["scm_url"])
    assert name.startswith(INDEX_REPOSITORY_PREFIXES), f"the index refuses a repository named '{name}'"
    assert name == "SlicerFLRSegmentation"


def test_category_and_scm_url_syntax():
    description = entry()
    assert description["category"] in INDEX_CATEGORIES
    assert "://" in description["scm_url"]
    assert urllib.parse.urlsplit(description["scm_url"]).scheme in INDEX_SCM_SCHEMES


def test_entry_matches_the_schema():
    description = entry()
    assert ENTRY_SCHEMA_REQUIRED <= set(description)
    assert set(description) <= set(ENTRY_SCHEMA_TYPES), "additionalProperties is false"
    for key, value in description.items():
        assert type(value) is ENTRY_SCHEMA_TYPES[key], key
    assert all(isinstance(item, str) for item in description.get("build_dependencies", []))
    assert 1 <= description.get("tier", 1) <= 5
    assert description["$schema"].split("#")[0].endswith("/Schemas/slicer-extension-catalog-entry-schema-v1.0.1.json")


def test_build_dependencies_are_extensions_of_the_index():
    assert set(entry()["build_dependencies"]) <= INDEX_EXTENSIONS


def test_json_has_lf_line_endings_only():
    assert b"\r" not in ENTRY_FILE.read_bytes()


def test_cmake_project_is_the_extension_name():
    matches = re.findall(r"project\s*\(\s*([^\s\)\n\r]+)", (REPO / "CMakeLists.txt").read_text(),
                         re.IGNORECASE | re.MULTILINE)
    assert matches and matches[0].strip("\"'") == EXTENSION_NAME


def test_homepage_icon_and_screenshots_are_files_of_the_published_repository():
    description = entry()
    repository = description["scm_url"].removesuffix(".git")
    assert cmake_setting("EXTENSION_HOMEPAGE") == repository
    owner_and_name = urllib.parse.urlsplit(repository).path.strip("/")
    raw = f"https://raw.githubusercontent.com/{owner_and_name}/{description['scm_revision']}/"
    urls = [cmake_setting("EXTENSION_ICONURL"), *cmake_setting("EXTENSION_SCREENSHOTURLS").split()]
    for url in urls:
        assert url.startswith(raw), f"{url} is not in {raw}"
        path = REPO / url.removeprefix(raw)
        assert path.is_file() and path.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif"), url


def test_license_file_and_repository_size():
    assert any((REPO / name).is_file() for name in INDEX_LICENSE_FILES)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    size = sum((REPO / name).stat().st_size for name in tracked.decode().split("\0") if (REPO / name).is_file())
    assert size < INDEX_SIZE_LIMIT_MB * 1024 * 1024


def test_readme_names_the_published_repository():
    assert "SlicerFLRSegmentation" in (REPO / "README.md").read_text()
