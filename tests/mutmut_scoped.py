"""Mutation testing of the access layer, ``casekit/query/scoped.py`` (docs/testing.rst).

Its functions are reached by nearly every test, so ``[tool.mutmut]``'s
selection would run for minutes against each of its mutants. This runs mutmut
with the access tests alone (on SQLite, a few seconds each) in their place::

    python tests/mutmut_scoped.py                     # every mutant of scoped.py
    python tests/mutmut_scoped.py run --max-children 1 "casekit.query.scoped.x_id*"
    python tests/mutmut_scoped.py results             # any other mutmut command

mutmut reads one configuration, ``[tool.mutmut]`` in ``pyproject.toml``; only
its test selection is replaced here.
"""

from __future__ import annotations

import sys

from mutmut.__main__ import cli
from mutmut.configuration import config

#: The tests of the access rules, against which each mutant of scoped.py runs.
SELECTION = [
    "tests/test_access.py",
    "tests/test_attachments.py",
    "tests/test_carrier_status.py",
    "tests/test_case_carrier.py",
    "tests/test_customer_audience.py",
    "tests/test_customer_contact.py",
    "tests/test_known.py",
    "tests/test_portal.py",
    "tests/test_shipments.py",
    # a deactivated user's reads, paging, triage, the delivery log, the case page's facts
    "tests/test_acting.py::test_a_case_read_carries_the_check_and_still_refuses",
    "tests/test_cases.py::test_list_pages_newest_first",
    "tests/test_inbound.py::test_triage_pages_newest_first_and_names_a_missing_item",
    "tests/test_inbound.py::test_triage_file_open_and_discard_are_audited",
    "tests/test_inbound.py::test_mail_no_organization_can_be_told_is_the_hosts_alone",
    "tests/test_links.py::test_the_case_page_facts_are_cut_to_the_viewer",
    "tests/test_links.py::test_cases_of_a_shipment_for_its_parties_only",
    "tests/test_notify.py::test_each_party_sees_only_the_deliveries_to_its_own_people",
]

if __name__ == "__main__":
    config().pytest_add_cli_args_test_selection = SELECTION
    cli(sys.argv[1:] or ["run", "--max-children", "1", "casekit.query.scoped*"])
