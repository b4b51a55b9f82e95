"""The leak test's checks for the carrier, as the scene was before the shipper shared its
customer's message and contact details: then the carrier reads none of the customer's
messages, nor the customer's name, address or phone, anywhere.

The same registry as ``test_leaks.py`` (but the share itself, which would share it), read
from a scene of its own, built without the share.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest
from leak_scene import CARRIER
from test_leaks import CONTACT, SURFACES, Scenes, Surface, built_scenes, check

SHARED = "shared-customer-message"


@pytest.fixture(scope="module")
def scenes(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenes]:
    yield from built_scenes(database_url, tmp_path_factory, share=False)


def unshared(surface: Surface) -> Surface:
    """``surface`` before the shares: the carrier may not read the customer's message,
    nor the customer's name, address or phone."""
    narrower = {name: surface.readers(name) - {CARRIER} for name in {SHARED, *CONTACT}}
    return attrs.evolve(surface, narrower=surface.narrower | narrower)


@pytest.mark.parametrize(
    ("surface", "viewer"),
    [
        pytest.param(unshared(surface), viewer, id=f"{surface.name}-{viewer}")
        for surface in SURFACES
        if surface.name
        not in (
            "casekit_api_cases.share_entry",
            "POST casekit_api_cases.share_contact",
            "DELETE casekit_api_cases.withdraw_contact",
        )
        for viewer in surface.viewers
        if surface.groups[viewer] == CARRIER
    ],
)
def test_the_carrier_reads_no_customer_message_before_the_share(
    scenes: Scenes, surface: Surface, viewer: str
) -> None:
    check(scenes.for_surface(surface), surface, viewer)
