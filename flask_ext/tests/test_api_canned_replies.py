"""Canned replies over REST: keep them, render one, apply one to several cases, usage."""

from __future__ import annotations

from conftest import login

from casekit import Actor

PROBLEM = "application/problem+json"
API = "/api/v1/canned-replies"


def test_keep_render_apply_and_count_over_rest(client, kit, world, customer_case):
    """An API key keeps the organization's replies; a user renders one for a case and
    applies it to two cases (one of which refuses it); the figures count both uses."""
    key = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="TMS", scope="write"
    ).token
    auth = {"Authorization": f"Bearer {key}"}
    created = client.post(
        API,
        json={
            "title": "Ask for photos",
            "body": "Hello {{ customer.first_name }}, photos of {{ order.number }} please.",
            "audience": "customer",
            "actions": {"status": "waiting", "watchers": [world.shipper_agent.id]},
        },
        headers=auth,
    )
    assert created.status_code == 201, created.json
    reply = created.json
    assert created.headers["Location"].endswith(f"{API}/{reply['id']}")
    assert (reply["personal"], reply["actions"]) == (
        False,
        {"status": "waiting", "watchers": [world.shipper_agent.id]},
    )
    listed = client.get(API, headers=auth).json
    assert [r["id"] for r in listed["replies"]] == [reply["id"]]
    assert "customer.first_name" in listed["variables"]

    login(client, world.shipper_actor)
    # Without a key: the signed-in agent, who keeps a reply of their own.
    own = client.post(
        API, json={"title": "Mine", "body": "Thanks!", "audience": "partners", "personal": True}
    )
    assert own.status_code == 201, own.json
    rendered = client.post(f"{API}/{reply['id']}/render", json={"case": customer_case.number})
    assert rendered.status_code == 200, rendered.json
    assert rendered.json["body"] == "Hello Casey, photos of O-7 please."
    assert rendered.json["audience"] == "customer"
    # A case of another shipper: not found; the cases before and after it go on.
    other = kit.directory.add_organization(Actor.host(), name="Other", role="shipper")
    olga = kit.directory.add_user(Actor.host(), org_id=other.id, name="Olga", email="o@o.test")
    theirs = kit.cases.open(Actor.of_user(olga), type="lost", message="Ours")
    done = client.post(
        f"{API}/{reply['id']}/apply",
        json={"cases": [customer_case.number, theirs.number, customer_case.number]},
    )
    assert done.status_code == 200, done.json
    first, second = done.json["results"]
    assert (first["applied"], first["status"], first["case"]["status"]) == (True, 200, "waiting")
    assert first["entry"]["body"] == rendered.json["body"]
    assert first["case"]["watcher_ids"] == [world.shipper_agent.id]
    assert (second["number"], second["applied"], second["status"]) == (theirs.number, False, 404)
    usage = client.get(f"{API}/usage").json["replies"]
    assert [(u["title"], u["uses"], u["inserted"], u["applied"]) for u in usage] == [
        ("Ask for photos", 2, 1, 1),
        ("Mine", 0, 0, 0),
    ]
    assert usage[0]["last_used_by"] == "Sam Shipper"
    later = client.get(f"{API}/usage", query_string={"since": "2999-01-01T00:00:00+00:00"})
    assert [u["uses"] for u in later.json["replies"]] == [0, 0]
    # The key sees the organization's reply, not the agent's own.
    assert [r["title"] for r in client.get(API, headers=auth).json["replies"]] == ["Ask for photos"]
    assert client.get(f"{API}/{own.json['id']}", headers=auth).status_code == 404
    # The agent may not change the organization's reply; their own, yes.
    refused = client.patch(
        f"{API}/{reply['id']}", json={"title": "x", "body": "x", "audience": "internal"}
    )
    assert refused.status_code == 403
    changed = client.patch(
        f"{API}/{own.json['id']}", json={"title": "Mine too", "body": "x", "audience": "internal"}
    )
    assert (changed.status_code, changed.json["title"]) == (200, "Mine too")
    assert client.delete(f"{API}/{own.json['id']}").status_code == 204
    assert client.get(f"{API}/{own.json['id']}").status_code == 404


def test_bad_input_is_a_400_naming_each_field(client, kit, world, customer_case):
    login(client, world.shipper_manager_actor)

    def problem(response, status=400):
        assert response.status_code == status, response.data[:400]
        assert response.mimetype == PROBLEM
        return response.json

    bad = problem(
        client.post(
            API,
            json={
                "title": "t",
                "body": "{% if %}",
                "audience": "internal",
                "actions": {"owner": "someone", "colour": "red"},
            },
        )
    )
    assert set(bad["errors"]) == {"body", "actions.owner", "actions.colour"}
    assert set(problem(client.post(API, json={"title": "", "audience": "x"}))["errors"]) == {
        "title",
        "body",
        "audience",
    }
    assert "nope" in problem(client.post(API, json={"nope": 1}))["errors"]
    ok = client.post(
        API,
        json={
            "title": "Fails",
            "body": "{{ 1 // 0 if case.number == 'x' else 1 // (order.brand|length) }}",
            "audience": "internal",
        },
    )
    assert ok.status_code == 201, ok.json
    # Renders on the sample, not on this case (its order has no brand): a 400, not a 500.
    failed = problem(
        client.post(f"{API}/{ok.json['id']}/render", json={"case": customer_case.number})
    )
    assert list(failed["errors"]) == ["body"]
    applied = client.post(f"{API}/{ok.json['id']}/apply", json={"cases": [customer_case.number]})
    assert applied.json["results"][0]["status"] == 400
    assert list(applied.json["results"][0]["errors"]) == ["body"]
    assert (
        "cases"
        in problem(client.post(f"{API}/{ok.json['id']}/apply", json={"cases": []}))["errors"]
    )
    assert "case" in problem(client.post(f"{API}/{ok.json['id']}/render", json={}))["errors"]
    assert "since" in problem(client.get(f"{API}/usage?since=yesterday"))["errors"]
    problem(client.post(f"{API}/999/render", json={"case": customer_case.number}), 404)
    # A stranger to the organization finds nothing.
    other = kit.directory.add_organization(Actor.host(), name="Other", role="shipper")
    olga = kit.directory.add_user(Actor.host(), org_id=other.id, name="Olga", email="o@o.test")
    login(client, Actor.of_user(olga))
    assert client.get(API).json["replies"] == []
    problem(client.get(f"{API}/{ok.json['id']}"), 404)
    problem(
        client.post(f"{API}/{ok.json['id']}/apply", json={"cases": [customer_case.number]}), 404
    )


def test_priority_and_the_organizations_own_tags_over_rest(client, kit, world, customer_case):
    """A reply's priority and tags round-trip; another organization's tag, a tag both
    added and removed or a bad priority is a 400 naming the action; applied, the reply
    sets them, and the carrier reads the priority, never the shipper's tags."""
    mia = world.shipper_manager_actor
    vip = kit.tags.create(mia, "VIP").id
    theirs = kit.tags.create(world.carrier_manager_actor, "Theirs").id
    login(client, mia)
    reply = {"title": "Escalate", "body": "Escalated.", "audience": "internal"}
    for actions, field in (
        ({"add_tags": [theirs]}, "actions.add_tags"),
        ({"remove_tags": [theirs]}, "actions.remove_tags"),
        ({"add_tags": [vip], "remove_tags": [vip]}, "actions.remove_tags"),
        ({"add_tags": "VIP"}, "actions.add_tags"),
        ({"priority": 3}, "actions.priority"),
    ):
        refused = client.post(API, json=reply | {"actions": actions})
        assert refused.status_code == 400, actions
        assert list(refused.json["errors"]) == [field], refused.json
        assert "Theirs" not in refused.text
    created = client.post(API, json=reply | {"actions": {"priority": "high", "add_tags": [vip]}})
    assert created.status_code == 201, created.json
    assert created.json["actions"] == {"priority": "high", "add_tags": [vip]}
    number = customer_case.number
    applied = client.post(f"{API}/{created.json['id']}/apply", json={"cases": [number]})
    [result] = applied.json["results"]
    assert result["status"] == 200, result
    assert result["case"]["priority"] == "high"
    assert [t["name"] for t in result["case"]["tags"]] == ["VIP"]
    carrier_view = kit.cases.get(world.carrier_actor, number)
    assert (carrier_view.priority.value, carrier_view.tags) == ("high", ())
