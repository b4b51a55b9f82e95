"""The REST API's contract: each operation's answers, headers and bad input."""

from __future__ import annotations

import base64
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from casekit import Actor, NotFound
from casekit.webhooks import standard_secret

PROBLEM = "application/problem+json"


@pytest.fixture
def token(kit, world) -> str:
    return kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="TMS", scope="write"
    ).token


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def number(client, auth) -> str:
    response = client.post(
        "/api/v1/cases",
        json={"type": "lost", "subject": "Late", "shipment": "SHP-1", "message": "Where?"},
        headers=auth,
    )
    assert response.status_code == 201, response.json
    return str(response.json["number"])


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.data[:400]
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["type"] == "about:blank"
    return body


def test_openapi_document_and_reference_page(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    assert {"/api/v1/cases", "/api/v1/cases/{number}", "/api/v1/cases/{number}/messages"} <= set(
        spec["paths"]
    )
    assert {"CaseCreate", "Case", "Entry", "Problem"} <= set(spec["components"]["schemas"])
    page = client.get("/api/v1/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/cases/{number}/timeline" in html
    assert 'id="schema-CaseCreate"' in html
    assert "http" not in html.replace("/api/v1/openapi.json", "").split("<main>")[0].lower()
    # Each code of an enum field is shown with casekit's words for it.
    assert "<code>reply_received</code> (Reply received)" in html
    assert "<code>solved</code> (Solved)" in html
    # Under the pages' strict CSP: its styles come from its own stylesheet, under the API.
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "<style" not in html
    assert "style=" not in html
    sheet = client.get("/api/v1/casekit-static/casekit/reference.css")
    assert sheet.status_code == 200
    assert "section.op" in sheet.get_data(as_text=True)
    sheet.close()


def test_open_read_and_etag(client, auth, kit, number):
    response = client.get(f"/api/v1/cases/{number}", headers=auth)
    assert response.status_code == 200
    case = response.json
    assert case["number"] == number
    assert case["source"] == "api"
    assert case["carrier_org_id"] is not None
    assert response.headers["ETag"] == f'"{case["version"]}"'
    assert kit.cases.get(Actor.host(), number).source == "api"


def test_open_answers_location(client, auth):
    response = client.post("/api/v1/cases", json={"type": "lost"}, headers=auth)
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/api/v1/cases/{response.json['number']}")


def test_list_views_filters_search_and_paging(client, auth, kit, world):
    numbers = []
    for i in range(1, 4):
        r = client.post(
            "/api/v1/cases", json={"type": "lost", "shipment": f"SHP-{i}"}, headers=auth
        )
        numbers.append(r.json["number"])
    first = client.get("/api/v1/cases?view=all_cases&limit=2", headers=auth).json
    assert [c["number"] for c in first["cases"]] == numbers[::-1][:2]
    second = client.get(
        f"/api/v1/cases?view=all_cases&limit=2&cursor={first['next_cursor']}", headers=auth
    ).json
    assert [c["number"] for c in second["cases"]] == [numbers[0]]
    assert second["next_cursor"] is None
    asc = client.get("/api/v1/cases?view=all_cases&sort=created_at&direction=asc", headers=auth)
    assert [c["number"] for c in asc.json["cases"]] == numbers
    found = client.get("/api/v1/cases?view=all_cases&search=1Z002", headers=auth).json
    assert [c["number"] for c in found["cases"]] == [numbers[1]]
    assert found["cases"][0]["snippet"] is None  # an identifier: no snippet
    # By its start, in any case, as q too; words with a snippet of where they matched.
    found = client.get("/api/v1/cases?view=all_cases&q=shp-2", headers=auth).json
    assert [c["number"] for c in found["cases"]] == [numbers[1]]
    client.post(
        f"/api/v1/cases/{numbers[0]}/messages", json={"body": "Pallet crushed"}, headers=auth
    )
    found = client.get("/api/v1/cases?search=crushed+pallets", headers=auth).json
    assert [c["number"] for c in found["cases"]] == [numbers[0]]
    assert found["cases"][0]["snippet"] == {
        "source": "message",
        "text": "Pallet crushed",
        "highlights": [[0, 6], [7, 14]],
    }
    brand = '[{"field": "brand", "op": "in", "value": ["Acme Trail"]}]'
    filtered = client.get(
        "/api/v1/cases", query_string={"view": "all_cases", "filters": brand}, headers=auth
    ).json
    assert [c["number"] for c in filtered["cases"]] == [numbers[1]]


def test_list_with_a_saved_view(client, kit, world, actors):
    from conftest import login

    kit.cases.open(world.shipper_actor, type="lost")
    kit.cases.open(world.shipper_actor, type="osd_damaged")
    saved = kit.views.save(
        actors["own_org"],
        "Damaged",
        {"view": "all_cases", "filters": [{"field": "type", "op": "in", "value": ["osd_damaged"]}]},
    )
    login(client, actors["own_org"])
    page = client.get(f"/api/v1/cases?saved_view={saved.id}").json
    assert [c["type"] for c in page["cases"]] == ["osd_damaged"]
    problem_of(client.get("/api/v1/cases?saved_view=99999"), 404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("view=nope", "view"),
        ("filters=notjson", "filters"),
        ('filters=[{"field":"brand","op":"gt","value":1}]', "filters.0.op"),
        ("limit=0", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("sort=password", "sort.field"),
        ("cursor=garbage", "cursor"),
        ("colour=red", "colour"),
    ],
)
def test_list_bad_arguments_name_the_field(client, auth, query, field):
    body = problem_of(client.get(f"/api/v1/cases?{query}", headers=auth), 400)
    assert field in body["errors"], body


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"type"}),
        ({"type": 3}, {"type"}),
        ({"type": "lost", "zz": 1}, {"zz"}),
        ({"type": "lost", "shipper": 10**30}, {"shipper"}),
        ({"type": "lost", "carrier": "x"}, {"carrier"}),
        ({"type": "nope"}, {"type"}),
        ({"type": "lost", "audience": "world"}, {"audience"}),
        ({"type": "lost", "subject": "x" * 1000}, {"subject"}),
        ([1, 2], {"_schema"}),
    ],
)
def test_open_bad_input_names_each_field(client, auth, kit, payload, fields):
    body = problem_of(client.post("/api/v1/cases", json=payload, headers=auth), 400)
    assert set(body["errors"]) == fields, body
    assert kit.views.count(Actor.host(), {"view": "all_cases"}) == 0


def test_malformed_json_is_a_400(client, auth):
    response = client.post(
        "/api/v1/cases", data="{not json", content_type="application/json", headers=auth
    )
    assert "body" in problem_of(response, 400)["errors"]


DEEP_JSON = {
    "arrays": "[" * 1000 + "]" * 1000,
    "objects": '{"a":' * 1000 + "1" + "}" * 1000,
}
TOO_DEEP = "nested deeper than 32 levels"


@pytest.mark.parametrize("text", DEEP_JSON.values(), ids=list(DEEP_JSON))
def test_deeply_nested_json_bodies_are_a_400_naming_the_body(client, auth, number, kit, text):
    for method, path in (
        ("post", "/api/v1/cases"),
        ("patch", f"/api/v1/cases/{number}"),
        ("post", f"/api/v1/cases/{number}/messages"),
        ("post", "/api/v1/views"),
    ):
        response = getattr(client, method)(
            path, data=text, content_type="application/json", headers=auth
        )
        assert problem_of(response, 400)["errors"] == {"body": [TOO_DEEP]}, path
    assert kit.views.list(Actor.host(), {"view": "all_cases"}).rows[0].number == number
    assert len(kit.cases.timeline(Actor.host(), number)) == 2


@pytest.mark.parametrize("text", DEEP_JSON.values(), ids=list(DEEP_JSON))
def test_deeply_nested_filters_are_a_400_naming_them(client, auth, text):
    for path in ("/api/v1/cases", "/api/v1/reports?from=2026-01-01&to=2026-01-02"):
        joint = "&" if "?" in path else "?"
        response = client.get(path + joint + urlencode({"filters": text}), headers=auth)
        assert problem_of(response, 400)["errors"] == {"filters": [TOO_DEEP]}, path


def test_an_oversized_json_body_is_a_413(kit, world):
    from conftest import make_app

    app = make_app(kit, WTF_CSRF_ENABLED=False, CASEKIT_API_MAX_JSON_BYTES=1000)
    client = app.test_client()
    url = "/api/v1/cases"
    token = kit.api_keys.create(Actor.host(), org_id=world.shipper.id, name="k", scope="write")
    headers = {"Authorization": f"Bearer {token.token}"}
    opened = client.post(url, json={"type": "lost", "message": "x" * 900}, headers=headers)
    assert opened.status_code == 201, opened.json
    big = client.post(url, json={"type": "lost", "message": "x" * 999}, headers=headers)
    assert "1000 bytes" in problem_of(big, 413)["detail"]
    assert len(kit.views.list(Actor.host(), {"view": "all_cases"}).rows) == 1


def test_patch_type_status_solve_reopen_crm(client, auth, number, kit):
    etag = client.get(f"/api/v1/cases/{number}", headers=auth).headers["ETag"]
    r = client.patch(
        f"/api/v1/cases/{number}",
        json={"type": "osd_damaged", "status": "waiting", "crm_number": "CRM-7"},
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 200, r.json
    assert (r.json["type"], r.json["status"], r.json["crm_number"]) == (
        "osd_damaged",
        "waiting",
        "CRM-7",
    )
    assert r.headers["ETag"] != etag
    solved = client.patch(f"/api/v1/cases/{number}", json={"status": "solved"}, headers=auth)
    assert solved.json["status"] == "solved"
    assert solved.json["solved_at"]
    reopened = client.patch(f"/api/v1/cases/{number}", json={"status": "open"}, headers=auth)
    assert reopened.json["status"] == "open"
    cleared = client.patch(f"/api/v1/cases/{number}", json={"crm_number": None}, headers=auth)
    assert cleared.json["crm_number"] is None
    events = [e.event for e in kit.cases.timeline(Actor.host(), number) if e.event]
    assert {"type_changed", "status_changed", "solved", "reopened"} <= set(events)


def test_patch_links_a_shipment(client, auth, kit):
    number = client.post("/api/v1/cases", json={"type": "lost"}, headers=auth).json["number"]
    r = client.patch(f"/api/v1/cases/{number}", json={"shipment": "SHP-2"}, headers=auth)
    assert r.status_code == 200
    assert r.json["shipment_id"] is not None


def test_stale_if_match_is_a_409_and_changes_nothing(client, auth, number, kit):
    etag = client.get(f"/api/v1/cases/{number}", headers=auth).headers["ETag"]
    client.patch(f"/api/v1/cases/{number}", json={"status": "waiting"}, headers=auth)
    r = client.patch(
        f"/api/v1/cases/{number}", json={"type": "osd_damaged"}, headers={**auth, "If-Match": etag}
    )
    problem_of(r, 409)
    assert kit.cases.get(Actor.host(), number).type == "lost"
    bad = client.patch(
        f"/api/v1/cases/{number}", json={"type": "lost"}, headers={**auth, "If-Match": "yes"}
    )
    assert "If-Match" in problem_of(bad, 400)["errors"]


def _case_state(kit, number) -> tuple:
    case = kit.cases.get(Actor.host(), number)
    entries = len(kit.cases.timeline(Actor.host(), number))
    return (case.version, case.type, case.status, case.shipment_id, case.shipper_owner_id, entries)


def test_a_stale_if_match_on_several_fields_writes_none_of_them(client, auth, number, kit):
    etag = client.get(f"/api/v1/cases/{number}", headers=auth).headers["ETag"]
    client.patch(f"/api/v1/cases/{number}", json={"status": "waiting"}, headers=auth)
    before = _case_state(kit, number)
    r = client.patch(
        f"/api/v1/cases/{number}",
        json={"type": "osd_damaged", "status": "open", "shipment": "SHP-2", "crm_number": "C-1"},
        headers={**auth, "If-Match": etag},
    )
    problem_of(r, 409)
    assert _case_state(kit, number) == before
    assert client.get(f"/api/v1/cases/{number}", headers=auth).json["crm_number"] is None


def test_a_patch_without_if_match_applies_to_the_current_version(client, auth, number, kit):
    client.get(f"/api/v1/cases/{number}", headers=auth)
    client.patch(f"/api/v1/cases/{number}", json={"status": "waiting"}, headers=auth)
    r = client.patch(
        f"/api/v1/cases/{number}", json={"type": "osd_damaged", "status": "open"}, headers=auth
    )
    assert r.status_code == 200, r.json
    assert (r.json["type"], r.json["status"]) == ("osd_damaged", "open")


@pytest.mark.parametrize(
    ("payload", "status", "named"),
    [
        ({"type": "osd_damaged", "status": "new"}, 400, "status"),
        ({"type": "osd_damaged", "crm_number": "C" * 201}, 400, "crm_number"),
        ({"type": "osd_damaged", "status": "solved", "shipment": "SHP-404"}, 404, "SHP-404"),
    ],
)
def test_a_patch_with_one_bad_field_writes_nothing(
    client, auth, number, kit, payload, status, named
):
    client.patch(f"/api/v1/cases/{number}", json={"status": "open"}, headers=auth)
    before = _case_state(kit, number)
    r = client.patch(f"/api/v1/cases/{number}", json=payload, headers=auth)
    assert named in str(problem_of(r, status))
    assert _case_state(kit, number) == before


def test_concurrent_patches_without_if_match_all_apply(app, auth, number, kit):
    changes = [{"type": ("osd_damaged", "lost")[i % 2], "crm_number": f"CRM-{i}"} for i in range(6)]
    start = threading.Barrier(len(changes), timeout=60)

    def patch(change: dict) -> tuple[int, object]:
        client = app.test_client()
        start.wait()
        response = client.patch(f"/api/v1/cases/{number}", json=change, headers=auth)
        return response.status_code, response.json

    with ThreadPoolExecutor(len(changes)) as pool:
        answers = list(pool.map(patch, changes, timeout=120))
    assert [status for status, _ in answers] == [200] * len(changes), answers
    crm_numbers = [
        e.new_value for e in kit.cases.timeline(Actor.host(), number) if e.event == "crm_number_set"
    ]
    assert sorted(crm_numbers) == sorted(c["crm_number"] for c in changes)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"status": "closed"}, "status"),
        ({"type": "nope"}, "type"),
        ({"crm_number": 5}, "crm_number"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_patch_bad_input(client, auth, number, payload, field):
    body = problem_of(client.patch(f"/api/v1/cases/{number}", json=payload, headers=auth), 400)
    assert field in body["errors"], body


def test_messages_json_and_multipart_and_download(client, auth, number):
    r = client.post(
        f"/api/v1/cases/{number}/messages",
        json={"body": "Internal note", "audience": "internal"},
        headers=auth,
    )
    assert r.status_code == 201
    assert (r.json["audience"], r.json["body"]) == ("internal", "Internal note")
    r = client.post(
        f"/api/v1/cases/{number}/messages",
        data={
            "body": "With files",
            "attachments": [(io.BytesIO(b"one"), "a.txt"), (io.BytesIO(b"two"), "b.txt")],
        },
        headers=auth,
    )
    assert r.status_code == 201, r.json
    files = r.json["attachments"]
    assert [f["filename"] for f in files] == ["a.txt", "b.txt"]
    download = client.get(f"/api/v1/cases/{number}/attachments/{files[1]['id']}", headers=auth)
    assert download.status_code == 200
    assert download.data == b"two"
    assert download.headers["Content-Disposition"].startswith("attachment")
    download.close()
    timeline = client.get(f"/api/v1/cases/{number}/timeline", headers=auth).json["entries"]
    assert [e["body"] for e in timeline if e["kind"] == "message"] == [
        "Where?",
        "Internal note",
        "With files",
    ]


def test_timeline_is_cut_to_the_caller(client, auth, number, kit, world):
    client.post(
        f"/api/v1/cases/{number}/messages",
        json={"body": "Our secret", "audience": "internal"},
        headers=auth,
    )
    carrier_key = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="c", scope="read"
    ).token
    entries = client.get(
        f"/api/v1/cases/{number}/timeline", headers={"Authorization": f"Bearer {carrier_key}"}
    ).json["entries"]
    assert "Our secret" not in [e["body"] for e in entries]
    assert "Where?" in [e["body"] for e in entries]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"json": {}}, "body"),
        ({"json": {"body": 5}}, "body"),
        ({"json": {"body": "x", "audience": "all"}}, "audience"),
        ({"data": "plain text", "content_type": "text/plain"}, "body"),
        # A file is read once: each run (each backend) gets its own.
        (lambda: {"data": {"body": "x", "other": (io.BytesIO(b"x"), "x.txt")}}, "other"),
    ],
)
def test_message_bad_input(client, auth, number, kwargs, field):
    if callable(kwargs):
        kwargs = kwargs()
    r = client.post(f"/api/v1/cases/{number}/messages", headers=auth, **kwargs)
    assert field in problem_of(r, 400)["errors"]


def test_oversize_upload_is_a_413(kit, world):
    from conftest import make_app

    app = make_app(kit, WTF_CSRF_ENABLED=False, MAX_CONTENT_LENGTH=1000)
    client = app.test_client()
    world_key = kit.api_keys.create(
        Actor.host(), org_id=world.shipper.id, name="k", scope="write"
    ).token
    headers = {"Authorization": f"Bearer {world_key}"}
    number = client.post("/api/v1/cases", json={"type": "lost"}, headers=headers).json["number"]
    r = client.post(
        f"/api/v1/cases/{number}/messages",
        data={"body": "big", "attachments": (io.BytesIO(b"x" * 5000), "big.bin")},
        headers=headers,
    )
    problem_of(r, 413)
    assert [e.body for e in kit.cases.timeline(Actor.host(), number) if e.body == "big"] == []


def test_owners_and_watchers(client, auth, number, world):
    agent = world.shipper_agent.id
    r = client.put(f"/api/v1/cases/{number}/owners/shipper", json={"user_id": agent}, headers=auth)
    assert r.json["shipper_owner_id"] == agent
    r = client.put(f"/api/v1/cases/{number}/owners/shipper", json={"user_id": None}, headers=auth)
    assert r.json["shipper_owner_id"] is None
    r = client.put(f"/api/v1/cases/{number}/watchers/{agent}", headers=auth)
    assert r.json["watcher_ids"] == [agent]
    r = client.delete(f"/api/v1/cases/{number}/watchers/{agent}", headers=auth)
    assert r.json["watcher_ids"] == []
    bad = client.put(f"/api/v1/cases/{number}/owners/nobody", json={"user_id": 1}, headers=auth)
    assert "side" in problem_of(bad, 400)["errors"]
    stranger = world.carrier_agent.id
    bad = client.put(
        f"/api/v1/cases/{number}/owners/shipper", json={"user_id": stranger}, headers=auth
    )
    assert "user_id" in problem_of(bad, 400)["errors"]
    huge = client.put(f"/api/v1/cases/{number}/watchers/{10**20}", headers=auth)
    assert "user_id" in problem_of(huge, 400)["errors"]


def test_saved_views_and_counts(client, actors, kit):
    from conftest import login

    kit.cases.open(actors["own_org"], type="lost")
    login(client, actors["own_org"])
    counts = client.get("/api/v1/views/counts").json["counts"]
    assert counts["all_cases"] == 1
    r = client.post(
        "/api/v1/views", json={"name": "Lost", "query": {"view": "all_cases"}, "shared": True}
    )
    assert r.status_code == 201, r.json
    view = r.json
    assert (view["name"], view["shared"], view["query"]["view"]) == ("Lost", True, "all_cases")
    assert [v["name"] for v in client.get("/api/v1/views").json["views"]] == ["Lost"]
    assert client.get("/api/v1/views/counts").json["counts"][f"saved:{view['id']}"] == 1
    renamed = client.patch(f"/api/v1/views/{view['id']}", json={"name": "Lost ones"})
    assert renamed.json["name"] == "Lost ones"
    bad = client.post("/api/v1/views", json={"name": "X", "query": {"view": "nope"}})
    assert "view" in problem_of(bad, 400)["errors"]
    assert client.delete(f"/api/v1/views/{view['id']}").status_code == 204
    assert client.get("/api/v1/views").json["views"] == []


def test_session_changes_need_the_csrf_token(kit, actors):
    from conftest import login, make_app

    app = make_app(kit)  # CSRF on, as in production
    client = app.test_client()
    login(client, actors["own_org"])
    refused = client.post("/api/v1/cases", json={"type": "lost"})
    problem_of(refused, 403)
    with app.test_request_context():
        from flask_wtf.csrf import generate_csrf

        token = generate_csrf()
        from flask import session

        csrf_session = dict(session)
    with client.session_transaction() as sess:
        sess.update(csrf_session)
    ok = client.post("/api/v1/cases", json={"type": "lost"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 201, ok.json
    # A key needs no token.
    key = kit.api_keys.create(
        actors["own_org"], org_id=actors["own_org"].org_id, name="k", scope="write"
    )
    login(client, None)
    with_key = client.post(
        "/api/v1/cases", json={"type": "lost"}, headers={"Authorization": f"Bearer {key.token}"}
    )
    assert with_key.status_code == 201


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ck_nope_nope", "Basic dXNlcjpwYXNz", "Token abc"]
)
def test_bad_credentials_are_401(client, header, number):
    r = client.get("/api/v1/cases", headers={"Authorization": header})
    problem_of(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401_and_scopes_are_checked(client, kit, world, actors):
    read = kit.api_keys.create(actors["own_org"], org_id=world.shipper.id, name="r", scope="read")
    headers = {"Authorization": f"Bearer {read.token}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    problem_of(client.post("/api/v1/cases", json={"type": "lost"}, headers=headers), 403)
    kit.api_keys.revoke(actors["own_org"], read.key.id)
    problem_of(client.get("/api/v1/cases", headers=headers), 401)


def test_keys_through_the_session(client, actors, kit, world):
    from conftest import login

    login(client, actors["own_org"])
    created = client.post("/api/v1/api-keys", json={"name": "CRM", "scope": "write"})
    assert created.status_code == 201
    token = created.json["token"]
    assert token.startswith("ck_")
    listed = client.get("/api/v1/api-keys").json["keys"]
    assert [k["name"] for k in listed] == ["CRM"]
    assert "token" not in listed[0]
    assert "secret_hash" not in listed[0]
    assert kit.api_keys.authenticate(token).org_id == world.shipper.id
    revoked = client.delete(f"/api/v1/api-keys/{created.json['id']}")
    assert revoked.json["revoked_at"] is not None
    bad = client.post("/api/v1/api-keys", json={"name": "", "scope": "root"})
    assert set(problem_of(bad, 400)["errors"]) == {"name", "scope"}


def test_unknown_paths_and_methods_are_problems(client, auth, number):
    problem_of(client.get("/api/v1/nothing", headers=auth), 404)
    problem_of(client.get("/api/v1/cases/NOPE-1", headers=auth), 404)
    problem_of(client.get(f"/api/v1/cases/{number}/attachments/{2**40}", headers=auth), 400)


def test_reports_as_json(client, auth, kit, world, number):
    r = client.get("/api/v1/reports?from=2026-01-01&to=2026-01-31&sections=volume", headers=auth)
    assert r.status_code == 200, r.json
    report = r.json
    assert report["query"]["from"] == "2026-01-01"
    assert [s["name"] for s in report["sections"]] == ["volume"]
    key_actor = kit.api_keys.authenticate(auth["Authorization"][7:]).actor
    expected = kit.reports.dashboard(
        key_actor, {"from": "2026-01-01", "to": "2026-01-31"}, sections=["volume"]
    ).to_json()
    assert report["sections"] == expected["sections"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-01-31&to=2026-01-01", "to"),
        ("from=x&to=2026-01-01", "from"),
        ("to=2026-01-01", "from"),
        ("from=2026-01-01&to=2026-01-02&timezone=Mars/Base", "timezone"),
        ("from=2026-01-01&to=2026-01-02&sections=nope", "sections"),
        ("from=2026-01-01&to=2026-01-02&filters={", "filters"),
        ('from=2026-01-01&to=2026-01-02&filters={"colour":[1]}', "filters.colour"),
        ("from=2026-01-01&to=2026-01-02&x=1", "x"),
    ],
)
def test_report_bad_query(client, auth, query, field):
    body = problem_of(client.get(f"/api/v1/reports?{query}", headers=auth), 400)
    assert field in body["errors"], body


def test_subscriptions(client, actors, world):
    from conftest import login

    login(client, actors["own_org"])
    me = actors["own_org"].user_id
    before = client.get(f"/api/v1/users/{me}/subscriptions").json["subscriptions"]
    posted = next(s for s in before if s["event"] == "message_posted")
    assert posted["enabled"] is True
    r = client.patch(
        f"/api/v1/users/{me}/subscriptions", json={"changes": {"message_posted": False}}
    )
    after = next(s for s in r.json["subscriptions"] if s["event"] == "message_posted")
    assert (after["enabled"], after["default"]) == (False, True)
    bad = client.patch(f"/api/v1/users/{me}/subscriptions", json={"changes": {"nope": True}})
    assert "event" in problem_of(bad, 400)["errors"]
    wrong = client.patch(f"/api/v1/users/{me}/subscriptions", json={"changes": {"x": "maybe"}})
    assert "changes.x.value" in problem_of(wrong, 400)["errors"]


def test_collaborator_addresses(client, actors, world):
    from conftest import login

    login(client, actors["own_org"])
    body = {
        "shipper_org_id": world.shipper.id,
        "carrier_org_id": world.carrier.id,
        "side": "shipper",
        "email": "team@acme.test",
    }
    r = client.put("/api/v1/collaborator-addresses", json=body)
    assert [a["email"] for a in r.json["addresses"]] == ["team@acme.test"]
    assert client.get("/api/v1/collaborator-addresses").json == r.json
    bad = client.put("/api/v1/collaborator-addresses", json={**body, "email": "nope"})
    assert "email" in problem_of(bad, 400)["errors"]
    cleared = client.put("/api/v1/collaborator-addresses", json={**body, "email": None})
    assert cleared.json["addresses"] == []


def test_case_addresses(client, actors, world, kit):
    from conftest import login

    login(client, actors["own_org"])
    made = client.post(
        "/api/v1/case-addresses",
        json={
            "email": "Support@Acme.test",
            "case_type": "lost",
            "owner_id": world.shipper_agent.id,
            "partner_id": world.carrier.id,
        },
    )
    assert made.status_code == 201, made.json
    assert {k: v for k, v in made.json.items() if k != "created_at"} == {
        "email": "support@acme.test",
        "org_id": world.shipper.id,
        "role": "shipper",
        "case_type": "lost",
        "owner_id": world.shipper_agent.id,
        "partner_id": world.carrier.id,
        "unknown_senders": "open",
    }
    assert client.get("/api/v1/case-addresses").json == {"addresses": [made.json]}
    assert client.get("/api/v1/case-addresses/support@acme.test").json == made.json
    changed = client.patch(
        "/api/v1/case-addresses/support@acme.test",
        json={"owner_id": None, "unknown_senders": "triage"},
    )
    assert (changed.json["owner_id"], changed.json["unknown_senders"]) == (None, "triage")
    assert changed.json["case_type"] == "lost"  # not sent: unchanged
    # Bad options are named; nothing changes.
    bad = client.post(
        "/api/v1/case-addresses",
        json={"email": "x@acme.test", "partner_id": world.shipper.id, "case_type": "nope"},
    )
    assert set(problem_of(bad, 400)["errors"]) == {"partner_id", "case_type"}
    unknown = client.patch("/api/v1/case-addresses/support@acme.test", json={"colour": "red"})
    assert "colour" in problem_of(unknown, 400)["errors"]
    assert [a.email for a in kit.case_addresses.list(Actor.host())] == ["support@acme.test"]
    # The carrier's staff do not find the shipper's address.
    login(client, actors["case_carrier"])
    assert client.get("/api/v1/case-addresses").json == {"addresses": []}
    problem_of(client.get("/api/v1/case-addresses/support@acme.test"), 404)
    problem_of(client.delete("/api/v1/case-addresses/support@acme.test"), 404)
    login(client, actors["own_org"])
    assert client.delete("/api/v1/case-addresses/support@acme.test").status_code == 204
    assert kit.case_addresses.list(Actor.host()) == []
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/case-addresses", "/api/v1/case-addresses/{email}"} <= set(paths)


def test_shipment_and_order_facts_bad_rows_one_by_one(client, auth, kit, world):
    r = client.post(
        "/api/v1/shipments",
        json={
            "items": [
                {"reference": "S-1", "tracking_number": "1ZS1", "mode": "parcel"},
                {"reference": "S-2", "mode": "boat"},
                {"colour": "red"},
                "not an object",
            ]
        },
        headers=auth,
    )
    assert r.status_code == 200, r.json
    report = r.json
    assert report["created"] == 1
    assert [(x["index"], sorted(x["errors"])) for x in report["rejected"]] == [
        (1, ["mode"]),
        (2, ["colour", "reference"]),
        (3, ["_schema"]),
    ]
    assert kit.shipments.shipment(world.shipper_actor, "S-1").tracking_number == "1ZS1"
    again = client.post(
        "/api/v1/shipments", json={"items": [{"reference": "S-1", "mode": "parcel"}]}, headers=auth
    ).json
    assert (again["created"], again["unchanged"]) == (0, 1)
    orders = client.post(
        "/api/v1/orders",
        json={"items": [{"number": "O-1", "customer_email": "kim@example.test"}]},
        headers=auth,
    ).json
    assert orders["created"] == 1
    assert kit.shipments.order(world.shipper_actor, "O-1").customer_email == "kim@example.test"


def test_tracking_events(client, auth, kit, world):
    client.post("/api/v1/shipments", json={"items": [{"reference": "S-1"}]}, headers=auth)
    event = {"reference": "S-1", "status": "in_transit", "occurred_at": "2026-01-04T10:00:00Z"}
    r = client.post(
        "/api/v1/shipments/events",
        json={
            "items": [
                event,
                {**event, "occurred_at": "2026-01-04T10:00:00"},
                {**event, "reference": "NOPE"},
            ]
        },
        headers=auth,
    )
    report = r.json
    assert report["recorded"] == 1
    assert [(x["index"], sorted(x["errors"])) for x in report["rejected"]] == [
        (1, ["occurred_at"]),
        (2, ["reference"]),
    ]
    assert kit.shipments.shipment(world.shipper_actor, "S-1").shipment_status == "in_transit"
    duplicate = client.post("/api/v1/shipments/events", json={"items": [event]}, headers=auth)
    assert duplicate.json["duplicates"] == 1
    empty = client.post("/api/v1/shipments/events", json={"items": []}, headers=auth)
    assert "items" in problem_of(empty, 400)["errors"]
    many = client.post("/api/v1/shipments/events", json={"items": [event] * 1001}, headers=auth)
    assert "items" in problem_of(many, 400)["errors"]


def _triaged(kit, number: str, n: int) -> int:
    raw = (
        f"From: s{n}@else.test\r\nTo: support@acme.test\r\nSubject: Re: [{number}] {n}\r\n"
        f"Message-ID: <t{n}-{number}@t>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"text {n}\r\n"
    ).encode()
    result = kit.inbound.receive(raw)
    assert result.outcome == "triaged"
    assert result.inbound_id is not None
    return result.inbound_id


def test_triage_list_file_open_discard(client, auth, kit, number):
    ids = [_triaged(kit, number, n) for n in range(3)]
    listed = client.get("/api/v1/triage", headers=auth).json["items"]
    assert [i["id"] for i in listed] == ids[::-1]
    one = client.get(f"/api/v1/triage/{ids[0]}", headers=auth).json
    assert (one["from_address"], one["outcome"]) == ("s0@else.test", "triaged")
    filed = client.post(
        f"/api/v1/triage/{ids[0]}/file",
        json={"number": number, "audience": "partners"},
        headers=auth,
    )
    assert filed.status_code == 200, filed.json
    assert (filed.json["outcome"], filed.json["case_number"]) == ("filed", number)
    again = client.post(f"/api/v1/triage/{ids[0]}/file", json={"number": number}, headers=auth)
    problem_of(again, 400)
    opened = client.post(f"/api/v1/triage/{ids[1]}/case", json={"type": "lost"}, headers=auth)
    assert opened.status_code == 201, opened.json
    assert opened.json["source"] == "email"
    assert client.delete(f"/api/v1/triage/{ids[2]}", headers=auth).status_code == 204
    assert client.get("/api/v1/triage", headers=auth).json["items"] == []
    handled = client.get("/api/v1/triage?include_handled=true", headers=auth).json["items"]
    assert sorted(i["outcome"] for i in handled) == ["discarded", "filed", "opened"]
    bad = client.post(f"/api/v1/triage/{ids[1]}/file", json={"audience": "all"}, headers=auth)
    assert set(problem_of(bad, 400)["errors"]) == {"number", "audience"}
    problem_of(client.get("/api/v1/triage/999999", headers=auth), 404)


def test_triage_is_for_the_routed_organization(client, kit, number, world):
    item = _triaged(kit, number, 7)
    carrier = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="c", scope="write"
    ).token
    headers = {"Authorization": f"Bearer {carrier}"}
    assert client.get("/api/v1/triage", headers=headers).json["items"] == []
    problem_of(client.delete(f"/api/v1/triage/{item}", headers=headers), 404)


RULE = {"name": "Damaged", "exceptions": ["damaged"], "case_type": "osd_damaged"}


def test_rules_define_enable_dry_run_delete(client, auth, kit, world):
    created = client.post("/api/v1/rules", json={"definition": RULE}, headers=auth)
    assert created.status_code == 201, created.json
    rule = created.json
    assert (rule["name"], rule["enabled"], rule["definition"]["exceptions"]) == (
        "Damaged",
        True,
        ["damaged"],
    )
    assert [r["name"] for r in client.get("/api/v1/rules", headers=auth).json["rules"]] == [
        "Damaged"
    ]
    off = client.patch(f"/api/v1/rules/{rule['id']}", json={"enabled": False}, headers=auth)
    assert off.json["enabled"] is False
    assert client.get(f"/api/v1/rules/{rule['id']}", headers=auth).json["enabled"] is False
    client.post("/api/v1/shipments", json={"items": [{"reference": "S-9"}]}, headers=auth)
    client.post(
        "/api/v1/shipments/events",
        json={
            "items": [
                {
                    "reference": "S-9",
                    "status": "exception",
                    "exception": "damaged",
                    "occurred_at": "2026-01-04T10:00:00Z",
                }
            ]
        },
        headers=auth,
    )
    dry = client.post("/api/v1/rules/dry-run", json={"rule_id": rule["id"]}, headers=auth)
    assert dry.json["references"] == ["S-9"]
    dry = client.post("/api/v1/rules/dry-run", json={"definition": RULE}, headers=auth)
    assert dry.json["references"] == ["S-9"]
    assert client.delete(f"/api/v1/rules/{rule['id']}", headers=auth).status_code == 204
    problem_of(client.get(f"/api/v1/rules/{rule['id']}", headers=auth), 404)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "definition"),
        ({"definition": {"name": "X"}}, "case_type"),
        ({"definition": {**RULE, "exceptions": ["lost_in_space"]}}, "exceptions"),
        ({"definition": RULE, "enabled": "sometimes"}, "enabled"),
        ({"definition": [1]}, "definition"),
        ({"definition": {**RULE, "tier": 3}}, "tier"),
        ({"definition": {**RULE, "tier": "1"}}, "tier"),
        ({"definition": RULE, "tier": 0}, "tier"),
        ({"definition": RULE, "tier": "1"}, "tier"),
        ({"definition": RULE, "tier": True}, "tier"),
        ({"definition": {**RULE, "not_modes": ["boat"]}}, "not_modes"),
        ({"definition": {**RULE, "case_priorities": ["soon"]}}, "case_priorities"),
        ({"definition": {**RULE, "case_min_priority": 4}}, "case_min_priority"),
        ({"definition": {**RULE, "case_tags_any": ["VIP"]}}, "case_tags_any"),
        ({"definition": {**RULE, "case_tags_all": {"1": 1}}}, "case_tags_all"),
        ({"definition": {**RULE, "case_tags_none": [2**40]}}, "case_tags_none"),
        ({"definition": {**RULE, "case_tags_none": [999_999]}}, "case_tags_none"),
    ],
)
def test_rule_bad_definitions_name_the_field(client, auth, payload, field):
    body = problem_of(client.post("/api/v1/rules", json=payload, headers=auth), 400)
    assert any(name.startswith(field) for name in body["errors"]), body


def test_rules_take_conditions_on_the_shipments_cases_in_their_own_tags(client, auth, kit, world):
    vip = kit.tags.create(world.shipper_manager_actor, "VIP").id
    theirs = kit.tags.create(world.carrier_manager_actor, "Theirs").id
    definition = {**RULE, "case_min_priority": "high", "case_tags_any": [vip]}
    created = client.post("/api/v1/rules", json={"definition": definition}, headers=auth)
    assert created.status_code == 201, created.json
    stored = created.json["definition"]
    assert (stored["case_min_priority"], stored["case_tags_any"]) == ("high", [vip])
    bad = {**definition, "name": "Theirs", "case_tags_all": [theirs]}
    body = problem_of(client.post("/api/v1/rules", json={"definition": bad}, headers=auth), 400)
    assert list(body["errors"]) == ["case_tags_all"], body
    assert "Theirs" not in str(body)
    changed = client.patch(
        f"/api/v1/rules/{created.json['id']}",
        json={"definition": {**definition, "case_tags_none": [theirs]}},
        headers=auth,
    )
    problem_of(changed, 400)
    dry = client.post(
        "/api/v1/rules/dry-run",
        json={"definition": {**RULE, "case_tags_any": [theirs]}},
        headers=auth,
    )
    problem_of(dry, 400)


def test_rules_carry_their_tier_and_list_tier_1_first(client, auth, kit):
    made = [
        client.post("/api/v1/rules", json=body, headers=auth)
        for body in (
            {"definition": RULE},
            {"definition": {**RULE, "name": "Lost", "exceptions": ["lost"], "tier": 1}},
            {"definition": {**RULE, "name": "Held", "tier": 1}, "tier": 2},
        )
    ]
    assert [(r.status_code, r.json["tier"], r.json["definition"]["tier"]) for r in made] == [
        (201, 2, 2),
        (201, 1, 1),
        (201, 2, 2),  # the tier given beside the definition wins
    ]
    listed = client.get("/api/v1/rules", headers=auth).json["rules"]
    assert [(r["name"], r["tier"]) for r in listed] == [("Lost", 1), ("Damaged", 2), ("Held", 2)]
    damaged = made[0].json["id"]
    moved = client.patch(f"/api/v1/rules/{damaged}", json={"tier": 1}, headers=auth)
    assert (moved.status_code, moved.json["tier"], moved.json["definition"]["exceptions"]) == (
        200,
        1,
        ["damaged"],
    )
    listed = client.get("/api/v1/rules", headers=auth).json["rules"]
    assert [r["name"] for r in listed] == ["Damaged", "Lost", "Held"]
    for bad in (3, "2", None, 1.5):
        body = problem_of(
            client.patch(f"/api/v1/rules/{damaged}", json={"tier": bad}, headers=auth), 400
        )
        assert list(body["errors"]) == ["tier"], body
    in_definition = {**RULE, "tier": 9}
    body = problem_of(
        client.patch(f"/api/v1/rules/{damaged}", json={"definition": in_definition}, headers=auth),
        400,
    )
    assert list(body["errors"]) == ["tier"], body
    assert client.get(f"/api/v1/rules/{damaged}", headers=auth).json["tier"] == 1


def test_dry_run_needs_one_of_rule_or_definition(client, auth):
    body = problem_of(client.post("/api/v1/rules/dry-run", json={}, headers=auth), 400)
    assert "rule_id" in body["errors"]


def test_organization_settings(client, auth, kit, world):
    assert client.get("/api/v1/organization/settings", headers=auth).json == {
        "org_id": world.shipper.id,
        "feedback_portal": False,
    }
    r = client.patch("/api/v1/organization/settings", json={"feedback_portal": True}, headers=auth)
    assert r.json["feedback_portal"] is True
    assert kit.directory.feedback_portal(Actor.host(), world.shipper.id) is True
    bad = client.patch("/api/v1/organization/settings", json={"feedback_portal": "x"}, headers=auth)
    assert "feedback_portal" in problem_of(bad, 400)["errors"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("post", "/api/v1/cases", {"json": {"type": "lost", "subject": "a\x00b"}}, "subject"),
        (
            "post",
            "/api/v1/shipments",
            {"json": {"items": [{"reference": "\x00"}]}},
            "items.0.reference",
        ),
        ("get", "/api/v1/cases", {"query_string": {"search": "1Z\x00"}}, "search"),
        ("get", "/api/v1/cases/CV\x00", {}, "number"),
        ("post", "/api/v1/rules", {"json": {"definition": {"name": "\x00"}}}, "definition.name"),
    ],
)
def test_nul_characters_are_refused_by_name(client, auth, kit, method, path, kwargs, field):
    response = getattr(client, method)(path, headers=auth, **kwargs)
    assert field in problem_of(response, 400)["errors"]
    assert kit.views.count(Actor.host(), {"view": "all_cases"}) == 0


def test_a_method_not_allowed_is_a_problem_with_allow(client, auth, number):
    response = client.put("/api/v1/cases", json={}, headers=auth)
    body = problem_of(response, 405)
    assert body["title"] == "Method Not Allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    response = client.delete(f"/api/v1/cases/{number}/timeline", headers=auth)
    problem_of(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_line_break_in_a_path_is_a_problem_not_the_hosts_page(client, auth):
    # Werkzeug's path converter stops at a line break: these were the host's HTML 404.
    for path in ("/api/v1/webhooks/%0A", "/api/v1/webhooks/%0A/deliveries", "/api/v1/a%0Ab"):
        assert problem_of(client.get(path, headers=auth), 404)["detail"], path


def test_a_nul_character_is_a_400_naming_the_field(client, auth, number):
    response = client.post(
        "/api/v1/cases", json={"type": "lost", "subject": "Late\x00"}, headers=auth
    )
    body = problem_of(response, 400)
    assert body["errors"] == {"subject": ["contains a NUL character"]}
    response = client.post(
        f"/api/v1/cases/{number}/messages", json={"body": "a\x00b"}, headers=auth
    )
    assert problem_of(response, 400)["errors"] == {"body": ["contains a NUL character"]}
    response = client.get("/api/v1/cases", query_string={"q": "x\x00"}, headers=auth)
    assert problem_of(response, 400)["errors"]


def test_a_lone_surrogate_is_a_400_naming_the_field_and_writes_nothing(client, auth, number, kit):
    # JSON's "\ud800" decodes to text no database stores as UTF-8: a 500 before.
    surrogate = "contains a lone surrogate (not Unicode text)"
    before = client.get(f"/api/v1/cases/{number}/timeline", headers=auth).json

    def send(method, path, raw):
        return client.open(
            path, method=method, data=raw, content_type="application/json", headers=auth
        )

    response = send("POST", "/api/v1/cases", '{"type": "lost", "subject": "a\\ud800"}')
    assert problem_of(response, 400)["errors"] == {"subject": [surrogate]}
    response = send("POST", f"/api/v1/cases/{number}/messages", '{"body": "\\udfff"}')
    assert problem_of(response, 400)["errors"] == {"body": [surrogate]}
    response = send("POST", "/api/v1/views", '{"name": "v", "query": {"search": "\\ud800"}}')
    assert problem_of(response, 400)["errors"] == {"query.search": [surrogate]}
    filters = '[{"field": "subject", "op": "contains", "value": "\\ud800"}]'
    response = client.get("/api/v1/cases", query_string={"filters": filters}, headers=auth)
    assert problem_of(response, 400)["errors"] == {"query.filters.0.value": [surrogate]}
    items = '[{"reference": "S-2", "shipper": "acme"}, {"reference": "\\ud800", "shipper": "acme"}]'
    response = send("POST", "/api/v1/shipments", '{"items": ' + items + "}")
    assert problem_of(response, 400)["errors"] == {"items.1.reference": [surrogate]}
    with pytest.raises(NotFound):
        kit.shipments.shipment(Actor.host(), "S-2")
    assert client.get(f"/api/v1/cases/{number}/timeline", headers=auth).json == before
    assert client.get("/api/v1/cases", headers=auth).json["cases"][0]["number"] == number


def test_webhooks_subscribe_read_change_rotate_log_and_delete(client, auth, kit, world):
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.acme.test/in", "events": ["case_opened"], "description": "TMS"},
        headers=auth,
    )
    assert created.status_code == 201, created.json
    hook = created.json
    assert hook["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks", headers=auth).json["webhooks"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]
    url = f"/api/v1/webhooks/{hook['id']}"
    changed = client.patch(url, json={"events": ["case_opened", "case_solved"]}, headers=auth)
    assert changed.json["events"] == ["case_opened", "case_solved"]
    rotated = client.post(f"{url}/secret", headers=auth).json
    assert rotated["secret"] not in (hook["secret"], None)
    # Each is a Standard Webhooks secret as it is: whsec_ and the base64 of 32 bytes.
    for secret in (hook["secret"], rotated["secret"]):
        assert standard_secret(secret) == secret
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    opened = client.post("/api/v1/cases", json={"type": "lost"}, headers=auth).json
    (delivery,) = client.get(f"{url}/deliveries", headers=auth).json["deliveries"]
    assert delivery["event"] == "case_opened"
    assert delivery["payload"]["case"]["number"] == opened["number"]
    assert (delivery["status"], delivery["history"]) == ("queued", [])
    bad = client.post("/api/v1/webhooks", json={"url": "ftp://x", "events": ["nope"]}, headers=auth)
    assert set(problem_of(bad, 400)["errors"]) == {"events.0"}
    bad = client.post(
        "/api/v1/webhooks", json={"url": "ftp://x", "events": ["case_opened"]}, headers=auth
    )
    assert set(problem_of(bad, 400)["errors"]) == {"url"}
    assert client.delete(url, headers=auth).status_code == 204
    problem_of(client.get(url, headers=auth), 404)


def test_a_case_notification_log_shows_each_party_its_own_people(client, auth, kit, world):
    from conftest import login

    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        customer=world.customer.id,
        message="Your parcel",
        audience="everyone",
    )
    kit.cases.watch(world.carrier_manager_actor, case.number)
    kit.cases.watch(world.shipper_manager_actor, case.number)
    kit.messages.post(world.shipper_actor, case.number, "Where is it?", audience="partners")
    kit.cases.solve(world.carrier_actor, case.number)  # tells the customer and the shipper
    carrier_auth = {
        "Authorization": "Bearer "
        + kit.api_keys.create(
            world.carrier_manager_actor, org_id=world.carrier.id, name="TMS", scope="read"
        ).token
    }
    url = f"/api/v1/cases/{case.number}/deliveries"

    def emails(response) -> set[str]:
        assert response.status_code == 200, response.data[:400]
        return {d["email"] for d in response.json["deliveries"]}

    carrier = client.get(url, headers=carrier_auth)
    assert emails(carrier) == {world.carrier_manager.email}
    assert world.customer.email not in carrier.get_data(as_text=True)
    assert world.shipper_manager.email not in carrier.get_data(as_text=True)
    assert emails(client.get(url, headers=auth)) == {
        world.shipper_agent.email,
        world.shipper_manager.email,
        world.customer.email,
    }
    login(client, world.customer_actor)
    mine = client.get(url)
    assert emails(mine) == {world.customer.email}
    assert {d["customer_id"] for d in mine.json["deliveries"]} == {world.customer.id}
    problem_of(client.get("/api/v1/cases/CV999999/deliveries", headers=auth), 404)


def _customer_values(body: object) -> list[object]:
    """The values of every key naming a customer, anywhere in a JSON document."""
    found: list[object] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if "customer" in key:
                found.append(value)
            found += _customer_values(value)
    elif isinstance(body, list):
        for item in body:
            found += _customer_values(item)
    return found


def test_a_carrier_reads_a_case_without_the_customers_account(
    client, auth, kit, world, customer_case
):
    case = customer_case
    carrier_auth = {
        "Authorization": "Bearer "
        + kit.api_keys.create(
            world.carrier_manager_actor, org_id=world.carrier.id, name="TMS", scope="read"
        ).token
    }
    urls = (
        f"/api/v1/cases/{case.number}",
        f"/api/v1/cases/{case.number}/timeline",
        "/api/v1/cases?view=all_cases",
    )

    def said(headers) -> dict:
        entries = client.get(urls[1], headers=headers).json["entries"]
        return next(e for e in entries if e["body"] == "It never came")

    for shared in (False, True):
        if shared:
            kit.cases.share_with_carrier(world.shipper_actor, case.number, said(auth)["id"])
        for url in urls:
            response = client.get(url, headers=carrier_auth)
            assert response.status_code == 200, response.data[:400]
            text = response.get_data(as_text=True)
            assert world.customer.email not in text, url
            assert world.customer.name not in text, url
            assert f"customer:{world.customer.id}" not in text, url
            assert all(v is None for v in _customer_values(response.json)), url
            # The customer's message, once the shipper shares it (the case has no messages).
            assert ("It never came" in text) is (shared and url != urls[0]), url

    # The carrier reads that the customer wrote the shared message, and what.
    assert said(carrier_auth)["actor_kind"] == "customer"
    # The shipper's staff read the customer's account.
    assert client.get(urls[0], headers=auth).json["customer_id"] == world.customer.id
    assert said(auth)["customer_id"] == world.customer.id


def test_templates_override_preview_and_reset(client, auth):
    url = "/api/v1/templates/case_opened"
    shipped = client.get(url, headers=auth).json
    assert shipped["overridden"] is False
    names = [t["name"] for t in client.get("/api/v1/templates", headers=auth).json["templates"]]
    assert "case_opened" in names
    preview = client.post(
        f"{url}/preview", json={"subject": "New: {{ case.number }}"}, headers=auth
    )
    assert preview.status_code == 200, preview.json
    assert preview.json["subject"].startswith("New: ")
    assert "{{" not in preview.json["subject"]
    bad = client.post(f"{url}/preview", json={"text": "{{ oops"}, headers=auth)
    assert set(problem_of(bad, 400)["errors"]) == {"text"}
    saved = client.put(url, json={"subject": "Case {{ case.number }}", "text": "Hi"}, headers=auth)
    assert saved.json["overridden"] is True
    assert client.get(url, headers=auth).json["text"] == "Hi"
    reset = client.delete(url, headers=auth).json
    assert reset == shipped
    problem_of(client.get("/api/v1/templates/nope", headers=auth), 400)


def test_report_targets_set_list_and_unset(client, auth, kit, world):
    """Deprecated (so said in the OpenAPI document): they set and read the
    organization's service level of one case type."""
    url = "/api/v1/report-targets/lost"
    set_ = client.put(url, json={"first_response_seconds": 3600}, headers=auth)
    assert set_.status_code == 200, set_.json
    assert (set_.json["first_response_seconds"], set_.json["resolution_seconds"]) == (3600, None)
    listed = client.get("/api/v1/report-targets", headers=auth).json["targets"]
    assert [t["case_type"] for t in listed] == ["lost"]
    (target,) = kit.service_levels.targets(world.shipper_manager_actor)
    assert (target.name, target.conditions, target.first_response_seconds) == (
        "Lost",
        {"types": ["lost"]},
        3600,
    )
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert paths["/api/v1/report-targets"]["get"]["deprecated"] is True
    assert paths["/api/v1/report-targets/{case_type}"]["put"]["deprecated"] is True
    assert "deprecated" not in paths["/api/v1/templates"]["get"]
    bad = client.put(url, json={"resolution_seconds": 5}, headers=auth)
    assert set(problem_of(bad, 400)["errors"]) == {"resolution_seconds"}
    unknown = client.put("/api/v1/report-targets/nope", json={}, headers=auth)
    assert set(problem_of(unknown, 400)["errors"]) == {"case_type"}
    gone = client.put(url, json={"first_response_seconds": None}, headers=auth)
    assert gone.status_code == 204
    assert client.get("/api/v1/report-targets", headers=auth).json["targets"] == []


def test_an_admin_key_creates_and_revokes_keys_of_its_organization(client, kit, world):
    admin = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="root", scope="admin"
    )
    headers = {"Authorization": f"Bearer {admin.token}"}
    created = client.post(
        "/api/v1/api-keys", json={"name": "CRM", "scope": "write"}, headers=headers
    )
    assert created.status_code == 201, created.json
    assert created.json["created_by_key_id"] == admin.key.id
    child = {"Authorization": f"Bearer {created.json['token']}"}
    assert client.get("/api/v1/cases", headers=child).status_code == 200
    # The write key it made cannot manage keys.
    problem_of(client.get("/api/v1/api-keys", headers=child), 403)
    listed = client.get("/api/v1/api-keys", headers=headers).json["keys"]
    assert {k["name"] for k in listed} == {"root", "CRM"}
    assert next(k for k in listed if k["name"] == "root")["last_used_at"] is not None
    # Revoking the admin key revokes the key it created.
    revoked = client.delete(f"/api/v1/api-keys/{admin.key.id}", headers=headers)
    assert revoked.status_code == 200
    problem_of(client.get("/api/v1/cases", headers=child), 401)


def test_the_audiences_include_customer_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    everyone = ["internal", "partners", "customer", "everyone"]
    assert schemas["Message"]["properties"]["audience"]["enum"] == everyone
    assert schemas["Entry"]["properties"]["audience"]["enum"] == everyone
    assert "shared_at" in schemas["Entry"]["properties"]
    posting = spec["paths"]["/api/v1/cases/{number}/messages"]["post"]["requestBody"]["content"]
    assert posting["multipart/form-data"]["schema"]["properties"]["audience"]["enum"] == everyone
    share = spec["paths"]["/api/v1/cases/{number}/entries/{entry_id}/share"]["post"]
    assert set(share["responses"]) >= {"200", "400", "403", "404"}


def carrier_key(kit, world, scope="write") -> dict[str, str]:
    token = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="TMS", scope=scope
    ).token
    return {"Authorization": f"Bearer {token}"}


def test_the_shipper_writes_to_its_customer_and_shares_a_message_with_the_carrier(
    client, auth, kit, world, customer_case
):
    number = customer_case.number
    base = f"/api/v1/cases/{number}"
    theirs = carrier_key(kit, world)
    posted = client.post(
        f"{base}/messages", json={"body": "We look into it", "audience": "customer"}, headers=auth
    )
    assert posted.status_code == 201, posted.json
    assert posted.json["audience"] == "customer"
    assert posted.json["shared_at"] is None
    said = next(
        e
        for e in client.get(f"{base}/timeline", headers=auth).json["entries"]
        if e["body"] == "It never came"
    )
    assert said["audience"] == "customer"
    assert said["shared_at"] is None

    def carrier_reads() -> list[str]:
        return [e["body"] for e in client.get(f"{base}/timeline", headers=theirs).json["entries"]]

    assert "It never came" not in carrier_reads()
    # The carrier may not share it; a read key may not write.
    share = f"{base}/entries/{said['id']}/share"
    refused = client.post(share, headers=theirs)
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert "It never came" not in refused.get_data(as_text=True)
    read_only = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="BI", scope="read"
    ).token
    assert client.post(share, headers={"Authorization": f"Bearer {read_only}"}).status_code == 403

    shared = client.post(share, headers=auth)
    assert shared.status_code == 200, shared.json
    assert shared.json["id"] == said["id"]
    assert shared.json["body"] == "It never came"
    assert shared.json["shared_at"] is not None
    again = client.post(share, headers=auth)
    assert again.status_code == 200
    assert again.json["shared_at"] == shared.json["shared_at"]
    assert "It never came" in carrier_reads()
    assert "We look into it" not in carrier_reads()
    event = [
        e
        for e in client.get(f"{base}/timeline", headers=theirs).json["entries"]
        if e["event"] == "entry_shared"
    ]
    assert [e["new_value"] for e in event] == [str(said["id"])]


def test_a_share_of_what_is_no_customer_message_is_refused(client, auth, kit, world, customer_case):
    base = f"/api/v1/cases/{customer_case.number}"
    opening = next(
        e
        for e in client.get(f"{base}/timeline", headers=auth).json["entries"]
        if e["body"] == "Your parcel"
    )
    refused = client.post(f"{base}/entries/{opening['id']}/share", headers=auth)
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    assert "entry" in refused.json["errors"]
    for entry_id in (999999, 2**31):
        missing = client.post(f"{base}/entries/{entry_id}/share", headers=auth)
        assert missing.status_code in (400, 404)
        assert missing.mimetype == "application/problem+json"
    assert client.post(f"{base}/entries/999999/share", headers=auth).status_code == 404
    other = kit.cases.open(world.shipper_actor, type="lost")
    said = next(
        e
        for e in client.get(f"{base}/timeline", headers=auth).json["entries"]
        if e["body"] == "It never came"
    )
    elsewhere = f"/api/v1/cases/{other.number}/entries/{said['id']}/share"
    assert client.post(elsewhere, headers=auth).status_code == 404


def test_the_carrier_reads_its_status_and_its_latest_message(
    client, auth, kit, world, customer_case
):
    number = customer_case.number
    theirs = carrier_key(kit, world, scope="read")
    kit.clock.advance(hours=1)
    kit.messages.post(world.customer_actor, number, "Still nothing")
    mine = client.get(f"/api/v1/cases/{number}", headers=auth).json
    # The customer wrote last: the shipper's reply received; the carrier's case
    # is still new, last updated when it was opened.
    assert mine["status"] == "reply_received"
    case = client.get(f"/api/v1/cases/{number}", headers=theirs).json
    assert case["status"] == "new"
    assert case["updated_at"] == case["created_at"] < mine["updated_at"]
    row = next(
        r
        for r in client.get("/api/v1/cases?view=all_cases", headers=theirs).json["cases"]
        if r["number"] == number
    )
    assert row["status"] == "new"
    assert row["updated_at"] == case["updated_at"]
    # Its latest message is the latest it reads: the shipper's opening one, for everyone.
    opening = next(
        e
        for e in client.get(f"/api/v1/cases/{number}/timeline", headers=theirs).json["entries"]
        if e["body"] == "Your parcel"
    )
    assert case["latest_message_at"] == opening["created_at"]
    assert row["latest_message_at"] == opening["created_at"]
    assert mine["latest_message_at"] > opening["created_at"]
    filtered = client.get(
        "/api/v1/cases",
        query_string={
            "view": "all_cases",
            "filters": '[{"field": "status", "op": "in", "value": ["reply_received"]}]',
        },
        headers=theirs,
    )
    assert filtered.status_code == 200
    assert [r["number"] for r in filtered.json["cases"]] == []
