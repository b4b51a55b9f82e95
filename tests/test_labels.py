"""casekit's words: every code shown to people has a label, and each is said one way."""

from __future__ import annotations

import enum
import re

import pytest

from casekit import labels
from casekit.domain.actor import ActorKind, SystemName
from casekit.domain.apikeys import ApiScope
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind, Side, Source
from casekit.domain.case_address import UnknownSenders
from casekit.domain.directory import OrgRole, UserRole
from casekit.domain.notify import TEMPLATE_NAMES, NotifyEvent, RecipientKind
from casekit.domain.rules import OwnerStrategy, Tier, TimeCondition
from casekit.domain.shipment import Direction, ExceptionKind, Mode, ShipmentStatus
from casekit.domain.workflow import Category, Status
from casekit.query.filters import FIELDS, OPERATORS, Kind
from casekit.query.listing import BuiltinView
from casekit.query.timing import Granularity
from casekit.services.inbound_intake import Outcome
from casekit.webhooks import WebhookEvent

ENUMS: dict[str, type[enum.Enum]] = {
    "status": Status,
    "category": Category,
    "source": Source,
    "side": Side,
    "audience": Audience,
    "actor_kind": ActorKind,
    "system": SystemName,
    "event": EventKind,
    "mode": Mode,
    "direction": Direction,
    "shipment_status": ShipmentStatus,
    "exception": ExceptionKind,
    "role": OrgRole,
    "user_role": UserRole,
    "recipient_kind": RecipientKind,
    "api_scope": ApiScope,
    "notify_event": NotifyEvent,
    "webhook_event": WebhookEvent,
    "unknown_senders": UnknownSenders,
    "inbound_outcome": Outcome,
    "view": BuiltinView,
    "granularity": Granularity,
    "time_condition": TimeCondition,
    "owner_strategy": OwnerStrategy,
    "tier": Tier,
}


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_every_value_of_every_enum_has_its_words(name):
    words = labels.VOCABULARIES[name]
    codes = {str(member.value) for member in ENUMS[name]}
    assert set(words) == codes
    for code, text in words.items():
        assert text
        assert text.strip() == text
        assert "_" not in text, f"{name}.{code} reads as a code: {text!r}"
        if name != "actor_kind":  # "casekit" is a name
            assert text[0].isupper(), f"{name}.{code}: {text!r}"


def test_every_template_every_filter_choice_and_every_operator_has_its_words():
    assert set(labels.VOCABULARIES["template"]) == set(TEMPLATE_NAMES)
    assert set(labels.VOCABULARIES["operator"]) == {op for ops in OPERATORS.values() for op in ops}
    for name, spec in FIELDS.items():
        if spec.kind is Kind.CHOICE and spec.choices:
            shown = [labels.label(name, code) for code in spec.choices]
            assert all(text != code for text, code in zip(shown, spec.choices, strict=True)), name
        assert not re.search(r"[_]|^[a-z]", spec.label), spec.label


def test_one_word_for_a_solved_case_everywhere():
    assert Status.SOLVED.label == "Solved"
    assert labels.label("status", "solved") == labels.label("category", "solved") == "Solved"
    assert labels.label("has_event", "solved") == "Solved"
    assert FIELDS["closed_at"].label == "Solved date"
    words = {text for vocabulary in labels.VOCABULARIES.values() for text in vocabulary.values()}
    assert not {w for w in words if "Closed" in w}


def test_the_feedback_templates_say_who_reads_them():
    """``feedback_received`` tells the staff of new feedback; ``customer_feedback``
    is the reply the customer reads."""
    assert labels.label("template", "feedback_received").endswith("(to staff)")
    assert labels.label("template", "customer_feedback").endswith("(to the customer)")


def test_the_raw_values_people_saw_have_words():
    assert labels.label("source", "user") == "Staff"
    assert labels.label("source", Source.API) == "API"
    assert labels.label("system", "api") == "API"
    assert labels.label("mode", Mode.PARCEL) == "Parcel"
    assert labels.label("shipment_status", "delivered") == "Delivered"
    assert labels.label("status", "reply_received") == "Reply received"


def test_a_value_without_words_reads_as_plain_words_and_no_value_as_nothing():
    assert labels.label("shipment_status", "held_for_review") == "Held for review"
    assert labels.label("mode", None) == ""
    assert labels.label("mode", "") == ""
    assert labels.humanize("reply_received") == "Reply received"
    assert labels.humanize(Status.REPLY_RECEIVED) == "Reply received"
    with pytest.raises(KeyError):
        labels.label("no_such_vocabulary", "x")


def test_fields_are_named_as_the_pages_label_them():
    assert labels.field_label("body") == "Message"
    assert labels.field_label("crm_number") == "CRM case number"
    assert labels.field_label("carrier_collaborating") == "Collaborating by email"
    assert labels.field_label("some_new_field") == "Some new field"
    assert labels.field_label("filters.owner") == "Case owner"
    assert labels.field_label("filters.new_thing") == "New thing"


def test_the_vocabulary_of_a_list_of_codes():
    assert labels.vocabulary_of([s.value for s in Status]) is labels.VOCABULARIES["status"]
    assert labels.vocabulary_of(["parcel", "freight", None]) is labels.VOCABULARIES["mode"]
    assert labels.vocabulary_of(["parcel", "boat"]) is None


def test_the_audience_in_the_words_of_each_side():
    assert labels.audience_label("partners", "shipper") == "With the carrier"
    assert labels.audience_label("partners", "carrier") == "With the shipper"
    assert labels.audience_label(Audience.CUSTOMER) == "Customer conversation"
    assert labels.audience_label("customer", "carrier", shared=True) == "Shared by the shipper"
    assert labels.composer_label("partners", "carrier") == "To the shipper"
    assert labels.composer_label(Audience.EVERYONE) == "To everyone"


def test_not_found_names_a_case_by_its_number_in_capitals():
    assert labels.not_found_message("case", "cv999999") == "Case CV999999 was not found."
    assert labels.not_found_message("saved view", 7) == "Saved view 7 was not found."
    assert labels.not_found_message("order", "so-1") == "Order so-1 was not found."
