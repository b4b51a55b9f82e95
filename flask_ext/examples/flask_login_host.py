"""A host app that signs people in with Flask-Login and hands casekit their actor.

Run it with ``flask --app flask_login_host run`` after ``pip install
casekit-flask flask-login``; sign in at ``/login/<email>`` (a stand-in for
the host's real sign-in form).
"""

from __future__ import annotations

from flask import Flask, abort, redirect
from flask_login import LoginManager, UserMixin, current_user, login_user

from casekit import Actor, CaseKit, OrgRole
from casekit_flask import CaseKitFlask


class Account(UserMixin):
    """The host's own account: a staff user or a customer, known to casekit by id."""

    def __init__(self, email: str, actor: Actor) -> None:
        self.id = email
        self.actor = actor


def create_app(kit: CaseKit, accounts: dict[str, Account]) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "change me"
    login_manager = LoginManager(app)

    @login_manager.user_loader
    def load_account(email: str) -> Account | None:
        return accounts.get(email)

    casekit_flask = CaseKitFlask(kit=kit)

    @casekit_flask.identity_loader
    def casekit_actor() -> Actor | None:
        # casekit asks once per request; anonymous visitors get None.
        return current_user.actor if current_user.is_authenticated else None

    casekit_flask.init_app(app)

    @app.get("/login/<email>")
    def login(email: str):  # the host's sign-in, reduced to a link for the example
        account = accounts.get(email)
        if account is None:
            abort(404)
        login_user(account)
        return redirect("/cases/")

    return app


def example_accounts(kit: CaseKit) -> dict[str, Account]:
    """One shipper with one agent, and one customer of it."""
    host = Actor.host()
    shop = kit.directory.add_organization(host, name="Example Shop", role=OrgRole.SHIPPER)
    assert shop.id is not None
    agent = kit.directory.add_user(host, org_id=shop.id, name="Ann Agent", email="ann@shop.test")
    customer = kit.directory.add_customer(host, shipper_org_id=shop.id, email="cy@example.test")
    return {
        "ann@shop.test": Account("ann@shop.test", Actor.of_user(agent)),
        "cy@example.test": Account("cy@example.test", Actor.of_customer(customer)),
    }
