"""The client examples of docs/rest-api.rst, run against a served app over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from werkzeug.serving import make_server

from casekit import Actor

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def served(app, kit, world) -> Iterator[tuple[str, str]]:
    """The app on a loopback port, and a write key of the shipper."""
    token = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="client", scope="write"
    ).token
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/api/v1", token
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _only_case(kit):
    page = kit.views.list(Actor.host(), {"view": "all_cases"})
    assert len(page.rows) == 1
    return page.rows[0].number


def test_python_client_example(served, kit):
    base, token = served
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "rest_client.py"), base, token],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    number = _only_case(kit)
    lines = done.stdout.splitlines()
    assert lines[0] == f"opened {number} new api"
    assert lines[1] == "attached ['label.pdf']"
    assert "message partners Please check the depot." in lines
    entries = kit.cases.timeline(Actor.host(), number)
    files = [a.filename for e in entries for a in e.attachments]
    assert files == ["label.pdf"]


def test_curl_client_example(served, kit, tmp_path):
    base, token = served
    label = tmp_path / "label.pdf"
    label.write_bytes(b"%PDF-1.4 curl")
    done = subprocess.run(
        ["sh", str(EXAMPLES / "rest_client.sh"), base, token, str(label)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    number = _only_case(kit)
    assert done.stdout.startswith(f"opened {number}\nposted\n")
    assert '"filename":"label.pdf"' in done.stdout.replace(" ", "")
    entry = next(e for e in kit.cases.timeline(Actor.host(), number) if e.attachments)
    with kit.open_attachment(Actor.host(), number, entry.attachments[0].id)[1] as stream:
        assert stream.read() == b"%PDF-1.4 curl"


def test_service_levels_client_example(served, kit, world):
    """docs/service-levels.rst's client: the carrier's calendar and target, and the Friday
    16:55 case due on Monday 11:55 in New York."""
    base, shipper_token = served
    carrier_token = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="TMS", scope="write"
    ).token
    # Friday 4 December 2026, 16:55 in New York.
    friday = datetime(2026, 12, 4, 16, 55, tzinfo=ZoneInfo("America/New_York"))
    kit.clock.advance(friday - kit.clock.now())
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "service_levels_client.py"),
            base,
            shipper_token,
            carrier_token,
            str(world.carrier.id),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (EXAMPLES / "service_levels_client.out").read_text()
    (target,) = kit.service_levels.targets(world.carrier_manager_actor)
    assert target.first_response_seconds == 4 * 3600
    clock = kit.cases.get(world.carrier_manager_actor, _only_case(kit)).clocks[0]
    assert clock.due_at == datetime(2026, 12, 7, 16, 55, tzinfo=UTC)  # 11:55 in New York
