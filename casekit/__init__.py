"""casekit: case management that commerce platforms and TMSs embed."""

from __future__ import annotations

from casekit.attachments import Upload
from casekit.clock import FrozenClock, SystemClock
from casekit.domain.actor import Actor, ActorKind, SystemName
from casekit.domain.apikeys import ApiIdentity, ApiKey, ApiScope
from casekit.domain.audience import Audience
from casekit.domain.case import CaseType, EventKind, Side, Source
from casekit.domain.custom_fields import CustomField, FieldKind, FieldValue, FieldVisibility
from casekit.domain.directory import (
    CustomerRecord,
    DirectoryChange,
    OrganizationRecord,
    OrgRole,
    SyncCounts,
    SyncReport,
    UserRecord,
    UserRole,
)
from casekit.domain.shipment import (
    Direction,
    ExceptionKind,
    Mode,
    OrderFacts,
    ShipmentEvent,
    ShipmentFacts,
    ShipmentStatus,
)
from casekit.domain.tags import Priority, Tag, TagColour
from casekit.domain.workflow import Category, Status
from casekit.errors import (
    CaseKitError,
    CaseMerged,
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    InvalidApiKey,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from casekit.kit import CaseKit
from casekit.plugins import hookimpl
from casekit.query.actions import ActionView
from casekit.query.claims import ClaimView
from casekit.query.models import AttachmentView, CaseView, EntryView
from casekit.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "ActionView",
    "Actor",
    "ActorKind",
    "ApiIdentity",
    "ApiKey",
    "ApiScope",
    "AttachmentView",
    "Audience",
    "CaseKit",
    "CaseKitError",
    "CaseMerged",
    "CaseType",
    "CaseView",
    "Category",
    "ClaimView",
    "ConfigurationError",
    "Conflict",
    "CustomField",
    "CustomerRecord",
    "DatabaseUnavailable",
    "Direction",
    "DirectoryChange",
    "EntryView",
    "EventKind",
    "ExceptionKind",
    "FieldKind",
    "FieldValue",
    "FieldVisibility",
    "FrozenClock",
    "InvalidApiKey",
    "InvalidInput",
    "Mode",
    "NotFound",
    "OrderFacts",
    "OrgRole",
    "OrganizationRecord",
    "PermissionDenied",
    "Priority",
    "Settings",
    "ShipmentEvent",
    "ShipmentFacts",
    "ShipmentStatus",
    "Side",
    "Source",
    "Status",
    "SyncCounts",
    "SyncReport",
    "SystemClock",
    "SystemName",
    "Tag",
    "TagColour",
    "Upload",
    "UserRecord",
    "UserRole",
    "hookimpl",
]
