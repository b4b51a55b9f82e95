"""A Flask-SQLAlchemy host whose own rows and casekit's case commit together.

The host ships a replacement for a damaged order: it writes its own
``Replacement`` row and opens a casekit case about the damage in the same
transaction, ``db.session``'s. When the host then finds no stock, it rolls
back, and neither the replacement nor the case (nor its notifications, nor
its timeline) is left; casekit's signals are sent only once the host commits.

Run it with ``flask --app flask_sqlalchemy_host run`` after ``pip install
casekit-flask flask-sqlalchemy``, then ``curl -X POST -d quantity=1
localhost:5000/orders/1001/damaged``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casekit import Actor, CaseKit, OrgRole


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Replacement(db.Model):
    """The host's own table, in the same database as casekit's."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    case_number: Mapped[str] = mapped_column(String(40))


STOCK = 5  # what the host's warehouse has left, for the example


def create_app(database_url: str = "sqlite:///host.sqlite3", **kit_options: Any) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    db.init_app(app)
    with app.app_context():
        # One engine for the host and casekit: the host's.
        kit = CaseKit(engine=db.engine, **kit_options)
        kit.create_schema()
        db.create_all()
    app.extensions["casekit_kit"] = kit
    host = Actor.host()
    shop = kit.directory.add_organization(host, name="Example Shop", role=OrgRole.SHIPPER)

    @app.post("/orders/<number>/damaged")
    def damaged(number: str) -> tuple[dict[str, Any], int]:
        quantity = request.form.get("quantity", type=int)
        if quantity is None or quantity < 1:
            return {"errors": {"quantity": ["a whole number, at least 1"]}}, 400
        # The kit, working in db.session's transaction (the current request's).
        case = kit.bind(db.session).cases.open(
            host,
            shipper=shop.id,
            type="osd_damaged",
            subject=f"Order {number} arrived damaged",
            message=f"Replacing {quantity} item(s).",
        )
        db.session.add(Replacement(order_number=number, quantity=quantity, case_number=case.number))
        shipped = db.session.query(db.func.sum(Replacement.quantity)).scalar() or 0
        if shipped > STOCK:
            db.session.rollback()  # the replacement and the case, both gone
            return {"errors": {"quantity": [f"only {STOCK} in stock"]}}, 409
        db.session.commit()  # both kept; casekit's signals are sent now
        return {"case": case.number}, 201

    return app
