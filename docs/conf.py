"""Sphinx configuration for casekit's documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html``. Nothing is
fetched from the network: no intersphinx mappings, no remote assets.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import casekit  # noqa: E402

# Importing casekit.store.migrate for its reference imports Alembic, which
# announces its plugins at INFO level; keep the build output to what matters.
logging.getLogger("alembic").setLevel(logging.WARNING)

project = "casekit"
author = "The casekit developers"
copyright = "2026 The casekit developers"
release = casekit.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build", "examples/__pycache__"]
root_doc = "index"
# Every cross-reference must resolve, except to the standard library and
# third-party packages: without intersphinx (nothing is fetched at build
# time) they have no targets here.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(datetime|decimal|pathlib|collections\.abc|typing|io|email|random|blinker|sqlalchemy|pluggy|click|jinja2|_pytest|pytest|logging|prometheus_client)\..*",
    ),
    # prometheus-client's registry, named in casekit.metrics only for type checking.
    ("py:class", r"CollectorRegistry"),
    # A type variable of a signature, not a class to link to.
    ("py:class", r"casekit\.csvsafe\.T"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autoclass_content = "class"
python_maximum_signature_line_length = 88

html_theme = "furo"
html_title = f"casekit {release}"
html_show_sourcelink = False

CHANGELOG = ROOT / "CHANGELOG.md"


def _changelog(app: Any, docname: str, source: list[str]) -> None:
    """Fill changelog.rst with CHANGELOG.md, shown verbatim, when the file exists.

    The changelog is Markdown and this build has no Markdown parser, so it is
    included as a literal block: that never produces a warning, whatever the
    file holds.
    """
    if docname != "changelog":
        return
    if CHANGELOG.exists():
        body = (
            "The project's ``CHANGELOG.md``, as written:\n\n"
            ".. literalinclude:: ../CHANGELOG.md\n"
            "   :language: markdown\n"
        )
    else:
        body = "No ``CHANGELOG.md`` has been written yet.\n"
    source[0] = source[0].replace(".. casekit-changelog-body", body)


def _vocabulary(app: Any, docname: str, source: list[str]) -> None:
    """Fill vocabulary.rst with every vocabulary of :mod:`casekit.labels`, as tables."""
    if docname != "vocabulary":
        return
    from casekit.labels import FIELDS, VOCABULARIES

    def table(title: str, rows: Any, head: tuple[str, str] = ("Code", "Words")) -> str:
        lines = [f".. list-table:: {title}", "   :header-rows: 1", "", f"   * - {head[0]}"]
        lines.append(f"     - {head[1]}")
        for code, words in rows:
            lines += [f"   * - ``{code}``", f"     - {words}"]
        return "\n".join(lines) + "\n"

    parts = [table(f"``{name}``", words.items()) for name, words in VOCABULARIES.items()]
    parts.append(table("Form and wire fields", FIELDS.items(), ("Field", "Label")))
    source[0] = source[0].replace(".. casekit-vocabulary-body", "\n".join(parts))


def setup(app: Any) -> None:
    app.connect("source-read", _changelog)
    app.connect("source-read", _vocabulary)
