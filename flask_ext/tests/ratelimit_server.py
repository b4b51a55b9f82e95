"""The test host in a web process of its own, for tests/test_ratelimit.py.

``python ratelimit_server.py DATABASE_URL STORAGE_URI KEY_PREFIX LIMIT``
serves the test host (:func:`conftest.make_app`) on a free loopback port,
its portal limited to LIMIT messages an hour counted in STORAGE_URI, and
prints the port on the first line of its output.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from conftest import make_app
from werkzeug.serving import make_server

from casekit.testing import make_kit


def main(database_url: str, storage_uri: str, prefix: str, limit: str) -> None:
    with tempfile.TemporaryDirectory() as attachments:
        kit = make_kit(database_url, attachment_dir=Path(attachments), create_schema=False)
        app = make_app(
            kit,
            WTF_CSRF_ENABLED=False,
            CASEKIT_API=False,  # the portal is what these tests send to
            CASEKIT_PORTAL_RATE_LIMIT=int(limit),
            CASEKIT_RATE_LIMIT_STORAGE_URI=storage_uri,
            CASEKIT_RATE_LIMIT_KEY_PREFIX=prefix,
        )
        server = make_server("127.0.0.1", 0, app)
        print(server.port, flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
