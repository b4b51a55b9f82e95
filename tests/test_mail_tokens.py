"""Reply tokens: bound to a case and a recipient, signed, rotatable."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from casekit.mail.tokens import (
    InvalidReplyToken,
    make_token,
    reply_address,
    token_of,
    verify,
)

OLD = "old-secret-0123456789abcdef"
NEW = "new-secret-0123456789abcdef"


@pytest.mark.parametrize(
    ("key", "user_id", "customer_id"),
    [("u12", 12, None), ("c7", None, 7), ("a:Desk@Fast.test", None, None)],
)
def test_a_token_names_its_case_and_recipient(key, user_id, customer_id):
    token = make_token(NEW, 4321, key)
    bound = verify(token, [NEW])
    assert (bound.case_id, bound.user_id, bound.customer_id) == (4321, user_id, customer_id)
    if key.startswith("a:"):
        assert bound.matches_address("desk@fast.test")
        assert bound.matches_address(" DESK@FAST.TEST ")
        assert not bound.matches_address("other@fast.test")
    else:
        assert not bound.matches_address("desk@fast.test")


def test_rotation_the_first_secret_signs_every_secret_verifies():
    old_token = make_token(OLD, 1, "u1")
    assert verify(old_token, [NEW, OLD]).user_id == 1
    with pytest.raises(InvalidReplyToken):
        verify(old_token, [NEW])  # the old secret dropped


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("1-", "2-", 1),  # another case
        lambda t: t.replace("-u5-", "-u6-"),  # another recipient
        lambda t: t[:-1] + ("a" if t[-1] != "a" else "b"),  # another signature
        lambda t: t + "x",
        lambda t: "",
        lambda t: "1-u5",
    ],
)
def test_a_changed_token_is_refused(tamper):
    token = make_token(NEW, 1, "u5")
    with pytest.raises(InvalidReplyToken):
        verify(tamper(token), [NEW])


def test_tokens_survive_a_mail_system_that_changes_case_and_fit_a_local_part():
    token = make_token(NEW, 9_999_999_999, "a:someone.with.a.long.name@example.com")
    assert token == token.lower()
    assert verify(token.upper(), [NEW]).case_id == 9_999_999_999
    address = reply_address("reply@inbound.example", token)
    local = address.partition("@")[0]
    assert len(local) <= 64
    assert token_of(address.upper(), "reply@inbound.example") == token
    assert token_of("reply@inbound.example", "reply@inbound.example") is None
    assert token_of(f"reply+{token}@elsewhere.example", "reply@inbound.example") is None


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def test_a_token_is_the_documented_hmac_of_its_case_and_recipient():
    """``<case>-<who>-<sig>``: an address recipient's ``who`` is ``a`` and the first
    10 base32 characters of the SHA-256 of the lower-cased address; ``sig`` is the
    first 10 bytes of HMAC-SHA256(secret, "<case>-<who>"), base32, lower case."""
    who = "a" + _b32(hashlib.sha256(b"desk@fast.test").digest())[:10]
    signatures = []
    for case_id in range(1, 101):
        payload = f"{case_id}-{who}"
        sig = _b32(hmac.new(NEW.encode(), payload.encode(), hashlib.sha256).digest()[:10])
        assert make_token(NEW, case_id, "a:Desk@Fast.test") == f"{payload}-{sig}"
        signatures.append(sig)
    # Every base32 letter may end a signature; none is stripped ('x' among them).
    assert any(sig.endswith("x") for sig in signatures)
    assert all(len(sig) == 16 for sig in signatures)


def test_a_refused_token_says_why():
    with pytest.raises(InvalidReplyToken, match=r"^not a casekit reply token$"):
        verify("1-u5", [NEW])
    forged = make_token(OLD, 1, "u5")
    with pytest.raises(InvalidReplyToken, match=r"^the reply token's signature does not match$"):
        verify(forged, [NEW])
    with pytest.raises(ValueError, match=r"^not a recipient key: 'x5'$"):
        make_token(NEW, 1, "x5")


def test_an_address_with_a_second_at_sign_holds_no_token():
    token = make_token(NEW, 1, "u5")
    base = "reply@inbound.example"
    assert token_of(f"reply+{token}@inbound.example", base) == token
    assert token_of(f"reply+{token}@evil.test@inbound.example", base) is None
