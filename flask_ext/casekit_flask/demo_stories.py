"""The demo's cases as stories told over hours and days: who opens each, who answers, when.

:func:`~casekit_flask.demo.load_demo_data` casts the stories and :func:`play` runs them
together on the loader's clock in time order, so that each entry of a case has its
own time (a first response minutes or hours after the opening, a solve days later),
the cases reach up to today and the numbers follow the opening times. Each speaker
has their own words: a customer writes about their order, the merchant's staff about
the shipment, the carrier about its delivery.
"""

from __future__ import annotations

import heapq
import io
import random
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import attrs

from casekit import Actor, CaseKit, ShipmentFacts
from casekit.attachments import Upload
from casekit.domain.directory import Customer
from casekit.domain.shipment import ExceptionKind, ShipmentEvent, ShipmentStatus

#: A story acts, then yields how long until it acts again.
Story = Iterator[timedelta]

#: How far back the oldest case of the demo was opened, in days.
SPAN_DAYS = 88
#: About how long a story takes from its opening to its last entry; younger cases go faster.
STORY_DAYS = 3.0


def opened_at(index: int, count: int, now: datetime, *, seed: int = 7) -> datetime:
    """When the demo's case ``index`` of ``count`` opens: spread over :data:`SPAN_DAYS` up to
    an hour or two ago, denser towards today (every dashboard range has cases)."""
    rng = random.Random(f"{seed}-{index}")
    share = (count - index - 0.5) / max(count, 1)
    day = (now - timedelta(days=SPAN_DAYS * share**1.6)).replace(hour=0, minute=0, second=0)
    # In the working day of the merchant's customers (about 8 am to 6 pm in Chicago).
    at = day.replace(microsecond=0) + timedelta(minutes=rng.randint(14 * 60, 23 * 60 + 30))
    latest = now - timedelta(minutes=rng.randint(40, 180))
    return at if at <= latest else min(at - timedelta(days=1), latest)


@attrs.frozen
class Topic:
    """What a case is about, in each speaker's words."""

    type: str
    subject: str  # the customer's title for it in the portal
    customer: str  # how the customer opens it
    staff: str  # how the merchant's staff open it (to the carrier)
    to_carrier: str  # the merchant's question to the carrier
    carrier: str  # the carrier's answer
    to_customer: str  # the merchant's answer to its customer
    customer_reply: str  # the customer's answer to that
    closing: str  # the merchant's last word to its customer


TOPICS = (
    Topic(
        type="where_is_my_order",
        subject="My order has not moved",
        customer="The tracking page has not changed for three days. When will my order arrive?",
        staff="The customer reports no tracking update for three days. Where is the parcel?",
        to_carrier="Can you check the last scan? The customer has waited three days.",
        carrier="Found it: it was missorted at our hub and is back on the truck today.",
        to_customer="We checked with the carrier: your parcel is on its way again and should "
        "arrive within two days.",
        customer_reply="Thanks for checking, I will keep an eye on the tracking.",
        closing="It shows as delivered this morning. Enjoy your order!",
    ),
    Topic(
        type="osd_shortage",
        subject="Part of my order is missing",
        customer="Only two of the three boxes arrived. Where is the rest of my order?",
        staff="The consignee received two of three cartons. Please check the terminal for "
        "the third.",
        to_carrier="Is the third carton still at your terminal? The delivery receipt says three.",
        carrier="The third carton was left on the dock; it goes out on tomorrow's route.",
        to_customer="The last box was held back at the carrier's depot; it comes tomorrow.",
        customer_reply="Good to know, I will be home tomorrow.",
        closing="The last box was delivered today, so your order is complete.",
    ),
    Topic(
        type="lost",
        subject="My order never came",
        customer="The tracking says delivered, but nothing was at my door or with my neighbours.",
        staff="No scan since pickup eight days ago. Please open a trace.",
        to_carrier="Please open a trace and confirm the last location you scanned it at.",
        carrier="Trace opened. No scan after our Denver hub; we will confirm within 48 hours.",
        to_customer="We are sorry. We are sending a replacement today, at no cost to you.",
        customer_reply="Thank you, that is very kind. I will let you know when it arrives.",
        closing="The replacement was delivered today. Thank you for your patience!",
    ),
    Topic(
        type="where_is_my_order",
        subject="Delivery date keeps moving",
        customer="The estimated delivery date moved twice this week. Will it come before Friday?",
        staff="The estimated date slipped twice; the promised date is Friday. Can you make it?",
        to_carrier="Can you confirm it goes out for delivery before Friday?",
        carrier="Confirmed for Thursday; it is on the first truck out of our terminal.",
        to_customer="The carrier confirmed delivery on Thursday, in time for Friday.",
        customer_reply="Perfect, thank you for the quick answer.",
        closing="Delivered on Thursday as promised. Have a good weekend!",
    ),
)

DAMAGED = Topic(
    type="osd_damaged",
    subject="The box arrived damaged",
    customer="The box arrived with a crushed corner and a wet side, and the lamp inside is "
    "broken. I have photos.",
    staff="The consignee reports a crushed box at delivery. Was the damage noted on the POD?",
    to_carrier="Was the damage noted on the delivery receipt? The customer is sending photos.",
    carrier="Yes: our driver noted a damaged corner on the delivery receipt. Claim form attached "
    "to follow.",
    to_customer="We are sorry! Could you send us photos of the box and of the lamp?",
    customer_reply="The box arrived with a crushed corner and a wet side; photos attached.",
    closing="A new lamp ships today; keep the broken one, no need to send it back.",
)

SCHEDULING = Topic(
    type="delivery_scheduling",
    subject="Choosing a delivery day",
    customer="I am away until Wednesday. Can the delivery come later in the week?",
    staff="The consignee is away until Wednesday. Please schedule the delivery after that.",
    to_carrier="Which afternoons do you have after Wednesday?",
    carrier="Booked for Thursday 1-5 pm; the driver calls 30 minutes ahead.",
    to_customer="{carrier} can deliver on Thursday between 1 and 5 pm. Does that suit you?",
    customer_reply="Thursday afternoon works; please call 30 minutes ahead.",
    closing="Delivered on Thursday. Thank you for making time for it!",
)

#: The merchant's question to the carrier once it has shared its customer's photos.
SHARED_PHOTOS = (
    'Our customer writes: "a crushed corner and a wet side" (photos shared above). '
    "Was the damage noted at delivery?"
)
#: A customer's answer on a damaged box whose carrier is not on casekit.
NO_PHOTOS_YET = "I will take photos of the box tonight and send them."

#: How a carrier's staff open a case with the merchant, and the merchant's answer.
CARRIER_OPENINGS = (
    (
        "delivery_scheduling",
        "Our driver could not reach the consignee at the door. Please confirm the phone number.",
        "The number on the order is right; the customer asks for a call 30 minutes ahead.",
    ),
    (
        "address_correction",
        "We are holding the shipment at our terminal: the address has no apartment number.",
        "The apartment is 4B; the customer confirmed it by phone.",
    ),
    (
        "delivery_scheduling",
        "The consignee asked us to deliver after 3 pm on weekdays. May we rebook?",
        "Yes, please rebook for any weekday after 3 pm.",
    ),
)

#: The merchant's notes to itself.
INTERNAL_NOTES = (
    "Customer is a repeat buyer.",
    "Second issue with this customer this month; offer a voucher if it drags on.",
    "Refund approved if the carrier confirms the damage.",
)


@attrs.define
class Cast:
    """Who plays in the stories, and the record of what they opened."""

    kit: CaseKit
    rng: random.Random
    now: datetime
    merchant_id: int
    staff: list[Actor]
    carrier_staff: list[Actor]
    numbers: list[str] = attrs.field(factory=list)

    def pace(self, opened: datetime) -> float:
        """How fast a story opened at ``opened`` goes: 1, or faster when it is young, so
        that it ends before now."""
        left = (self.now - opened).total_seconds() - 600
        return max(0.01, min(1.0, left / (STORY_DAYS * 86400)))


def play(clock: Any, stories: Iterable[tuple[datetime, Story]]) -> None:
    """Run ``stories`` together in time order: each starts at its time and acts again
    when the pause it yields is over, with ``clock`` (a
    :class:`~casekit.FrozenClock`) moved to each step's time first."""
    advance = getattr(clock, "advance", None)
    queue = [(start, i, story) for i, (start, story) in enumerate(stories)]
    heapq.heapify(queue)
    while queue:
        when, i, story = heapq.heappop(queue)
        if advance is not None and when > clock.now():
            advance(when - clock.now())
        try:
            pause = next(story)
        except StopIteration:
            continue
        heapq.heappush(queue, (when + pause, i, story))


def _wait(cast: Cast, pace: float, low: float, high: float) -> timedelta:
    """A pause of ``low`` to ``high`` hours, at the story's pace."""
    return timedelta(hours=cast.rng.uniform(low, high) * pace)


def merchant_story(
    cast: Cast,
    *,
    index: int,
    kind: str,
    status: int,
    facts: ShipmentFacts,
    customer: Customer,
    opened: datetime,
) -> Story:
    """A case of the merchant's: from its customer's portal (``portal``), opened by its
    staff (``staff``, ``unowned``), a damaged box (``damaged``) or a delivery to schedule
    (``scheduling``); then worked up to ``status`` (0 new ... 4 solved). ``index`` is
    the case's place among the demo's."""
    kit, rng = cast.kit, cast.rng
    pace = cast.pace(opened)
    # A customer's cases (every 12th) are about different things.
    topic = {"damaged": DAMAGED, "scheduling": SCHEDULING}.get(kind) or TOPICS[
        (index + index // 12) % len(TOPICS)
    ]
    as_customer = Actor.of_customer(customer)
    staff = rng.choice(cast.staff)
    carrier_name = facts.carrier_name or "The carrier"
    if kind == "portal":
        case = kit.cases.open(
            as_customer, order=facts.order_number, subject=topic.subject, message=topic.customer
        )
    else:
        case = kit.cases.open(
            staff,
            type=topic.type,
            shipment=facts.reference,
            order=facts.order_number,
            customer=customer.id,
            subject=topic.subject,
            message=topic.staff,
            take_ownership=kind != "unowned",
        )
    number = case.number
    cast.numbers.append(number)
    # The carrier's staff take part when it is on the case and on casekit (Swift Parcel).
    swift = case.carrier_org_id is not None and facts.carrier == "swift"
    if status < 1:
        return
    yield _wait(cast, pace, 0.3, 5)
    kit.messages.post(staff, number, topic.to_carrier)
    if status < 2 or case.customer_id is None:
        return
    yield _wait(cast, pace, 0.2, 2)
    to_customer = topic.to_customer.format(carrier=carrier_name)
    if kind == "scheduling":  # the merchant, its customer and the carrier: one exchange
        kit.messages.post(staff, number, to_customer, audience="everyone")
    else:  # the merchant and its customer, without the carrier
        kit.messages.post(staff, number, to_customer, audience="customer")
    yield _wait(cast, pace, 0.05, 0.5)
    colleague = rng.choice([s for s in cast.staff if s != staff])  # a word to the owner
    kit.messages.post(colleague, number, rng.choice(INTERNAL_NOTES), audience="internal")
    if status < 3:
        return
    yield _wait(cast, pace, 1, 14)
    if kind == "scheduling":
        kit.messages.post(as_customer, number, topic.customer_reply, audience="everyone")
        if swift:
            yield _wait(cast, pace, 0.5, 6)
            kit.messages.post(rng.choice(cast.carrier_staff), number, topic.carrier)
    elif kind == "damaged" and swift:  # the carrier needs the customer's photos: shared
        photos = kit.messages.post(
            as_customer,
            number,
            topic.customer_reply,
            attachments=[_photo("corner.jpg"), _photo("side.jpg")],
        )
        yield _wait(cast, pace, 0.2, 3)
        kit.cases.share_with_carrier(staff, number, photos.id)
        kit.messages.post(staff, number, SHARED_PHOTOS)
        yield _wait(cast, pace, 2, 20)
        kit.messages.post(rng.choice(cast.carrier_staff), number, topic.carrier)
    else:
        if swift:
            kit.messages.post(rng.choice(cast.carrier_staff), number, topic.carrier)
            yield _wait(cast, pace, 1, 8)
        reply = NO_PHOTOS_YET if kind == "damaged" else topic.customer_reply
        kit.messages.post(as_customer, number, reply)
    if status < 4:
        return
    yield _wait(cast, pace, 4, 30)
    kit.messages.post(staff, number, topic.closing, audience="customer")
    yield _wait(cast, pace, 0.05, 0.3)
    kit.cases.solve(staff, number)


def carrier_story(
    cast: Cast, *, status: int, facts: ShipmentFacts, shipper_id: int, opened: datetime
) -> Story:
    """A case the carrier's staff open with a shipper about a delivery; the shipper's
    staff answer (or, for a shipper that only gets email, its address is told)."""
    kit, rng = cast.kit, cast.rng
    pace = cast.pace(opened)
    case_type, says, answer = rng.choice(CARRIER_OPENINGS)
    carrier = rng.choice(cast.carrier_staff)
    case = kit.cases.open(
        carrier, type=case_type, shipper=shipper_id, shipment=facts.reference, message=says
    )
    cast.numbers.append(case.number)
    if status < 1:
        return
    yield _wait(cast, pace, 0.3, 4)
    if shipper_id == cast.merchant_id:
        kit.messages.post(rng.choice(cast.staff), case.number, answer)
    else:
        kit.messages.post(carrier, case.number, "Any news? The shipment waits at our terminal.")
    if status < 4:
        return
    yield _wait(cast, pace, 1, 10)
    kit.messages.post(carrier, case.number, "Delivered today. Thank you!")
    kit.cases.solve(carrier, case.number)


def rule_story(
    cast: Cast, *, status: int, facts: ShipmentFacts, carrier_id: int, opened: datetime
) -> Story:
    """The carrier's tracking reports a damaged or misaddressed shipment and one of the
    merchant's rules opens the case (source ``rule``); the staff then work it."""
    kit, rng = cast.kit, cast.rng
    pace = cast.pace(opened)
    exception = rng.choice((ExceptionKind.DAMAGED, ExceptionKind.ADDRESS_ISSUE))
    tracking = Actor.system_actor("api", org_id=carrier_id)
    report = kit.shipments.record_events(
        tracking,
        [
            ShipmentEvent(
                status=ShipmentStatus.EXCEPTION,
                exception=exception,
                reference=facts.reference,
                occurred_at=kit.clock.now(),
                description=exception.value.replace("_", " "),
                source="demo",
            )
        ],
    )
    if not report.opened:
        return
    number = report.opened[0]
    cast.numbers.append(number)
    if status < 1:
        return
    yield _wait(cast, pace, 0.3, 4)
    staff = rng.choice(cast.staff)
    kit.messages.post(staff, number, "Please send the exception photos and the next step.")
    if status < 3 or facts.carrier != "swift":
        return
    yield _wait(cast, pace, 1, 10)
    kit.messages.post(
        rng.choice(cast.carrier_staff), number, "Re-delivery booked for tomorrow morning."
    )
    if status < 4:
        return
    yield _wait(cast, pace, 10, 30)
    kit.shipments.record_events(
        tracking,
        [
            ShipmentEvent(
                status=ShipmentStatus.DELIVERED,
                reference=facts.reference,
                occurred_at=kit.clock.now(),
                description="delivered",
                source="demo",
            )
        ],
    )
    if kit.cases.get(Actor.host(), number).status.value != "solved":
        kit.cases.solve(staff, number)


def _photo(filename: str) -> Upload:
    """A small stand-in for a customer's photo."""
    return Upload(filename, io.BytesIO(b"\xff\xd8\xff" + b"0" * 4096), "image/jpeg")
