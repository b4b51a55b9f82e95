"""The extension itself: config keys, app factories, identity, CSRF, rendering."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from conftest import login, make_app
from flask import Flask

from casekit.errors import ConfigurationError
from casekit_flask import DEFAULTS, CaseKitFlask
from casekit_flask.redirects import same_site_path
from casekit_flask.rendering import render_body, when


def test_init_app_keeps_state_per_app_and_reads_the_prefixes(kit):
    ext = CaseKitFlask(kit=kit, identity_loader=lambda: None)
    first, second = Flask("one"), Flask("two")
    first.secret_key = second.secret_key = "test"
    second.config["CASEKIT_STAFF_URL_PREFIX"] = "/support"
    ext.init_app(first)
    ext.init_app(second)
    assert first.extensions["casekit"].kit is kit
    assert first.extensions["casekit"] is not second.extensions["casekit"]
    assert "csrf" not in first.extensions  # the host's CSRF setup stays the host's
    assert second.test_client().get("/support/").status_code == 401
    assert second.test_client().get("/cases/").status_code == 404
    for key in DEFAULTS:
        assert key in first.config


def test_without_a_kit_one_is_built_from_the_database_url(tmp_path):
    # Without any, the app's instance folder holds it (test_config.py).
    app = Flask("y")
    app.secret_key = "test"
    app.config["CASEKIT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    CaseKitFlask(app, identity_loader=lambda: None)
    assert str(app.extensions["casekit"].kit.engine.url).endswith("c.sqlite3")
    app.extensions["casekit"].kit.close()


def test_a_missing_identity_loader_stops_the_app_at_start_up(kit):
    app = Flask("z")
    app.secret_key = "test"
    with pytest.raises(ConfigurationError, match=r"@casekit_flask\.identity_loader"):
        CaseKitFlask(app, kit=kit)
    assert "casekit" not in app.extensions
    assert not app.blueprints  # nothing half set up


@pytest.mark.parametrize("secret_key", [None, ""])
def test_a_missing_secret_key_stops_the_app_at_start_up(kit, secret_key):
    app = Flask("no_secret")
    app.config["SECRET_KEY"] = secret_key
    with pytest.raises(ConfigurationError, match=r"app\.config\[\"SECRET_KEY\"\]"):
        CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    assert "casekit" not in app.extensions
    assert not app.blueprints


def test_blueprints_can_be_mounted_by_the_host(kit):
    from casekit_flask.portal import portal
    from casekit_flask.staff import staff

    app = Flask("host")
    app.secret_key = "test"
    app.config["CASEKIT_REGISTER_BLUEPRINTS"] = False
    CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    app.register_blueprint(staff, url_prefix="/ops/cases")
    app.register_blueprint(portal, url_prefix="/account/feedback")
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/ops/cases/" in rules
    assert "/account/feedback/" in rules


def test_anonymous_visitors_go_to_the_login_url(kit):
    app = make_app(kit, CASEKIT_LOGIN_URL="/login")
    response = app.test_client().get("/cases/?view=new_cases")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fcases%2F%3Fview%3Dnew_cases"


def test_a_filtered_list_survives_the_sign_in_encoded(kit):
    app = make_app(kit, CASEKIT_LOGIN_URL="/login?site=ops")
    wanted = "/cases/?view=all_cases&status=open&status=waiting&destination_name=A%26B+Co&x=%3F"
    location = app.test_client().get(wanted).headers["Location"]
    login, _, query = location.partition("?")
    assert login == "/login"
    assert parse_qs(query) == {"site": ["ops"], "next": [wanted]}


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "https://evil.example/",
        "HTTPS:evil.example",
        "javascript:alert(1)",
        " /cases/",
        "/cases/\x00",
        "/cases/\u200b",
        "cases/",
        "",
    ],
)
def test_a_redirect_target_off_this_site_becomes_the_default(target):
    assert same_site_path(target, "/home") == "/home"


@pytest.mark.parametrize(
    "target", ["/", "/cases/", "/cases/?view=new_cases&status=open", "/cases/CV-1#timeline-end"]
)
def test_a_same_site_path_is_kept(target):
    assert same_site_path(target) == target


def test_forms_without_the_csrf_token_are_refused(kit, world):
    app = make_app(kit)  # CSRF on, as in production
    client = app.test_client()
    login(client, world.shipper_actor)
    response = client.post("/cases/new", data={"type": "lost"})
    assert response.status_code == 400
    assert "The form expired" in response.data.decode()
    page = client.get("/cases/new").data.decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    ok = client.post("/cases/new", data={"type": "lost", "csrf_token": token})
    assert ok.status_code == 302


def test_templates_are_the_hosts_to_override(kit, world, tmp_path):
    folder = tmp_path / "templates" / "casekit" / "staff"
    folder.mkdir(parents=True)
    (folder / "settings.html").write_text("HOST SETTINGS {{ organization.name }}")
    app = make_app(kit, WTF_CSRF_ENABLED=False)
    app.template_folder = str(tmp_path / "templates")
    client = app.test_client()
    login(client, world.shipper_actor)
    assert client.get("/cases/settings").data.decode() == "HOST SETTINGS Acme Goods"


def test_bodies_are_rendered_safely():
    html = str(render_body("Hi **there** <img src=x onerror=alert(1)> [x](javascript:alert(1))"))
    assert "<strong>there</strong>" in html
    assert "<img" not in html
    assert 'href="javascript' not in html
    assert (
        str(render_body("[site](https://example.test)")).count('rel="noopener noreferrer nofollow"')
        == 1
    )


def test_times_are_marked_up_for_the_browser():
    from datetime import UTC, datetime

    html = str(when(datetime(2026, 1, 5, 9, 30, tzinfo=UTC)))
    assert (
        html
        == '<time datetime="2026-01-05T09:30:00Z" data-style="datetime">2026-01-05 09:30 UTC</time>'
    )


def test_view_counts_are_cached_until_a_case_changes(kit, world):
    from casekit_flask.extension import CountsCache

    now = [0.0]
    cache = CountsCache(kit, 30, clock=lambda: now[0])
    me = world.shipper_actor
    assert cache.get(me)["all_active"] == 0
    kit.cases.open(me, type="lost")  # announced: the cache empties
    assert cache.get(me)["all_active"] == 1
    counted = cache.get(me)
    assert cache.get(me) is counted  # reused while fresh
    now[0] = 31
    assert cache.get(me) is not counted  # counted again once stale
    assert CountsCache(kit, 0).get(me)["all_active"] == 1


def test_the_cli_entry_point_does_not_import_flask():
    import subprocess
    import sys

    code = (
        "import sys, casekit_flask.cli; "
        "print('flask' in sys.modules, 'casekit_flask.extension' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_base_url_gives_the_mail_links_to_each_sides_pages(tmp_path):
    from casekit import CaseKit, Settings

    def kit_with(**settings):
        return CaseKit(
            settings=Settings(database_url=f"sqlite:///{tmp_path / 'k.sqlite3'}", **settings)
        )

    kit = kit_with()
    app = Flask("links")
    app.secret_key = "test"
    app.config.update(CASEKIT_BASE_URL="https://shop.example/", CASEKIT_PORTAL_URL_PREFIX="/me/")
    CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    assert kit.settings.case_url == "https://shop.example/cases/{number}"
    assert kit.settings.portal_case_url == "https://shop.example/me/{number}"
    kit.close()
    # A link the kit has already is kept; without a base URL nothing changes.
    kit = kit_with(portal_case_url="https://portal.example/c/{number}")
    app = Flask("kept")
    app.secret_key = "test"
    app.config["CASEKIT_BASE_URL"] = "http://localhost:5000"
    CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    assert kit.settings.case_url == "http://localhost:5000/cases/{number}"
    assert kit.settings.portal_case_url == "https://portal.example/c/{number}"
    kit.close()
    kit = kit_with()
    app = Flask("none")
    app.secret_key = "test"
    CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    assert (kit.settings.case_url, kit.settings.portal_case_url) == ("", "")
    for bad in ("shop.example", "/cases", "ftp://shop.example"):
        app = Flask("bad")
        app.secret_key = "test"
        app.config["CASEKIT_BASE_URL"] = bad
        with pytest.raises(ConfigurationError, match="CASEKIT_BASE_URL"):
            CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    kit.close()
