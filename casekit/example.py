"""A scripted example: open, work and solve a case, then print its timeline.

``casekit example`` runs it on a fresh SQLite database. It shows the four
audiences at work: the merchant (the shipper) talks with its customer
without the carrier listening, shares the one customer message the carrier
needs (the photos) and asks the carrier about it for partners; the carrier
never reads the shipper's internal note nor the rest of its conversation
with its customer, and the customer never reads what the partners say.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from casekit.attachments import Upload
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind
from casekit.domain.shipment import Direction, Mode, ShipmentFacts
from casekit.kit import CaseKit
from casekit.query.models import EntryView
from casekit.sample import World

Echo = Callable[[str], None]


def run_example(kit: CaseKit, echo: Echo = print) -> str:
    """Play one case from opening to solving; return its number."""
    kit.create_schema()
    world = World.build(kit)
    shipper, carrier, customer = world.shipper_actor, world.carrier_actor, world.customer_actor
    names = _names(world)

    number = _open(kit, world)
    echo(f"Opened {number}: a customer's feedback on a damaged sofa.")
    kit.cases.take(shipper, number)
    kit.cases.change_type(shipper, number, "osd_damaged")
    kit.messages.post(
        shipper,
        number,
        "We are sorry! Could you send us photos of the cover and of the box?",
        audience=Audience.CUSTOMER,
    )
    photos = kit.messages.post(
        customer,
        number,
        "Here they are: the cover is torn along the back, and the box has a hole.",
        attachments=[_photo("cover.jpg"), _photo("box.jpg")],
    )
    kit.messages.post(
        shipper,
        number,
        "Refund approved if the carrier confirms damage.",
        audience=Audience.INTERNAL,
    )
    kit.cases.share_with_carrier(shipper, number, photos.id)
    names[("entry", photos.id)] = "the customer's photos"
    kit.messages.post(
        shipper,
        number,
        'Our customer writes: "the box has a hole" (photos shared above). '
        "Please confirm the damage noted at delivery.",
        audience=Audience.PARTNERS,
    )
    kit.messages.post(
        carrier,
        number,
        "Driver noted a torn cover on the POD; photo attached.",
        attachments=[_photo("pod-photo.jpg")],
    )
    kit.cases.set_crm_number(shipper, number, "ZD-88231")
    kit.messages.post(
        shipper,
        number,
        "The carrier confirmed the damage: a replacement cover ships tomorrow.",
        audience=Audience.CUSTOMER,
    )
    kit.messages.post(customer, number, "Thank you, that works for me.")
    kit.cases.solve(shipper, number)

    for title, actor in (
        ("the shipper", shipper),
        ("the carrier", carrier),
        ("the customer", customer),
    ):
        view = kit.cases.get(actor, number)
        echo("")
        echo(f"{number} as {title} sees it — status {view.status.label}")
        for entry in kit.cases.timeline(actor, number):
            echo("  " + describe(entry, names))
    return number


def _open(kit: CaseKit, world: World) -> str:
    view = kit.cases.open(
        world.customer_actor,
        subject="My sofa arrived with a torn cover",
        message="Hello, the sofa from order 1042 arrived today and the cover is torn.",
    )
    kit.cases.link_shipment(
        Actor.host(),
        view.number,
        ShipmentFacts(
            reference="SHP-1042",
            carrier=world.carrier.external_id,
            tracking_number="FF123456789",
            order_number="1042",
            destination_name="Casey Customer",
            destination_postal_code="30301",
            mode=Mode.FREIGHT,
            direction=Direction.OUTBOUND,
            brand="Acme Home",
        ),
    )
    return view.number


def _photo(filename: str) -> Upload:
    return Upload(filename, io.BytesIO(b"\xff\xd8\xff" + b"0" * 2048), "image/jpeg")


def _names(world: World) -> dict[tuple[str, int | None], str]:
    return {
        ("user", world.shipper_agent.id): f"{world.shipper_agent.name} ({world.shipper.name})",
        ("user", world.carrier_agent.id): f"{world.carrier_agent.name} ({world.carrier.name})",
        ("customer", world.customer.id): f"{world.customer.name} (customer)",
        ("org", world.carrier.id): world.carrier.name,
    }


_NAMED_VALUES = {
    EventKind.OWNER_CHANGED: "user",
    EventKind.CARRIER_CHANGED: "org",
    EventKind.ENTRY_SHARED: "entry",
}


def describe(entry: EntryView, names: dict[tuple[str, int | None], str]) -> str:
    """One timeline line: when, who, what, and for whom."""
    key = ("user", entry.user_id) if entry.user_id else ("customer", entry.customer_id)
    who = names.get(key) or (entry.system and f"system:{entry.system}") or entry.actor_kind
    when = entry.created_at.strftime("%Y-%m-%d %H:%M")
    if entry.event is not None:
        change = entry.event.value.replace("_", " ")
        kind = _NAMED_VALUES.get(entry.event)
        values = [v for v in (entry.old_value, entry.new_value) if v]
        if kind is not None:
            values = [names.get((kind, int(v)), v) for v in values]
        detail = " -> ".join(values)
        return f"{when}  {who}: {change}{f' ({detail})' if detail else ''}"
    files = "".join(f" [attachment {a.filename}, {a.size} bytes]" for a in entry.attachments)
    shared = ", shared with the carrier" if entry.shared_at is not None else ""
    return f"{when}  {who} to {entry.audience.value}{shared}: {entry.body}{files}"
