"""casekit checks the CSRF tokens of its own forms and leaves the host's routes alone,
whatever the host's Flask-WTF setup."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import ACTOR_KEY, login
from flask import Flask, jsonify, request, session
from flask_wtf.csrf import CSRFProtect, generate_csrf

from casekit import Actor, CaseKit
from casekit_flask import CaseKitFlask
from casekit_flask.demo import create_demo_app

#: The host's own CSRF setup: none, Flask-WTF's CSRFProtect before casekit's
#: init_app, or after it.
HOST_SETUPS = ("no CSRFProtect", "CSRFProtect first", "CSRFProtect after")


def host_app(kit: CaseKit, setup: str, check_default: bool) -> Flask:
    """A host with a form sign-in and a JSON endpoint of its own, and casekit's pages."""
    app = Flask("csrf_host")
    app.config.update(SECRET_KEY="test", TESTING=True, WTF_CSRF_CHECK_DEFAULT=check_default)
    if setup == "CSRFProtect first":
        CSRFProtect(app)

    @app.post("/login")
    def host_login() -> Any:
        return f"hello {request.form.get('name')}"

    @app.post("/host-api/orders")
    def host_json() -> Any:
        return jsonify(received=request.get_json())

    @app.get("/host-token")
    def host_token() -> Any:
        return generate_csrf()

    def load() -> Actor | None:
        from casekit.domain.actor import ActorKind

        raw = session.get(ACTOR_KEY)
        if raw is None:
            return None
        return Actor(
            ActorKind(raw["kind"]),
            user_id=raw["user_id"],
            customer_id=raw["customer_id"],
            org_id=raw["org_id"],
            is_manager=raw["is_manager"],
        )

    CaseKitFlask(app, kit=kit, identity_loader=load)
    if setup == "CSRFProtect after":
        CSRFProtect(app)
    return app


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


@pytest.mark.parametrize("check_default", [True, False], ids=["check default", "no check default"])
@pytest.mark.parametrize("setup", HOST_SETUPS)
def test_the_hosts_routes_keep_the_hosts_own_protection(kit, setup, check_default):
    client = host_app(kit, setup, check_default).test_client()
    host_protects = setup != "no CSRFProtect" and check_default
    form = client.post("/login", data={"name": "ada"})
    as_json = client.post("/host-api/orders", json={"order": 7})
    if host_protects:
        assert (form.status_code, as_json.status_code) == (400, 400)
        token = client.get("/host-token").data.decode()
        form = client.post("/login", data={"name": "ada", "csrf_token": token})
        as_json = client.post("/host-api/orders", json={"order": 7}, headers={"X-CSRFToken": token})
    assert (form.status_code, form.data) == (200, b"hello ada")
    assert (as_json.status_code, as_json.json) == (200, {"received": {"order": 7}})


@pytest.mark.parametrize("check_default", [True, False], ids=["check default", "no check default"])
@pytest.mark.parametrize("setup", HOST_SETUPS)
def test_casekit_forms_need_a_valid_token(kit, world, setup, check_default):
    client = host_app(kit, setup, check_default).test_client()
    login(client, world.shipper_actor)
    refused = client.post("/cases/new", data={"type": "lost"})
    assert refused.status_code == 400
    assert "The form expired" in refused.data.decode()
    forged = client.post("/cases/new", data={"type": "lost", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert "The form expired" in forged.data.decode()
    assert kit.views.list(world.shipper_actor, {"view": "all_cases"}).rows == ()
    token = form_token(client.get("/cases/new").data.decode())
    created = client.post("/cases/new", data={"type": "lost", "csrf_token": token})
    assert created.status_code == 302
    assert len(kit.views.list(world.shipper_actor, {"view": "all_cases"}).rows) == 1


@pytest.mark.parametrize("setup", HOST_SETUPS)
def test_portal_and_dashboard_forms_need_a_valid_token(kit, world, setup):
    client = host_app(kit, setup, check_default=False).test_client()
    login(client, world.customer_actor)
    refused = client.post("/my-account/cases/feedback", data={"message": "Where is it?"})
    assert refused.status_code == 400
    assert "The form expired" in refused.data.decode()
    login(client, world.shipper_manager_actor)
    refused = client.post("/cases/dashboard/targets", data={"name": "x"})
    assert refused.status_code == 400
    assert "The form expired" in refused.data.decode()


@pytest.mark.parametrize("setup", HOST_SETUPS)
def test_the_api_and_the_webhook_keep_their_own_checks(kit, world, setup):
    app = host_app(kit, setup, check_default=True)
    client = app.test_client()
    # A session caller's change needs the token; refused as a problem document.
    login(client, world.shipper_actor)
    refused = client.post("/api/v1/cases", json={"type": "lost"})
    assert refused.status_code == 403
    assert refused.json["title"] == "CSRF token missing or invalid"
    token = form_token(client.get("/cases/new").data.decode())
    ok = client.post("/api/v1/cases", json={"type": "lost"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 201, ok.json
    # An API key needs none, even under the host's CSRFProtect.
    key = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="k", scope="write"
    )
    login(client, None)
    with_key = client.post(
        "/api/v1/cases", json={"type": "lost"}, headers={"Authorization": f"Bearer {key.token}"}
    )
    assert with_key.status_code == 201, with_key.json
    # The inbound webhook is checked by its signature, not a token.
    unsigned = client.post("/casekit/inbound/mailgun/mime", data={"body-mime": "x"})
    assert unsigned.status_code == 403
    assert unsigned.json == {"error": "signature: missing, wrong or too old"}


def test_the_demo_forms_need_a_valid_token(tmp_path):
    app = create_demo_app(tmp_path, shipments=12, deliver=False)
    try:
        client = app.test_client()
        refused = client.post("/demo/identity", data={"identity": "morgan"})
        assert refused.status_code == 400
        assert "The form expired" in refused.data.decode()
        assert client.get("/cases/").status_code == 401
        token = form_token(client.get("/").data.decode())
        client.post("/demo/identity", data={"identity": "morgan", "csrf_token": token})
        assert client.get("/cases/").status_code == 200
    finally:
        app.extensions["casekit"].kit.close()
