"""casekit's exceptions: one root, each also a builtin, each carrying its context."""

from __future__ import annotations

import pytest

import casekit
from casekit import (
    Audience,
    CaseKitError,
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    PermissionDenied,
)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ConfigurationError("x"), RuntimeError),
        (DatabaseUnavailable("x"), RuntimeError),
        (NotFound("case", "CV1"), LookupError),
        (PermissionDenied("x"), PermissionError),
        (Conflict("x"), RuntimeError),
        (InvalidInput({"x": ["bad"]}), ValueError),
    ],
)
def test_each_error_is_a_casekit_error_and_a_builtin(error, builtin):
    assert isinstance(error, CaseKitError)
    assert isinstance(error, builtin)
    with pytest.raises(builtin):
        raise error


def test_the_root_is_an_exception_not_a_builtin_subclass():
    assert CaseKitError.__mro__[1:] == (Exception, BaseException, object)


def test_errors_are_exported_from_casekit():
    for name in (
        "CaseKitError",
        "ConfigurationError",
        "Conflict",
        "DatabaseUnavailable",
        "InvalidInput",
        "NotFound",
        "PermissionDenied",
    ):
        assert name in casekit.__all__
        assert getattr(casekit, name) is getattr(casekit.errors, name)


def test_not_found_carries_what_was_looked_for():
    error = NotFound("case", "CV000042")
    assert (error.kind, error.key) == ("case", "CV000042")
    assert str(error) == "case 'CV000042' not found"


def test_permission_denied_says_why():
    error = PermissionDenied("only the shipper's staff may link an order")
    assert str(error) == "only the shipper's staff may link an order"
    assert isinstance(error, OSError)  # PermissionError is an OSError


def test_conflict_carries_the_current_version():
    error = Conflict("reload it", current_version=7)
    assert error.current_version == 7
    assert str(error) == "reload it"
    assert Conflict("no version known").current_version is None


def test_invalid_input_names_each_bad_field():
    errors = {"type": ["a case type is required"], "subject": ["at most 300 characters"]}
    error = InvalidInput(errors)
    assert error.errors == errors
    assert error.errors is not errors  # a copy: the caller's dict may change
    errors["more"] = ["x"]
    assert "more" not in error.errors
    message = str(error)
    assert message.startswith("invalid subject, type:")
    assert "a case type is required" in message


def test_invalid_input_with_a_message():
    error = InvalidInput({"cc": ["not an address"]}, "bad Cc")
    assert str(error) == "bad Cc"
    assert error.errors == {"cc": ["not an address"]}
    assert str(InvalidInput({})).startswith("invalid input")


# -- raised by the services, caught as builtins --------------------------------------------


def test_a_missing_case_is_a_lookup_error(kit, world):
    with pytest.raises(LookupError) as info:
        kit.cases.get(world.shipper_actor, "CV999999")
    assert isinstance(info.value, NotFound)
    assert (info.value.kind, info.value.key) == ("case", "CV999999")


def test_a_case_of_another_organization_is_the_same_lookup_error(kit, world):
    case = kit.cases.open(world.shipper_actor, type="lost")  # no carrier
    with pytest.raises(NotFound) as hidden:
        kit.cases.get(world.carrier_actor, case.number)
    with pytest.raises(NotFound) as missing:
        kit.cases.get(world.carrier_actor, "CV999999")
    assert type(hidden.value) is type(missing.value)
    assert str(hidden.value) == str(missing.value).replace("CV999999", case.number)


def test_a_denied_change_is_a_permission_error(kit, world):
    case = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, customer=world.customer.id
    )
    with pytest.raises(PermissionError) as info:
        kit.messages.post(world.carrier_actor, case.number, "Hi", audience=Audience.EVERYONE)
    assert isinstance(info.value, PermissionDenied)
    assert "shipper" in str(info.value)


def test_bad_input_is_a_value_error_naming_the_fields(kit, world):
    with pytest.raises(ValueError, match="invalid subject, type") as info:
        kit.cases.open(world.shipper_actor, type="no_such_type", subject="x" * 301)
    assert isinstance(info.value, InvalidInput)
    assert set(info.value.errors) == {"type", "subject"}


def test_a_stale_update_is_a_conflict_with_the_current_version(kit, world):
    case = kit.cases.open(world.shipper_actor, type="lost")
    changed = kit.cases.change_type(world.shipper_actor, case.number, "cancel")
    with pytest.raises(Conflict) as info:
        kit.cases.solve(world.shipper_actor, case.number, expected_version=case.version)
    assert info.value.current_version == changed.version
    assert changed.version != case.version
    assert "reload" in str(info.value)
