"""The plugin host: one manager per kit, built-ins, entry points, hook order, the facade."""

from __future__ import annotations

import io
import sys
import textwrap

import pytest

from casekit import (
    CaseKit,
    CaseType,
    ConfigurationError,
    EventKind,
    FrozenClock,
    InvalidInput,
    PermissionDenied,
    Settings,
    ShipmentFacts,
    Upload,
    hookimpl,
)
from casekit.attachments import FilesystemStorage, StoredFile
from casekit.domain.directory import Organization, OrgRole
from casekit.plugins import (
    DEFAULT_CASE_TYPES,
    DefaultCaseTypes,
    check_pending,
    make_plugin_manager,
    plugin_names,
)
from casekit.testing import make_kit

DEFAULT_LABELS = [
    "General Status Update",
    "Where Is My Order",
    "Delivery Scheduling",
    "OS&D – Damaged",  # noqa: RUF001 - the en dash is the product's label
    "OS&D – Shortage",  # noqa: RUF001
    "Lost",
    "Return to Sender",
    "Refused by Receiver",
    "Address Correction",
    "Cancel",
    "Customer Feedback",
    "Other",
]


# -- helpers -------------------------------------------------------------------------


@pytest.fixture
def bare_kit(tmp_path):
    """Build kits on a throwaway SQLite file (no schema): for plugin wiring only."""
    made: list[CaseKit] = []

    def build(*plugins: object, **settings: object) -> CaseKit:
        values: dict[str, object] = {
            "database_url": f"sqlite:///{tmp_path / f'kit{len(made)}.sqlite3'}",
            "attachment_dir": tmp_path / "attachments",
            "load_entry_points": False,
        }
        values.update(settings)
        kit = CaseKit(settings=Settings(**values), plugins=plugins, clock=FrozenClock())
        made.append(kit)
        return kit

    yield build
    for kit in made:
        kit.close()


@pytest.fixture
def kit_with(kit, database_url, tmp_path, clock):
    """Another kit on the database under test, with these plugins and settings.

    It depends on ``kit`` so the tables are emptied after the test.
    """
    made: list[CaseKit] = []

    def build(*plugins: object, **settings: object) -> CaseKit:
        other = make_kit(
            database_url,
            attachment_dir=tmp_path / "attachments",
            clock=clock,
            plugins=plugins,
            create_schema=False,
            **settings,
        )
        made.append(other)
        return other

    yield build
    for other in made:
        other.close()


@pytest.fixture
def distribution(tmp_path, monkeypatch):
    """Write a real installed distribution with ``casekit`` entry points, put it on sys.path.

    ``distribution(name, modules={"mod": "source"}, entry_points={"ep": "mod"})``
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules_written: list[str] = []

    def write(name: str, *, modules: dict[str, str], entry_points: dict[str, str]) -> None:
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            modules_written.append(module)
        info = site / f"{name}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        lines = "".join(f"{ep} = {value}\n" for ep, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[casekit]\n{lines}")

    yield write
    for module in modules_written:
        sys.modules.pop(module, None)


MYPLUGIN = """
    from casekit import CaseType, ShipmentFacts, hookimpl

    @hookimpl
    def casekit_add_case_types():
        return [CaseType("myplugin_claim", "My Plugin Claim")]

    @hookimpl
    def casekit_lookup_shipment(reference):
        return ShipmentFacts(reference=reference, carrier_name="from the entry point")
"""

OTHERPLUGIN = """
    from casekit import CaseType, hookimpl

    class Plugin:
        @hookimpl
        def casekit_add_case_types(self):
            return [CaseType("other_claim", "Other Claim")]

    plugin = Plugin()
"""


@pytest.fixture
def myplugin(distribution):
    """A distribution ``myplugin`` with two entry points: ``myplugin`` and ``otherplugin``."""
    distribution(
        "myplugin",
        modules={"myplugin": MYPLUGIN, "otherplugin": OTHERPLUGIN},
        entry_points={"myplugin": "myplugin", "otherplugin": "otherplugin:plugin"},
    )


class CaseTypes:
    def __init__(self, *types: CaseType) -> None:
        self.types = list(types)

    @hookimpl
    def casekit_add_case_types(self):
        return self.types


class Shipments:
    """Answers every shipment lookup with facts naming itself."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.asked: list[str] = []

    @hookimpl
    def casekit_lookup_shipment(self, reference):
        self.asked.append(reference)
        return ShipmentFacts(reference=reference, carrier_name=self.name)


class MemoryStorage:
    """An attachment store keeping bytes in a dict."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    @hookimpl
    def casekit_store_attachment(self, filename, stream, max_bytes):
        data = stream.read()
        key = f"mem:{len(self.files)}:{filename}"
        self.files[key] = data
        import hashlib

        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest())

    @hookimpl
    def casekit_open_attachment(self, storage_key):
        if storage_key in self.files:
            return io.BytesIO(self.files[storage_key])
        return None


def an_org(external_id: str = "acme") -> Organization:
    return Organization(name="Acme", role=OrgRole.SHIPPER, external_id=external_id, id=1)


def files_under(path):
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


# -- one manager per kit ------------------------------------------------------------


def test_each_kit_has_its_own_plugin_manager(bare_kit):
    extra = CaseTypes(CaseType("ltl_claim", "LTL Claim"))
    first = bare_kit(extra)
    second = bare_kit()
    assert first.plugin_manager is not second.plugin_manager
    assert first.plugin_manager.is_registered(extra)
    assert not second.plugin_manager.is_registered(extra)
    assert "ltl_claim" in first.case_types
    assert "ltl_claim" not in second.case_types
    # and the built-ins are separate objects too: each kit has its own store
    first_store = first.plugin_manager.get_plugin("casekit.filesystem_storage")
    second_store = second.plugin_manager.get_plugin("casekit.filesystem_storage")
    assert first_store is not second_store


def test_kit_ready_is_called_once_per_kit_with_that_kit(bare_kit):
    class Ready:
        def __init__(self) -> None:
            self.kits: list[object] = []

        @hookimpl
        def casekit_kit_ready(self, kit):
            assert kit.cases is not None  # composed: the services are there
            self.kits.append(kit)

    plugin = Ready()
    first = bare_kit(plugin)
    second = bare_kit(plugin)
    assert plugin.kits == [first, second]


def test_registering_on_one_manager_does_not_touch_another(tmp_path):
    settings = Settings(attachment_dir=tmp_path, load_entry_points=False)
    one, two = make_plugin_manager(settings), make_plugin_manager(settings)
    plugin = Shipments("late")
    one.register(plugin)
    assert one.hook.casekit_lookup_shipment(kit=None, organization=an_org(), reference="R")
    assert two.hook.casekit_lookup_shipment(kit=None, organization=an_org(), reference="R") is None


# -- built-ins ------------------------------------------------------------------------


def test_builtins_are_registered_by_name(bare_kit, tmp_path):
    kit = bare_kit(attachment_dir=tmp_path / "files")
    pm = kit.plugin_manager
    assert isinstance(pm.get_plugin("casekit.case_types"), DefaultCaseTypes)
    store = pm.get_plugin("casekit.filesystem_storage")
    assert isinstance(store, FilesystemStorage)
    assert store.root == tmp_path / "files"
    assert {"casekit.case_types", "casekit.filesystem_storage"} <= set(plugin_names(pm))


def test_default_catalogue_has_the_twelve_standard_types(bare_kit):
    kit = bare_kit()
    assert [t.label for t in kit.case_types.values()] == DEFAULT_LABELS
    assert len(kit.case_types) == 12
    assert kit.case_types["where_is_my_order"] == CaseType("where_is_my_order", "Where Is My Order")
    assert list(kit.case_types) == [t.code for t in DEFAULT_CASE_TYPES]


def test_builtin_case_types_can_be_blocked(bare_kit):
    extra = CaseTypes(CaseType("ltl_claim", "LTL Claim"))
    kit = bare_kit(extra, plugins_block=("casekit.case_types",))
    assert kit.plugin_manager.get_plugin("casekit.case_types") is None
    assert kit.plugin_manager.is_blocked("casekit.case_types")
    assert kit.case_types == {"ltl_claim": CaseType("ltl_claim", "LTL Claim")}


def test_builtin_filesystem_store_can_be_blocked(bare_kit, tmp_path):
    kit = bare_kit(plugins_block=("casekit.filesystem_storage",))
    assert kit.plugin_manager.get_plugin("casekit.filesystem_storage") is None
    with pytest.raises(ConfigurationError, match="no plugin stored the attachment"):
        kit.hooks.store_attachment(
            filename="a.txt", content_type="text/plain", stream=io.BytesIO(b"x"), max_bytes=10
        )
    with pytest.raises(ConfigurationError, match="no plugin can open the attachment"):
        kit.hooks.open_attachment(storage_key="fs:ab/" + "c" * 30)
    assert files_under(tmp_path / "attachments") == []


def test_posting_an_attachment_with_no_store_fails_and_posts_nothing(kit, world, kit_with):
    storeless = kit_with(plugins_block=("casekit.filesystem_storage",))
    case = kit.cases.open(world.shipper_actor, type="lost", message="Lost in transit")
    before = kit.cases.timeline(world.shipper_actor, case.number)
    with pytest.raises(ConfigurationError):
        storeless.messages.post(
            world.shipper_actor,
            case.number,
            "The photo",
            attachments=[Upload("photo.jpg", io.BytesIO(b"jpeg"))],
        )
    assert kit.cases.timeline(world.shipper_actor, case.number) == before


# -- case types from plugins -----------------------------------------------------------


def test_a_plugin_adds_case_types_and_the_first_label_wins(bare_kit):
    plugin = CaseTypes(CaseType("ltl_claim", "LTL Claim"), CaseType("lost", "Lost Forever"))
    kit = bare_kit(plugin)
    assert len(kit.case_types) == 13
    assert kit.case_types["ltl_claim"].label == "LTL Claim"
    # the built-in catalogue answers first: a plugin cannot relabel a standard type
    assert kit.case_types["lost"].label == "Lost"
    assert [t.label for t in kit.case_types.values()][:12] == DEFAULT_LABELS


def test_among_plugins_the_one_asked_first_names_a_shared_code(bare_kit):
    early = CaseTypes(CaseType("claim", "Early label"))
    late = CaseTypes(CaseType("claim", "Late label"), CaseType("late_only", "Late only"))
    kit = bare_kit(early, late)
    assert kit.case_types["claim"].label == "Late label"
    assert set(kit.case_types) == {t.code for t in DEFAULT_CASE_TYPES} | {"claim", "late_only"}


def test_a_plugin_returning_nothing_adds_nothing(bare_kit):
    class Silent:
        @hookimpl
        def casekit_add_case_types(self):
            return None

    assert len(bare_kit(Silent()).case_types) == 12


def test_cases_can_be_opened_with_a_plugin_case_type(kit, world, kit_with):
    extended = kit_with(CaseTypes(CaseType("ltl_claim", "LTL Claim")))
    case = extended.cases.open(world.shipper_actor, type="ltl_claim")
    assert case.type == "ltl_claim"
    # a kit without the plugin does not know the type
    with pytest.raises(InvalidInput) as info:
        kit.cases.open(world.shipper_actor, type="ltl_claim")
    assert "type" in info.value.errors


# -- misspelled implementations --------------------------------------------------------


class Misspelled:
    @hookimpl
    def casekit_lookup_shipmnet(self, reference):
        return None


def test_a_misspelled_hook_fails_at_construction(bare_kit):
    with pytest.raises(ConfigurationError, match="casekit_lookup_shipmnet") as info:
        bare_kit(Misspelled())
    assert "casekit.hookspecs" in str(info.value)


def test_a_misspelled_module_level_hook_fails_too(bare_kit, tmp_path):
    module = type(sys)("misspelled_plugin")

    @hookimpl
    def casekit_add_case_type():  # missing "s"
        return []

    module.casekit_add_case_type = casekit_add_case_type
    with pytest.raises(ConfigurationError, match="casekit_add_case_type"):
        bare_kit(module)


def test_optional_hooks_and_unmarked_methods_are_not_misspellings(bare_kit):
    class Fine:
        @hookimpl(optionalhook=True)
        def casekit_future_hook(self):
            return None

        def casekit_helper_not_a_hook(self):
            return None

    bare_kit(Fine())


def test_check_pending_can_be_deferred_and_run_later(tmp_path):
    settings = Settings(attachment_dir=tmp_path, load_entry_points=False)
    pm = make_plugin_manager(settings, [Misspelled()], check=False)
    with pytest.raises(ConfigurationError, match="casekit_lookup_shipmnet"):
        check_pending(pm)


# -- entry points -----------------------------------------------------------------------


def test_entry_points_load_by_default(myplugin, bare_kit):
    kit = bare_kit(load_entry_points=True)
    pm = kit.plugin_manager
    assert pm.get_plugin("myplugin") is sys.modules["myplugin"]
    assert pm.get_plugin("otherplugin") is sys.modules["otherplugin"].plugin
    assert kit.case_types["myplugin_claim"].label == "My Plugin Claim"
    assert kit.case_types["other_claim"].label == "Other Claim"
    # Other installed plugins (an order feed, say) load too and may read the store.
    kit.create_schema()
    facts = kit.hooks.lookup_shipment(organization=an_org(), reference="SHP-9")
    assert facts == ShipmentFacts(reference="SHP-9", carrier_name="from the entry point")


def test_entry_points_are_not_loaded_when_disabled(myplugin, bare_kit):
    kit = bare_kit(load_entry_points=False)
    assert kit.plugin_manager.get_plugin("myplugin") is None
    assert "myplugin_claim" not in kit.case_types
    assert "myplugin" not in sys.modules  # not even imported


def test_plugins_allow_loads_only_the_names_listed(myplugin, bare_kit):
    kit = bare_kit(load_entry_points=True, plugins_allow=("otherplugin",))
    assert kit.plugin_manager.get_plugin("myplugin") is None
    assert kit.plugin_manager.get_plugin("otherplugin") is not None
    assert "other_claim" in kit.case_types
    assert "myplugin_claim" not in kit.case_types
    assert "myplugin" not in sys.modules


def test_plugins_block_keeps_a_plugin_out(myplugin, bare_kit):
    kit = bare_kit(load_entry_points=True, plugins_block=("myplugin",))
    assert kit.plugin_manager.get_plugin("myplugin") is None
    assert kit.plugin_manager.is_blocked("myplugin")
    assert kit.plugin_manager.get_plugin("otherplugin") is not None
    assert "myplugin_claim" not in kit.case_types
    assert "myplugin" not in sys.modules


def test_block_wins_over_allow(myplugin, bare_kit):
    kit = bare_kit(load_entry_points=True, plugins_allow=("myplugin",), plugins_block=("myplugin",))
    assert kit.plugin_manager.get_plugin("myplugin") is None
    assert kit.plugin_manager.get_plugin("otherplugin") is None


def test_entry_point_settings_come_from_the_environment(myplugin, tmp_path, monkeypatch):
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("CASEKIT_ATTACHMENT_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("CASEKIT_PLUGINS_BLOCK", "otherplugin")
    with CaseKit() as kit:
        assert kit.plugin_manager.get_plugin("myplugin") is not None
        assert kit.plugin_manager.get_plugin("otherplugin") is None
    monkeypatch.setenv("CASEKIT_LOAD_ENTRY_POINTS", "false")
    with CaseKit() as kit:
        assert kit.plugin_manager.get_plugin("myplugin") is None


BROKEN = """
    import casekit
    raise ImportError("No module named 'carrier_sdk'")
"""


def test_a_plugin_that_fails_to_import_names_itself_and_the_fix(
    distribution, bare_kit, tmp_path, monkeypatch
):
    distribution(
        "brokenplugin", modules={"brokenplugin": BROKEN}, entry_points={"broken": "brokenplugin"}
    )
    with pytest.raises(ConfigurationError) as info:
        bare_kit(load_entry_points=True)
    message = str(info.value)
    assert "'broken'" in message
    assert "brokenplugin" in message
    assert "carrier_sdk" in message
    assert "CASEKIT_PLUGINS_BLOCK=broken" in message
    assert isinstance(info.value.__cause__, ImportError)
    # following the advice works
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("CASEKIT_PLUGINS_BLOCK", "broken")
    with CaseKit() as kit:
        assert kit.plugin_manager.is_blocked("broken")


def test_a_plugin_whose_object_is_missing_is_a_configuration_error(distribution, bare_kit):
    distribution(
        "typoplugin",
        modules={"typoplugin": "PLUGIN = object()\n"},
        entry_points={"typo": "typoplugin:plugin"},
    )
    with pytest.raises(ConfigurationError, match="CASEKIT_PLUGINS_BLOCK=typo"):
        bare_kit(load_entry_points=True)


def test_a_misspelled_hook_in_an_entry_point_plugin_fails_loudly(distribution, bare_kit):
    source = """
        from casekit import hookimpl

        @hookimpl
        def casekit_link_crn(case):
            return "X"
    """
    distribution("crnplugin", modules={"crnplugin": source}, entry_points={"crn": "crnplugin"})
    with pytest.raises(ConfigurationError, match="casekit_link_crn"):
        bare_kit(load_entry_points=True)


# -- the order plugins are asked in -----------------------------------------------------


def test_later_registered_plugins_are_asked_first(bare_kit):
    first, second = Shipments("first"), Shipments("second")
    kit = bare_kit(first, second)
    facts = kit.hooks.lookup_shipment(organization=an_org(), reference="SHP-1")
    assert facts is not None
    assert facts.carrier_name == "second"
    assert second.asked == ["SHP-1"]
    assert first.asked == []  # firstresult: the first answer stops the call


def test_a_plugin_that_does_not_know_lets_the_next_one_answer(bare_kit):
    class Unknowing:
        @hookimpl
        def casekit_lookup_shipment(self, reference):
            return None

    kit = bare_kit(Shipments("fallback"), Unknowing())
    facts = kit.hooks.lookup_shipment(organization=an_org(), reference="SHP-1")
    assert facts is not None
    assert facts.carrier_name == "fallback"


def test_code_plugins_are_asked_before_entry_points(myplugin, bare_kit):
    kit = bare_kit(Shipments("from code"), load_entry_points=True)
    facts = kit.hooks.lookup_shipment(organization=an_org(), reference="SHP-1")
    assert facts is not None
    assert facts.carrier_name == "from code"


def test_a_plugin_store_wins_over_the_filesystem_store(bare_kit, tmp_path):
    memory = MemoryStorage()
    kit = bare_kit(memory, attachment_dir=tmp_path / "files")
    stored = kit.hooks.store_attachment(
        filename="a.txt", content_type="text/plain", stream=io.BytesIO(b"hello"), max_bytes=100
    )
    assert stored.storage_key == "mem:0:a.txt"
    assert stored.size == 5
    assert memory.files == {"mem:0:a.txt": b"hello"}
    assert files_under(tmp_path / "files") == []
    with kit.hooks.open_attachment(storage_key=stored.storage_key) as opened:
        assert opened.read() == b"hello"


def test_a_plugin_store_serves_posted_attachments_end_to_end(kit, world, kit_with, tmp_path):
    memory = MemoryStorage()
    stored_kit = kit_with(memory)
    case = stored_kit.cases.open(
        world.shipper_actor, type="osd_damaged", carrier=world.carrier.id, message="Crushed box"
    )
    entry = stored_kit.messages.post(
        world.shipper_actor,
        case.number,
        "Photo attached",
        attachments=[Upload("box.jpg", io.BytesIO(b"\xff\xd8jpeg"), "image/jpeg")],
    )
    assert list(memory.files.values()) == [b"\xff\xd8jpeg"]
    assert files_under(tmp_path / "attachments") == []
    row, opened = stored_kit.open_attachment(
        world.carrier_actor, case.number, entry.attachments[0].id
    )
    with opened:
        assert opened.read() == b"\xff\xd8jpeg"
    assert (row.filename, row.content_type, row.size) == ("box.jpg", "image/jpeg", 6)


def test_plugins_take_only_the_arguments_they_need(bare_kit):
    class Minimal:
        @hookimpl
        def casekit_lookup_order(self):
            from casekit import OrderFacts

            return OrderFacts(number="always")

    kit = bare_kit(Minimal())
    facts = kit.hooks.lookup_order(organization=an_org(), number="ORD-1")
    assert facts is not None
    assert facts.number == "always"


# -- CRM --------------------------------------------------------------------------------


class Crm:
    """A CRM that only the shipper ``acme`` has."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    @hookimpl
    def casekit_link_crm(self, kit, case, organization):
        assert isinstance(kit, CaseKit)
        self.calls.append((case.number, organization.id))
        if organization.external_id != "acme":
            return None
        return f"SF-{case.number}"


def test_link_crm_asks_the_plugin_and_stores_the_number_for_that_org_only(kit, world, kit_with):
    crm = Crm()
    crm_kit = kit_with(crm)
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    linked = crm_kit.cases.link_crm(world.shipper_actor, case.number)
    assert crm.calls == [(case.number, world.shipper.id)]
    assert linked.crm_number == f"SF-{case.number}"
    assert kit.cases.get(world.shipper_manager_actor, case.number).crm_number == linked.crm_number
    assert kit.cases.get(world.carrier_actor, case.number).crm_number is None
    # the audit event is internal to the shipper
    shipper_events = [e.event for e in kit.cases.timeline(world.shipper_actor, case.number)]
    carrier_events = [e.event for e in kit.cases.timeline(world.carrier_actor, case.number)]
    assert EventKind.CRM_NUMBER_SET in shipper_events
    assert EventKind.CRM_NUMBER_SET not in carrier_events


def test_link_crm_without_an_answer_changes_nothing(kit, world, kit_with):
    crm = Crm()
    crm_kit = kit_with(crm)
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    before = kit.cases.get(world.carrier_actor, case.number)
    with pytest.raises(InvalidInput) as info:
        crm_kit.cases.link_crm(world.carrier_actor, case.number)
    assert "crm" in info.value.errors
    assert crm.calls == [(case.number, world.carrier.id)]
    after = kit.cases.get(world.carrier_actor, case.number)
    assert after.crm_number is None
    assert after.version == before.version
    # and a kit with no CRM plugin at all says so the same way
    with pytest.raises(InvalidInput):
        kit.cases.link_crm(world.shipper_actor, case.number)


def test_link_crm_is_for_party_staff_only(kit, world, kit_with):
    crm = Crm()
    crm_kit = kit_with(crm)
    case = kit.cases.open(
        world.shipper_actor, type="lost", customer=world.customer.id, message="Hi"
    )
    with pytest.raises(PermissionDenied):
        crm_kit.cases.link_crm(world.customer_actor, case.number)
    assert crm.calls == []


def test_an_implementation_with_a_wrong_argument_is_a_configuration_error(tmp_path):
    from casekit import ConfigurationError, hookimpl
    from casekit.testing import make_kit

    class WrongArgument:
        @hookimpl
        def casekit_lookup_shipment(self, organisation, reference):  # not "organization"
            return None

    with pytest.raises(ConfigurationError, match="organisation"):
        make_kit(
            f"sqlite:///{tmp_path / 'x.sqlite3'}",
            attachment_dir=tmp_path,
            plugins=[WrongArgument()],
            create_schema=False,
        )
