"""The staff blueprint: the Case Management page, the case page, settings, the shipment fragment."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, BinaryIO, cast
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from casekit import (
    Actor,
    Audience,
    CaseMerged,
    Conflict,
    InvalidInput,
    NotFound,
    OrgRole,
    Status,
    Upload,
    labels,
)
from casekit.domain.custom_fields import FieldKind
from casekit.domain.workflow import CUSTOMER_STATUSES
from casekit.json_input import load_json
from casekit.query.field_columns import PREFIX, FieldColumn, is_field_column
from casekit.query.filters import FIELDS, Kind
from casekit.query.known import KNOWN_FIELDS
from casekit.query.listing import COLUMNS, SEARCH_COUNT, BuiltinView
from casekit.schemas.views import dump_query
from casekit.services.messages import split_addresses
from casekit_flask import field_filters, listing, rendering
from casekit_flask.extension import (
    case_version,
    current_actor,
    current_kit,
    error_page,
    register_error_handlers,
    require_actor,
    sentence,
    sharing_reads,
    state,
)
from casekit_flask.files import send_attachment
from casekit_flask.rendering import COLUMN_LABELS

staff = Blueprint(
    "casekit_staff",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/casekit-static",
)
register_error_handlers(staff)
staff.record_once(lambda setup: rendering.install(setup.app))

MANUAL_STATUSES = (Status.OPEN, Status.REPLY_RECEIVED, Status.WAITING, Status.SOLVED)
#: The carrier's: it does not read the shipper's conversation with its customer.
CARRIER_STATUSES = (Status.OPEN, Status.SOLVED)


def require_staff() -> Actor:
    """The current actor, who must be staff of an organization (a user)."""
    actor = require_actor()
    if not actor.is_user:
        abort(404)
    return actor


def _organization(actor: Actor) -> Any:
    assert actor.org_id is not None
    return current_kit().directory.organization(actor, actor.org_id)


def partners_of(actor: Actor, organization: Any) -> list[Any]:
    """The organizations of the other role than ``organization``'s: its possible partners."""
    other = OrgRole.CARRIER if organization.role is OrgRole.SHIPPER else OrgRole.SHIPPER
    return current_kit().directory.organizations(actor, other)


def _type_label(kit: Any) -> Any:
    def label(code: str | None) -> str:
        if code is None:
            return ""
        found = kit.case_types.get(code)
        return found.label if found is not None else code

    return label


# -- the Case Management page --------------------------------------------------------------
@staff.get("/")
@sharing_reads
def case_list() -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    saved_id = request.args.get("saved", type=int)
    args: MultiDict[str, str] = MultiDict(request.args)
    if field_filters.has_controls(args):
        # The filter panel's custom-field controls, as the address the list reads.
        canonical = field_filters.canonical_args(args, kit.views.field_columns(actor))
        return redirect(f"{url_for('.case_list')}?{urlencode(list(canonical.items(multi=True)))}")
    if saved_id is not None:
        args = listing.args_from_query(dump_query(kit.views.query_of(actor, saved_id)))
        cursor = request.args.get("cursor")
        if cursor:
            args["cursor"] = cursor
    return _render_list(actor, args, saved_id)


def _render_list(
    actor: Actor,
    args: MultiDict[str, str],
    saved_id: int | None,
    errors: dict[str, list[str]] | None = None,
) -> ResponseReturnValue:
    kit = current_kit()
    query = listing.query_from_args(args)
    errors = dict(errors or {})
    columns = kit.views.columns(actor, saved=saved_id, view=str(query.get("view")))
    page = None
    try:
        page = kit.views.list(
            actor,
            {**query, "columns": list(columns)},
            limit=state().page_size,
            cursor=args.get("cursor") or None,
        )
    except InvalidInput as error:
        errors.update(_messages(error))
    return render_template(
        "casekit/staff/list.html",
        **_list_context(actor, args, query, page, errors, saved_id, columns),
    ), (400 if errors else 200)


def _result_count(actor: Actor, query: dict[str, Any], saved_id: int | None) -> int:
    """How many cases the list holds: a view's badge count (kept in the counts
    cache) when nothing narrows it, else counted. Due Soon is counted anew: it
    changes as time passes, not only when a case does."""
    narrowed = (
        query.get("filters") or query.get("search") or query.get("view") == BuiltinView.DUE_SOON
    )
    if not narrowed:
        counts = state().counts.get(actor)
        key = f"saved:{saved_id}" if saved_id is not None else str(query.get("view"))
        if key in counts:
            return counts[key]
    at_most = SEARCH_COUNT if query.get("search") else None
    return current_kit().views.count(actor, query, at_most=at_most)


def _list_context(
    actor: Actor,
    args: MultiDict[str, str],
    query: dict[str, Any],
    page: Any,
    errors: dict[str, list[str]],
    saved_id: int | None,
    columns: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    kit = current_kit()
    organization = _organization(actor)
    if columns is None:
        columns = kit.views.columns(actor, saved=saved_id, view=str(query.get("view")))
    field_columns = kit.views.field_columns(actor)
    by_column = {f.column: f for f in field_columns}
    # A chosen field archived since: still a column (its values stay), offered no more.
    for name in columns:
        if is_field_column(name) and name not in by_column:
            by_column[name] = FieldColumn(name[len(PREFIX) :], name[len(PREFIX) :], FieldKind.TEXT)
    column_labels = {**COLUMN_LABELS, **{name: f.heading for name, f in by_column.items()}}
    sortable = {**listing.SORTABLE, **{n: n for n, f in by_column.items() if f.sortable}}
    field_controls, kept_custom = field_filters.controls(args, field_columns)
    partner_role = OrgRole.CARRIER if organization.role is OrgRole.SHIPPER else OrgRole.SHIPPER
    partner_field = partner_role.value  # the filter naming the other party: carrier or shipper
    base = [(k, v) for k, v in args.items(multi=True) if k != "cursor"]
    if saved_id is not None:
        base = [("saved", str(saved_id))]
    next_query = None
    if page is not None and page.next_cursor:
        next_query = urlencode([*base, ("cursor", page.next_cursor)])
    colleagues = kit.directory.users(actor)
    partners = kit.directory.organizations(actor, partner_role)
    type_label = _type_label(kit)
    tags = kit.tags.list(actor, archived=True)
    names = {
        "user": {str(u.id): u.name for u in colleagues},
        "org": {str(o.id): o.name for o in partners},
        "tag": {str(t.id): t.name for t in tags},
    }

    def label(name: str, value: str) -> str:
        spec = FIELDS[name]
        if name == "custom_field":
            found = by_column.get(PREFIX + value)
            return found.heading if found is not None else value
        if name == "status" and value in (spec.choices or ()):
            return rendering.status_label(value)
        if name == "type":
            return str(type_label(value))
        if name == "tag":
            return names["tag"].get(value, value)
        if spec.ids:
            return names["org" if name in listing.NO_CONTROL else "user"].get(value, value)
        if name in ("due_state", "priority") and value in (spec.choices or ()):
            return labels.label(name, value)
        if spec.choices:
            return value.replace("_", " ").capitalize()
        return value

    saved_views = kit.views.saved(actor)
    counts = state().counts.get(actor)
    total = None if page is None else _result_count(actor, query, saved_id)
    due_soon = BuiltinView.DUE_SOON.value
    whole = not (query.get("filters") or query.get("search"))
    if total is not None and saved_id is None and query.get("view") == due_soon and whole:
        counts = {**counts, due_soon: total}  # counted anew for the page: its badge too
    return {
        "actor": actor,
        "organization": organization,
        "partner_field": partner_field,
        "partners": partners,
        "args": args,
        "chosen": {key: set(args.getlist(key)) for key in args},
        "query_json": json.dumps(query),
        "page": page,
        "errors": errors,
        "saved_id": saved_id,
        "saved_views": saved_views,
        # Saved views with a search: their counts stop past SEARCH_COUNT.
        "searched_views": {
            view.id for view in saved_views if json.loads(view.definition).get("search")
        },
        "counts": counts,
        "views": list(BuiltinView),
        "columns": columns,
        "all_columns": COLUMNS,
        "field_columns": field_columns,
        "column_labels": column_labels,
        "field_controls": field_controls,
        "kept_custom": kept_custom,
        "sortable": sortable,
        "sort_link": lambda column: listing.sort_link(args, column, sortable[column]),
        "chips": listing.chips(args, label),
        "known": {name: state().known.get(actor, name) for name in KNOWN_FIELDS},
        "total": total,
        "searched": bool(query.get("search")),  # the total stops past SEARCH_COUNT
        "back": urlencode(base),
        "bulk_statuses": MANUAL_STATUSES
        if organization.role is OrgRole.SHIPPER
        else CARRIER_STATUSES,
        "fields": FIELDS,
        # The carrier sees the statuses of the shipper's talk with its customer as open.
        "status_choices": [
            s
            for s in FIELDS["status"].choices or ()
            if organization.role is OrgRole.SHIPPER or Status(s) not in CUSTOMER_STATUSES
        ],
        "Kind": Kind,
        "quick_fields": listing.QUICK_FIELDS,
        "more_fields": [
            f for f in listing.MORE_FIELDS if f not in listing.NO_CONTROL or f == partner_field
        ],
        "more_open": _more_filters_used(args),
        "case_types": kit.case_types,
        "type_label": type_label,
        "colleagues": colleagues,
        "canned_replies": kit.canned_replies.list(actor),
        "tags": tags,
        "sort_labels": {
            **listing.SORT_LABELS,
            **{f.column: f"Field: {f.heading}" for f in field_columns if f.sortable},
        },
        "sort_default": listing.view_sort(str(query.get("view")), query.get("search")),
        "now": kit.clock.now(),
        "next_query": next_query,
        "first_query": urlencode(base),
    }


def _more_filters_used(args: MultiDict[str, str]) -> bool:
    """Whether a "more" filter has a value, so the page shows those filters open."""
    for key, value in args.items(multi=True):
        if not value.strip() or key.endswith("_op"):
            continue
        name = key.removesuffix("_from").removesuffix("_to")
        if name in listing.MORE_FIELDS or key == listing.CUSTOM_ARG:
            return True
    return False


@staff.get("/export.csv")
def export_csv() -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    args: MultiDict[str, str] = MultiDict(request.args)
    saved_id = request.args.get("saved", type=int)
    if saved_id is not None:
        args = listing.args_from_query(dump_query(kit.views.query_of(actor, saved_id)))
    query = listing.query_from_args(args)
    # Every built-in column, then the custom fields the user chose to show.
    chosen = kit.views.columns(actor, saved=saved_id, view=str(query.get("view")))
    query["columns"] = [*COLUMNS, *(name for name in chosen if is_field_column(name))]
    chunks = kit.views.export_csv(actor, query)
    first = next(chunks)  # validates the query before the response starts

    def body() -> Any:
        yield first
        yield from chunks

    response = Response(stream_with_context(body()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="cases.csv"'
    return response


@staff.post("/views")
def save_view() -> ResponseReturnValue:
    actor = require_staff()
    query = load_json(request.form.get("query") or "{}", field="query")
    if not isinstance(query, dict):
        raise InvalidInput({"query": ["not a list query"]})
    try:
        view = current_kit().views.save(
            actor, request.form.get("name", ""), query, shared=bool(request.form.get("shared"))
        )
    except InvalidInput as error:
        try:
            args = listing.args_from_query(query)
        except (KeyError, TypeError, AttributeError):
            args = MultiDict()
        return _render_list(actor, args, None, _messages(error))
    state().counts.forget(actor)
    flash(f"Saved the view “{view.name}”.")
    return redirect(url_for(".case_list", saved=view.id))


@staff.post("/views/<int:view_id>/delete")
def delete_view(view_id: int) -> ResponseReturnValue:
    actor = require_staff()
    current_kit().views.delete(actor, view_id)
    state().counts.forget(actor)
    flash("Deleted the view.")
    return redirect(url_for(".case_list"))


# -- creating a case ------------------------------------------------------------------------
@staff.route("/new", methods=["GET", "POST"])
def create_case() -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    form = request.form if request.method == "POST" else request.args
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            number = _open_case(actor, organization, form)
        except InvalidInput as error:
            errors = {k: [str(m) for m in v] for k, v in error.errors.items()}
        except NotFound as error:
            field = error.kind if error.kind in ("shipment", "order") else "form"
            errors = {field: [str(error)]}
        else:
            flash(f"Opened case {number}.")
            return redirect(url_for(".case_page", number=number))
    return render_template(
        "casekit/staff/new.html",
        actor=actor,
        organization=organization,
        form=form,
        errors=errors,
        case_types=kit.case_types,
        is_shipper=organization.role is OrgRole.SHIPPER,
        side=organization.role.value,
        audiences=_audiences(organization.role.value),
        partners=kit.directory.organizations(
            actor,
            OrgRole.CARRIER if organization.role is OrgRole.SHIPPER else OrgRole.SHIPPER,
        ),
        **_tag_routes.case_form(actor),
        **_field_routes.case_form(actor),
    ), (400 if errors else 200)


def _int_field(form: Any, name: str, errors: dict[str, list[str]]) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        errors[name] = ["a number"]
        return None
    return int(raw)


def _open_case(actor: Actor, organization: Any, form: Any) -> str:
    errors: dict[str, list[str]] = {}
    shipper = _int_field(form, "shipper", errors)
    carrier = _int_field(form, "carrier", errors)
    customer = None
    email = (form.get("customer_email") or "").strip()
    if email:
        try:
            customer = current_kit().directory.customer_by_email(actor, email).id
        except NotFound:
            errors["customer_email"] = [f"no customer of yours has the address {email}"]
    chosen_tags = form.getlist("tag") if hasattr(form, "getlist") else []
    if not all(v.isdigit() for v in chosen_tags):
        errors["tags"] = ["choose tags from the list"]
    if errors:
        raise InvalidInput(errors)
    audience = form.get("audience") or None
    view = current_kit().cases.open(
        actor,
        type=form.get("type") or None,
        shipper=shipper,
        carrier=carrier,
        carrier_collaborating=form.get("collaborating", "yes") == "yes",
        customer=customer,
        shipment=(form.get("shipment") or "").strip() or None,
        order=(form.get("order") or "").strip() or None,
        subject=form.get("subject", ""),
        message=(form.get("message") or "").strip() or None,
        audience=audience,
        attachments=_uploads(),
        priority=form.get("priority") or None,
        tags=[int(v) for v in chosen_tags],
        custom_fields=_field_routes.form_values(form, current_kit().custom_fields.list(actor)),
    )
    return view.number


def _uploads() -> list[Upload]:
    return [
        Upload(
            filename=f.filename or "file", content_type=f.mimetype, stream=cast(BinaryIO, f.stream)
        )
        for f in request.files.getlist("attachments")
        if f.filename
    ]


# -- the case page --------------------------------------------------------------------------
@staff.get("/<number>")
@sharing_reads
def case_page(number: str) -> ResponseReturnValue:
    actor = require_staff()
    merged = current_kit().cases.get(actor, number)
    if merged.merged_into is not None:
        # A duplicate merged away: its page is the original's, saying so.
        raise CaseMerged(merged.number, merged.merged_into)
    # What the page's live updates start from; the case is read up to its newest entry now.
    g.casekit_live = current_kit().live.open(actor, number)
    return _render_case(actor, number)


def _render_case(
    actor: Actor,
    number: str,
    *,
    errors: dict[str, list[str]] | None = None,
    form: Any = None,
    stale: bool = False,
) -> ResponseReturnValue:
    """The case page; ``errors`` and ``form`` from a refused form, kept. ``stale``:
    the form was rendered at an older version of the case; the page says what
    changed since and offers to apply the form again (a 409)."""
    kit = current_kit()
    case = kit.cases.get(actor, number)
    facts = kit.cases.facts(actor, number)
    timeline = kit.cases.timeline(actor, number)
    allowed = kit.cases.allowed(actor, number)
    entries = {entry.id: entry for entry in timeline}
    side = "shipper" if actor.org_id == case.shipper_org_id else "carrier"
    own_owner = case.shipper_owner_id if side == "shipper" else case.carrier_owner_id
    type_label = _type_label(kit)
    audiences = list(allowed.audiences)
    if form is None:
        form = _quoted(entries.get(request.args.get("quote", type=int) or 0), audiences)
    colleagues = kit.directory.users(actor)
    status = 409 if stale else (400 if errors else 200)
    return render_template(
        "casekit/staff/case.html",
        actor=actor,
        case=case,
        facts=facts,
        timeline=timeline,
        side=side,
        own_owner=own_owner,
        colleagues=colleagues,
        allowed=allowed,
        audiences=audiences,
        default_audience=allowed.default_audience,
        may_share=allowed.share and Audience.PARTNERS in audiences,
        statuses=allowed.statuses,
        type_label=type_label,
        describe=lambda entry: rendering.describe_event(
            entry, facts.people, type_label, entries, facts.organizations
        ),
        errors=errors or {},
        form=form,
        case_types=kit.case_types,
        seen=timeline[-1].id if timeline else 0,
        now=kit.clock.now(),
        stale=_stale_context(form, timeline, colleagues, type_label) if stale else None,
        canned_replies=kit.canned_replies.list(actor) if audiences else [],
        **(_carrier_routes.carrier_form(actor, case) if allowed.change_carrier else {}),
        **_tag_routes.case_form(actor),
        **_field_routes.case_form(actor),
        **_action_routes.case_form(actor, case, facts),
        **_claim_routes.case_form(actor, case),
    ), status


def _stale_context(
    form: Any, timeline: list[Any], colleagues: Any, type_label: Any
) -> dict[str, Any]:
    """What a stale form's page says: the entries the viewer reads that are newer
    than the page the form came from (its ``seen`` field), what the form asked for,
    and the fields to send it again with."""
    raw = (form.get("seen") or "").strip()
    seen = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    newer = [e for e in timeline if seen is not None and e.id > seen]
    kept = [(k, v) for k, v in form.items(multi=True) if k not in ("csrf_token", "version", "seen")]
    return {
        "newer": newer,
        "known": seen is not None,
        "intent": _intent(request.endpoint or "", form, colleagues, type_label),
        "fields": kept,
        "action": request.path,
    }


def _intent(endpoint: str, form: Any, colleagues: Any, type_label: Any) -> str:
    """What a case page form asked for, in words: "change the status to Waiting"."""
    name = endpoint.rsplit(".", 1)[-1]
    if name == "change_status":
        try:
            return f"change the status to {rendering.status_label(form.get('status', ''))}"
        except ValueError:
            return "change the status"
    if name == "change_type":
        return f"change the case type to {type_label(form.get('type') or None)}"
    if name == "set_owner":
        action = form.get("action", "take")
        if action == "take":
            return "take ownership"
        if action == "release":
            return "let go of the case"
        names = {str(u.id): u.name for u in colleagues}
        return f"hand the case over to {names.get(form.get('user_id', ''), 'a colleague')}"
    if name == "change_carrier":
        return "change the carrier"
    if name == "contact_share":
        if form.get("action") == "withdraw":
            return "withdraw the customer's contact details from the carrier"
        return "share the customer's contact details with the carrier"
    return "change the case"


def _audiences(side: str) -> list[Audience]:
    """The audiences staff of ``side`` may write for on a new case: the carrier
    its own notes and the shipper; the shipper any. On a case, the kit says
    which reach someone (:meth:`casekit.services.cases.CaseService.allowed`)."""
    if side == "carrier":
        return [Audience.INTERNAL, Audience.PARTNERS]
    return list(Audience)


def _quoted(entry: Any, audiences: list[Audience]) -> dict[str, str]:
    """The composer filled with ``entry`` quoted to the carrier (a message of the
    shipper's conversation with its customer), or empty."""
    if (
        entry is None
        or entry.audience is not Audience.CUSTOMER
        or Audience.PARTNERS not in audiences
    ):
        return {}
    quoted = "\n".join(f"> {line}" if line else ">" for line in entry.body.splitlines())
    who = "The customer" if entry.actor_kind == "customer" else "We"
    return {"audience": Audience.PARTNERS.value, "body": f"{who} wrote:\n\n{quoted}\n\n"}


@staff.post("/<number>/messages")
def post_message(number: str) -> ResponseReturnValue:
    actor = require_staff()
    try:
        entry = current_kit().messages.post(
            actor,
            number,
            request.form.get("body", ""),
            audience=request.form.get("audience") or None,
            attachments=_uploads(),
            cc=split_addresses(request.form.getlist("cc")),
        )
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Posted.")
    # To the new message: on a phone it heads the screen, the composer below it.
    return redirect(url_for(".case_page", number=number) + f"#entry-{entry.id}")


@staff.post("/<number>/entries/<int:entry_id>/share")
def share_entry(number: str, entry_id: int) -> ResponseReturnValue:
    """Share a message of the shipper's conversation with its customer with the carrier."""
    actor = require_staff()
    try:
        current_kit().cases.share_with_carrier(actor, number, entry_id)
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Shared with the carrier.")
    return redirect(url_for(".case_page", number=number) + f"#entry-{entry_id}")


@staff.post("/<number>/contact-share")
def contact_share(number: str) -> ResponseReturnValue:
    """Share the customer's contact details with the carrier, or withdraw them
    (``action=withdraw``): the shipper's staff."""
    actor = require_staff()
    kit = current_kit()
    withdraw = request.form.get("action") == "withdraw"
    change = kit.cases.withdraw_contact if withdraw else kit.cases.share_contact
    try:
        change(actor, number, expected_version=_form_version())
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash(
        "The carrier no longer sees the customer's contact details."
        if withdraw
        else "The carrier now sees the customer's contact details on this case."
    )
    return redirect(url_for(".case_page", number=number))


@staff.post("/<number>/status")
def change_status(number: str) -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    try:
        kit.cases.change(
            actor,
            number,
            {"status": request.form.get("status", "")},
            expected_version=_form_version(),
        )
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Status changed.")
    return redirect(url_for(".case_page", number=number))


def _form_version() -> int | None:
    """The case version a form was rendered with (its ``version`` field), or None."""
    raw = request.form.get("version", "").strip()
    return case_version(raw, "version") if raw else None


@staff.post("/<number>/type")
def change_type(number: str) -> ResponseReturnValue:
    actor = require_staff()
    try:
        current_kit().cases.change_type(
            actor, number, request.form.get("type", ""), expected_version=_form_version()
        )
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Type changed.")
    return redirect(url_for(".case_page", number=number))


@staff.post("/<number>/owner")
def set_owner(number: str) -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    action = request.form.get("action", "take")
    try:
        version = _form_version()
        if action == "take":
            kit.cases.take(actor, number, expected_version=version)
        elif action == "release":
            kit.cases.set_owner(actor, number, None, expected_version=version)
        else:
            raw = request.form.get("user_id", "")
            if not raw.isdigit():
                raise InvalidInput({"user_id": ["choose a colleague"]})
            kit.cases.set_owner(actor, number, int(raw), expected_version=version)
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Owner changed.")
    return redirect(url_for(".case_page", number=number))


@staff.post("/<number>/watchers")
def watchers(number: str) -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    action = request.form.get("action", "watch")
    raw = request.form.get("user_id", "")
    try:
        user_id = int(raw) if raw.isdigit() else None
        if action in ("add", "remove") and user_id is None:
            raise InvalidInput({"user_id": ["choose a colleague"]})
        if action in ("watch", "add"):
            kit.cases.watch(actor, number, user_id)
        else:
            kit.cases.unwatch(actor, number, user_id)
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Watchers changed.")
    return redirect(url_for(".case_page", number=number))


@staff.post("/<number>/crm")
def crm_number(number: str) -> ResponseReturnValue:
    actor = require_staff()
    try:
        current_kit().cases.set_crm_number(actor, number, request.form.get("crm_number"))
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("CRM case number saved.")
    return redirect(url_for(".case_page", number=number))


@staff.get("/<number>/attachments/<int:attachment_id>")
def attachment(number: str, attachment_id: int) -> ResponseReturnValue:
    """A file of an entry the user reads; ``?inline=1`` shows a photo in place."""
    actor = require_staff()
    inline = request.args.get("inline") == "1"
    return send_attachment(actor, number, attachment_id, inline=inline)


# -- the shipment fragment ------------------------------------------------------------------
@staff.get("/shipments/<path:reference>")
def shipment_fragment(reference: str) -> ResponseReturnValue:
    """The cases of one shipment and a Create Case button: for the host's shipment page."""
    actor = require_staff()
    kit = current_kit()
    cases = kit.cases.of_shipment(actor, reference)
    return render_template(
        "casekit/staff/shipment_fragment.html",
        reference=reference,
        cases=cases,
        type_label=_type_label(kit),
    )


# -- organization settings --------------------------------------------------------------------
@staff.route("/settings", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    if request.method == "POST":
        if not actor.is_manager:
            abort(403)
        kit.directory.set_feedback_portal(
            actor, organization.id, request.form.get("feedback_portal") == "on"
        )
        flash("Settings saved.")
        return redirect(url_for(".settings"))
    return render_template("casekit/staff/settings.html", actor=actor, organization=organization)


@staff.errorhandler(Conflict)
def _stale(error: Conflict) -> ResponseReturnValue:
    """A case page form rendered at an older version of the case: the page again,
    saying what changed since, with the form's input kept to apply again."""
    number = (request.view_args or {}).get("number")
    actor = current_actor()
    if request.method != "POST" or not number or actor is None or not actor.is_user:
        return error_page(409, "Changed meanwhile", sentence(str(error)))
    return _render_case(actor, number, form=request.form, stale=True)


def _messages(error: InvalidInput) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in error.errors.items()}


def apply_settings_form(
    apply: Callable[[], None], missing: tuple[str, str]
) -> tuple[dict[str, list[str]], int] | None:
    """Apply one posted form of a settings page (tags, custom fields).

    None when it was applied; otherwise the errors by field and the status (400) to
    render the page again with. ``missing`` is the field and message for an id that
    names nothing of the organization.
    """
    try:
        apply()
    except InvalidInput as error:
        return _messages(error), 400
    except NotFound:
        field, message = missing
        return {field: [message]}, 400
    return None


# The carrier form, the settings, rules and triage pages live in their own modules, on this
# blueprint.
from casekit_flask import actions as _action_routes  # noqa: E402
from casekit_flask import calendars as _calendar_routes  # noqa: E402, F401
from casekit_flask import canned_replies as _canned_reply_routes  # noqa: E402, F401
from casekit_flask import case_carrier as _carrier_routes  # noqa: E402
from casekit_flask import claims as _claim_routes  # noqa: E402
from casekit_flask import custom_fields as _field_routes  # noqa: E402
from casekit_flask import list_actions as _list_routes  # noqa: E402, F401
from casekit_flask import live as _live_routes  # noqa: E402, F401
from casekit_flask import merge as _merge_routes  # noqa: E402, F401
from casekit_flask import organization as _settings_routes  # noqa: E402, F401
from casekit_flask import rule_conditions as _rule_condition_routes  # noqa: E402, F401
from casekit_flask import rules as _rules_routes  # noqa: E402, F401
from casekit_flask import service_levels as _service_level_routes  # noqa: E402, F401
from casekit_flask import tags as _tag_routes  # noqa: E402
from casekit_flask import triage as _triage_routes  # noqa: E402, F401
