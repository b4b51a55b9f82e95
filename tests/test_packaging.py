"""What each distribution ships: its sdist and wheel, built as a release builds them.

Every distribution of this repository (the engine, casekit-flask, the adapters
and the plugins) is built once per session with ``python -m build
--no-isolation`` (an sdist, then the wheel from that sdist), offline, with the
``build`` and ``hatchling`` of the test environment. Each must ship the MIT
LICENSE in both, valid core metadata (a license expression, the project URLs,
classifiers), ``py.typed``, one version that is its package's ``__version__``,
and only its own files.
"""

from __future__ import annotations

import ast
import configparser
import fcntl
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from packaging.metadata import Metadata
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent

#: Each distribution: its folder and the one import package it ships.
DISTRIBUTIONS: dict[str, tuple[Path, str]] = {
    "casekit": (ROOT, "casekit"),
    "casekit-flask": (ROOT / "flask_ext", "casekit_flask"),
    "casekit-orderfeed": (ROOT / "adapters" / "casekit-orderfeed", "casekit_orderfeed"),
    "casekit-shopify": (ROOT / "adapters" / "casekit-shopify", "casekit_shopify"),
    "casekit-carrier-events": (
        ROOT / "adapters" / "casekit-carrier-events",
        "casekit_carrier_events",
    ),
    "casekit-crm-http": (ROOT / "plugins" / "casekit-crm-http", "casekit_crm_http"),
    "casekit-celery": (ROOT / "plugins" / "casekit-celery", "casekit_celery"),
    "casekit-plugin-example": (
        ROOT / "plugins" / "casekit-plugin-example",
        "casekit_plugin_example",
    ),
}

#: The first hatchling that writes core metadata 2.4, the first version with
#: License-Expression and License-File (older ones write the expression into
#: metadata 2.1 or 2.3, which is invalid and refused by PyPI).
HATCHLING_FLOOR = Version("1.27")

COPYRIGHT = "Copyright (c) 2026 The casekit developers"


@dataclass(frozen=True)
class Built:
    """One distribution's folder, package, and the sdist and wheel built from it."""

    name: str
    folder: Path
    package: str
    sdist: Path
    wheel: Path

    def sdist_files(self) -> dict[str, bytes]:
        """The sdist's files by path, without the top folder (``casekit-0.1.0/``)."""
        files: dict[str, bytes] = {}
        with tarfile.open(self.sdist) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    path = PurePosixPath(member.name)
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    files[str(PurePosixPath(*path.parts[1:]))] = extracted.read()
        return files

    def wheel_files(self) -> dict[str, bytes]:
        with zipfile.ZipFile(self.wheel) as wheel:
            return {name: wheel.read(name) for name in wheel.namelist()}

    def dist_info(self) -> str:
        [info] = {n.split("/")[0] for n in self.wheel_files() if ".dist-info/" in n}
        return info

    def wheel_metadata(self) -> bytes:
        return self.wheel_files()[f"{self.dist_info()}/METADATA"]


def _build(name: str, out: Path) -> Built:
    folder, package = DISTRIBUTIONS[name]
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (
        f"building {name} failed (the test environment needs `build` and "
        f"`hatchling>={HATCHLING_FLOOR}` installed):\n{done.stdout}\n{done.stderr}"
    )
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return Built(name, folder, package, sdist, wheel)


@pytest.fixture(scope="session", params=list(DISTRIBUTIONS))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Each distribution, built once per run (1 to 2 s each on an idle machine).

    Under pytest-xdist the workers share the builds: the first to need one
    builds it while the others wait on its lock.
    """
    name = request.param
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    out = shared / f"dist-{name}"
    with (shared / f"dist-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "built").exists():
            shutil.rmtree(out, ignore_errors=True)
            result = _build(name, out)
            (out / "built").touch()
            return result
    folder, package = DISTRIBUTIONS[name]
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return Built(name, folder, package, sdist, wheel)


def _pyproject(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def _version_in(source: bytes) -> str:
    """The ``__version__ = "..."`` assigned in a module's source."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            assert isinstance(node.value, ast.Constant)
            return str(node.value.value)
    raise AssertionError("no __version__ assigned")


# --- the sources -------------------------------------------------------------


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_the_build_backend_floor_writes_valid_license_metadata(name):
    folder, _package = DISTRIBUTIONS[name]
    build_system = _pyproject(folder)["build-system"]
    assert build_system["build-backend"] == "hatchling.build"
    [requirement] = [r for r in build_system["requires"] if r.startswith("hatchling")]
    allowed = SpecifierSet(requirement.removeprefix("hatchling"))
    assert not allowed.contains("1.26.3"), (
        f"{name}: {requirement} allows a hatchling older than {HATCHLING_FLOOR}"
    )
    assert allowed.contains(str(HATCHLING_FLOOR))


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_the_version_is_written_in_one_place(name):
    """The package's ``__version__``; pyproject.toml reads it from there."""
    folder, package = DISTRIBUTIONS[name]
    project = _pyproject(folder)
    assert "version" not in project["project"], f"{name}: a version in pyproject.toml too"
    assert "version" in project["project"]["dynamic"]
    path = project["tool"]["hatch"]["version"]["path"]
    assert PurePosixPath(path).parts[-2:] == (package, "__init__.py")
    _version_in((folder / path).read_bytes())


def test_what_is_installed_is_the_version_its_package_says():
    """casekit, and each other distribution installed beside it (a development
    venv has them all, tox's ``py`` env casekit-orderfeed): a package changed
    without reinstalling its distribution shows here."""
    installed = {}
    for name, (_folder, package) in DISTRIBUTIONS.items():
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        assert installed[name] == importlib.import_module(package).__version__, name
    assert "casekit" in installed


# --- what is built -----------------------------------------------------------


def test_both_carry_the_mit_license(built):
    sdist, wheel = built.sdist_files(), built.wheel_files()
    assert "LICENSE" in sdist, f"{built.name}: no LICENSE in the sdist"
    assert f"{built.dist_info()}/licenses/LICENSE" in wheel, f"{built.name}: none in the wheel"
    for text in (sdist["LICENSE"], wheel[f"{built.dist_info()}/licenses/LICENSE"]):
        assert text.decode().startswith("MIT License\n")
        assert COPYRIGHT in text.decode()
    assert (built.folder / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()


def test_the_metadata_is_valid_and_complete(built):
    """What ``twine check`` and PyPI look at, validated by ``packaging``."""
    sdist_info = built.sdist_files()["PKG-INFO"]
    for raw in (built.wheel_metadata(), sdist_info):
        meta = Metadata.from_email(raw, validate=True)
        assert meta.name == built.name
        assert Version(meta.metadata_version) >= Version("2.4")
        assert str(meta.license_expression) == "MIT"
        assert meta.license_files == ["LICENSE"]
        assert meta.license is None
        assert not [c for c in meta.classifiers or [] if c.startswith("License ::")], (
            "a license classifier beside License-Expression (deprecated by PEP 639)"
        )
        urls = meta.project_urls or {}
        assert set(urls) >= {"Documentation", "Source", "Changelog"}, urls
        assert all(url.startswith("https://") for url in urls.values())
        assert meta.description_content_type == "text/markdown"
        assert meta.author == "The casekit developers"


def test_the_classifiers_say_what_it_is(built):
    from trove_classifiers import classifiers as known

    meta = Metadata.from_email(built.wheel_metadata(), validate=True)
    classifiers = meta.classifiers or []
    assert set(classifiers) <= known
    assert [c for c in classifiers if c.startswith("Development Status ::")]
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    pythons = [
        c.rsplit(" ", 1)[1]
        for c in classifiers
        if c.startswith("Programming Language :: Python :: 3.")
    ]
    assert pythons, "no Python version classifier"
    assert meta.requires_python is not None
    assert all(meta.requires_python.contains(v) for v in pythons)
    assert ("Framework :: Flask" in classifiers) == (built.name == "casekit-flask")


def test_the_wheel_is_typed_and_holds_its_package_only(built):
    wheel = built.wheel_files()
    assert f"{built.package}/py.typed" in wheel
    tops = {name.split("/")[0] for name in wheel}
    assert tops == {built.package, built.dist_info()}


def test_the_version_is_the_packages(built):
    meta = Metadata.from_email(built.wheel_metadata(), validate=True)
    in_wheel = _version_in(built.wheel_files()[f"{built.package}/__init__.py"])
    assert str(meta.version) == in_wheel
    assert built.dist_info() == f"{built.package}-{in_wheel}.dist-info"
    assert built.sdist.name == f"{built.package}-{in_wheel}.tar.gz"


def test_a_plugin_is_found_by_its_entry_point(built):
    """Every distribution but the engine registers in the ``casekit`` group."""
    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.optionxform = str  # type: ignore[assignment,method-assign]
    entry_points.read_string(
        built.wheel_files().get(f"{built.dist_info()}/entry_points.txt", b"").decode()
    )
    if built.name == "casekit":
        assert dict(entry_points["console_scripts"]) == {"casekit": "casekit.cli:main"}
        assert not entry_points.has_section("casekit")
    else:
        [(_name, target)] = entry_points["casekit"].items()
        assert target.split(":")[0].split(".")[0] == built.package


def test_the_sdist_holds_its_own_files_only(built):
    """No other distribution's files, no build output, nothing outside its folder."""
    others = [f for f, _p in DISTRIBUTIONS.values() if f.is_relative_to(built.folder)]
    others.remove(built.folder)
    not_shipped = {".ci", "docs", "benchmarks", "dist", "build"}
    files = built.sdist_files()
    assert "pyproject.toml" in files
    assert "README.md" in files
    assert any(f.startswith("tests/test_") for f in files), f"{built.name}: its tests are missing"
    # hatchling writes the repository's .gitignore beside PKG-INFO.
    assert files.pop(".gitignore", b"") in {b"", (ROOT / ".gitignore").read_bytes()}
    files.pop("PKG-INFO")
    strays = [
        path
        for path in files
        if not (built.folder / path).is_file()
        or any((built.folder / path).is_relative_to(other) for other in others)
        or PurePosixPath(path).parts[0] in not_shipped
    ]
    assert strays == [], f"{built.name}'s sdist holds files that are not its own: {strays[:10]}"


def test_every_distribution_in_the_repository_is_built_here():
    """A new distribution's folder gets these checks (add it to DISTRIBUTIONS)."""
    folders = {p.parent for p in ROOT.glob("pyproject.toml")}
    folders |= {p.parent for p in ROOT.glob("flask_ext/pyproject.toml")}
    folders |= {p.parent for p in ROOT.glob("adapters/*/pyproject.toml")}
    folders |= {p.parent for p in ROOT.glob("plugins/*/pyproject.toml")}
    assert folders == {folder for folder, _package in DISTRIBUTIONS.values()}
    for name, (folder, _package) in DISTRIBUTIONS.items():
        assert _pyproject(folder)["project"]["name"] == name


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_the_readme_table_names_each_distribution_and_its_install(name):
    folder, _package = DISTRIBUTIONS[name]
    where = "." if folder == ROOT else f"{folder.relative_to(ROOT).as_posix()}/"
    install = "." if folder == ROOT else f"./{folder.relative_to(ROOT).as_posix()}"
    rows = [
        line
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `{where}` | `{name}` |")
    ]
    assert len(rows) == 1, f"README.md's table of distributions has no row for {name}"
    assert rows[0].endswith(f"| `pip install {install}` |")
