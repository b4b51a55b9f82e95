"""The Flask-Login example host works as its docstring says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask_login_host.py"


def load_example():
    spec = importlib.util.spec_from_file_location("flask_login_host", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_flask_login_host_gives_casekit_its_actor(kit):
    example = load_example()
    app = example.create_app(kit, example.example_accounts(kit))
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.get("/cases/").status_code == 401
    assert client.get("/login/ann@shop.test").status_code == 302
    assert client.get("/cases/").status_code == 200
    opened = client.post("/cases/new", data={"type": "lost", "message": "hello"})
    assert opened.status_code == 302
    client.get("/login/cy@example.test")
    assert client.get("/cases/").status_code == 404
    assert client.get("/my-account/cases/").status_code == 200
