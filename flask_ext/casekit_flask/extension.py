"""The Flask extension: :class:`CaseKitFlask`, its config keys, identity and errors."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError  # type: ignore[import-untyped]
from markupsafe import Markup
from werkzeug.urls import iri_to_uri

from casekit import (
    Actor,
    CaseKit,
    CaseMerged,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from casekit.errors import ConfigurationError
from casekit.json_input import MAX_BYTES
from casekit.labels import field_label, not_found_message
from casekit_flask import config
from casekit_flask.cli import flask_group
from casekit_flask.csrf import leave_to_casekit, protect_forms
from casekit_flask.ratelimit import RateLimiter, RateLimits
from casekit_flask.redirects import same_site_path, with_next

IdentityLoader = Callable[[], Actor | None]

log = logging.getLogger(__name__)

#: Every config key the extension reads, with its default (see docs/flask.rst).
log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "CASEKIT_DATABASE_URL": None,
    "CASEKIT_REGISTER_BLUEPRINTS": True,
    "CASEKIT_STAFF_URL_PREFIX": "/cases",
    "CASEKIT_PORTAL_URL_PREFIX": "/my-account/cases",
    "CASEKIT_BASE_URL": None,
    "CASEKIT_INBOUND_URL_PREFIX": "/casekit/inbound",
    "CASEKIT_UNSUBSCRIBE_URL_PREFIX": "/unsubscribe",
    "CASEKIT_MAILGUN_SIGNING_KEY": None,
    "CASEKIT_MAILGUN_MAX_AGE": 900,
    "CASEKIT_PAGE_SIZE": 50,
    "CASEKIT_LOGIN_URL": None,
    "CASEKIT_PORTAL_RATE_LIMIT": 5,
    "CASEKIT_PORTAL_RATE_WINDOW": 3600,
    "CASEKIT_API_RATE_LIMIT": None,
    "CASEKIT_API_RATE_WINDOW": 60,
    "CASEKIT_RATE_LIMIT_STORAGE_URI": "memory://",
    "CASEKIT_RATE_LIMIT_KEY_PREFIX": "casekit",
    "CASEKIT_CONTENT_SECURITY_POLICY": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
    ),
    "CASEKIT_COUNTS_TTL": 30,
    "CASEKIT_LIVE_POLL_SECONDS": 4,
    "CASEKIT_KNOWN_VALUES_TTL": 300,
    "CASEKIT_DEMO": False,
    "CASEKIT_API": True,
    "CASEKIT_API_URL_PREFIX": "/api/v1",
    "CASEKIT_API_MAX_JSON_BYTES": MAX_BYTES,
    "CASEKIT_OPS_URL_PREFIX": "/casekit",
    "CASEKIT_HEALTH": True,
    "CASEKIT_METRICS": False,
    "CASEKIT_METRICS_TOKEN": None,
    "CASEKIT_METRICS_REGISTRY": None,
}


class CountsCache:
    """The view counts of each actor, kept for ``ttl`` seconds.

    Counting every view on each page load costs more than the page itself at
    scale, so the badge counts are reused for a while. Any change to a case
    made through this kit in this process (casekit's ``case-opened`` and
    ``case-updated`` signals) empties the cache; changes made by other
    processes show within ``ttl``. A ``ttl`` of 0 counts on every page.
    """

    def __init__(self, kit: CaseKit, ttl: float, *, clock: Callable[[], float] = time.monotonic):
        self.kit = kit
        self.ttl = ttl
        self.clock = clock
        self._counts: dict[Actor, tuple[float, dict[str, int]]] = {}
        self._lock = threading.Lock()
        if ttl > 0:
            from casekit import signals

            signals.case_opened.connect(self._changed, sender=kit)
            signals.case_updated.connect(self._changed, sender=kit)

    def _changed(self, _sender: object, **_kwargs: Any) -> None:
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def forget(self, actor: Actor) -> None:
        with self._lock:
            self._counts.pop(actor, None)

    def get(self, actor: Actor) -> dict[str, int]:
        if self.ttl <= 0:
            return self.kit.views.counts(actor)
        now = self.clock()
        with self._lock:
            found = self._counts.get(actor)
        if found is not None and found[0] > now:
            return found[1]
        counts = self.kit.views.counts(actor)
        with self._lock:
            self._counts[actor] = (now + self.ttl, counts)
        return counts


class KnownValuesCache:
    """The known values of the list's free-valued filters, kept for ``ttl`` seconds per
    organization (its staff see the same cases) or per other actor.

    Reading them is a distinct scan of the actor's cases (on 200,000 cases,
    a tenth of a second for the largest shipper), so they are not read
    again when a case is opened: a new value shows within ``ttl``. A
    ``ttl`` of 0 reads them on every page.
    """

    def __init__(self, kit: CaseKit, ttl: float, *, clock: Callable[[], float] = time.monotonic):
        self.kit = kit
        self.ttl = ttl
        self.clock = clock
        self._values: dict[tuple[Any, str], tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def get(self, actor: Actor, field: str) -> list[str]:
        if self.ttl <= 0:
            return self.kit.views.known_values(actor, field)
        # Staff see their organization's cases, all alike: one entry per organization.
        key: Any = ("org", actor.org_id) if actor.is_user and actor.org_id else actor
        now = self.clock()
        with self._lock:
            found = self._values.get((key, field))
        if found is not None and found[0] > now:
            return found[1]
        values = self.kit.views.known_values(actor, field)
        with self._lock:
            if len(self._values) >= 10_000:
                self._values.clear()
            self._values[(key, field)] = (now + self.ttl, values)
        return values


class State:
    """What one app holds in ``app.extensions["casekit"]``."""

    def __init__(self, extension: CaseKitFlask, kit: CaseKit, app: Flask) -> None:
        self.extension = extension
        self.kit = kit
        self.page_size = int(app.config["CASEKIT_PAGE_SIZE"])
        self.login_url: str | None = app.config["CASEKIT_LOGIN_URL"]
        self.csp: str = app.config["CASEKIT_CONTENT_SECURITY_POLICY"]
        self.demo = bool(app.config["CASEKIT_DEMO"])
        self.api_prefix: str = "/api/v1"
        self.api_max_json_bytes = int(app.config["CASEKIT_API_MAX_JSON_BYTES"])
        self.api: Any = None
        self.counts = CountsCache(kit, float(app.config["CASEKIT_COUNTS_TTL"]))
        self.known = KnownValuesCache(kit, float(app.config["CASEKIT_KNOWN_VALUES_TTL"]))
        self.rate_limits = RateLimits(app.config)
        self.portal_limiter: RateLimiter = self.rate_limits.portal
        self.api_limiter: RateLimiter | None = self.rate_limits.api


class CaseKitFlask:
    """casekit's pages in a Flask app.

    ::

        kit = CaseKit("sqlite:///cases.sqlite3")
        casekit_flask = CaseKitFlask(kit=kit)

        @casekit_flask.identity_loader
        def load_actor():
            return current_user.casekit_actor() if current_user.is_authenticated else None

        casekit_flask.init_app(app)

    :param app: the app to set up now (or call :meth:`init_app` later).
    :param kit: the :class:`~casekit.CaseKit` the pages use; without one, each
        app builds its own from its config and the environment
        (:func:`casekit_flask.config.app_settings`).
    :param identity_loader: a function returning the :class:`~casekit.Actor`
        of the current request, or None for an anonymous one.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        kit: CaseKit | None = None,
        identity_loader: IdentityLoader | None = None,
    ) -> None:
        self.kit = kit
        self._identity_loader = identity_loader
        if app is not None:
            self.init_app(app)

    def identity_loader(self, loader: IdentityLoader) -> IdentityLoader:
        """Register the function that returns the current request's actor (a decorator)."""
        self._identity_loader = loader
        return loader

    def init_app(self, app: Flask, *, kit: CaseKit | None = None) -> None:
        """Read the ``CASEKIT_*`` config and mount the blueprints.

        :param kit: the kit of this app's pages; it wins over the one given
            to :class:`CaseKitFlask`. Without either, the app builds its own
            from :func:`casekit_flask.config.app_settings`.

        Raises :class:`~casekit.errors.ConfigurationError`, before it changes
        the app, when there is no identity loader, the app has no
        ``SECRET_KEY`` (the pages could not work without either), a
        ``CASEKIT_*`` key of ``app.config`` is unknown (a misspelling), a
        setting is invalid, or ``app.config`` sets a core setting the given
        kit does not have.
        """
        if self._identity_loader is None:
            raise ConfigurationError(
                "CaseKitFlask has no identity loader: decorate the function that returns "
                "the request's Actor (or None) with @casekit_flask.identity_loader before "
                "init_app, or pass CaseKitFlask(identity_loader=...); an app that takes only "
                "API keys passes identity_loader=lambda: None"
            )
        if not app.config.get("SECRET_KEY"):
            raise ConfigurationError(
                "casekit-flask needs the app's SECRET_KEY (sessions and CSRF tokens are "
                'signed with it): set app.config["SECRET_KEY"] before init_app, to a '
                "secret of your deployment's, e.g. python -c 'import secrets; "
                "print(secrets.token_hex())'"
            )
        config.check_keys(app.config, DEFAULTS)
        kit = kit if kit is not None else self.kit
        if kit is None:
            kit = CaseKit(settings=config.app_settings(app))
        else:
            config.check_kit(app.config, kit)
        for key, default in DEFAULTS.items():
            app.config.setdefault(key, default)
        links = case_links(app.config)
        if links:
            # Only the links the kit's own settings leave empty.
            missing: dict[str, Any] = {
                name: url for name, url in links.items() if not getattr(kit.settings, name)
            }
            if missing:
                kit.settings = attrs.evolve(kit.settings, **missing)
        app.extensions["casekit"] = State(self, kit, app)
        leave_to_casekit(app)
        app.cli.add_command(flask_group)  # `flask casekit ...`: casekit's commands on this kit
        app.jinja_env.globals["casekit_feedback_button"] = feedback_button
        if app.config["CASEKIT_REGISTER_BLUEPRINTS"]:
            from casekit_flask.dashboard import dashboard
            from casekit_flask.inbound import inbound
            from casekit_flask.portal import portal
            from casekit_flask.staff import staff

            app.register_blueprint(staff, url_prefix=app.config["CASEKIT_STAFF_URL_PREFIX"])
            app.register_blueprint(dashboard, url_prefix=app.config["CASEKIT_STAFF_URL_PREFIX"])
            app.register_blueprint(portal, url_prefix=app.config["CASEKIT_PORTAL_URL_PREFIX"])
            app.register_blueprint(inbound, url_prefix=app.config["CASEKIT_INBOUND_URL_PREFIX"])
            from casekit_flask.unsubscribe import fill_unsubscribe_url, unsubscribe

            app.register_blueprint(
                unsubscribe, url_prefix=app.config["CASEKIT_UNSUBSCRIBE_URL_PREFIX"]
            )
            fill_unsubscribe_url(app)
        if app.config["CASEKIT_API"]:
            from casekit_flask.api import init_api

            init_api(app, app.extensions["casekit"])
        from casekit_flask.ops import init_ops

        init_ops(app, app.extensions["casekit"])

    def load_actor(self) -> Actor | None:
        assert self._identity_loader is not None  # init_app refuses to start without one
        return self._identity_loader()


def case_links(config: Mapping[str, Any]) -> dict[str, str]:
    """The mail's links to a case (``case_url``, ``portal_case_url``) that
    ``CASEKIT_BASE_URL`` and the URL prefixes in ``config`` give; none without a base URL.

    Raises :class:`~casekit.errors.ConfigurationError` naming the key when the
    base URL is not an absolute ``http(s)`` address.
    """
    base = config.get("CASEKIT_BASE_URL")
    if not base:
        return {}
    parts = urlsplit(str(base))
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigurationError(
            f"CASEKIT_BASE_URL {base!r}: the app's absolute address, such as "
            "https://shop.example (mail links to cases start with it)"
        )
    root = str(base).rstrip("/")

    def under(key: str) -> str:
        prefix = str(config.get(key, DEFAULTS[key]) or "").strip("/")
        return f"{root}/{prefix}/{{number}}" if prefix else f"{root}/{{number}}"

    return {
        "case_url": under("CASEKIT_STAFF_URL_PREFIX"),
        "portal_case_url": under("CASEKIT_PORTAL_URL_PREFIX"),
    }


def state() -> State:
    """The extension's state for the current app."""
    try:
        found: State = current_app.extensions["casekit"]
    except KeyError:
        raise ConfigurationError(
            "casekit_flask is not set up on this app; did you forget to call init_app?"
        ) from None
    return found


def current_kit() -> CaseKit:
    """The :class:`~casekit.CaseKit` of the current app."""
    return state().kit


def sharing_reads(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Run a page's view with its reads in one transaction (:meth:`CaseKit.sharing_reads`):
    the services it asks for the page's parts share a connection and a check."""

    @functools.wraps(view)
    def shared(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        with current_kit().sharing_reads():
            return view(*args, **kwargs)

    return shared


def current_actor() -> Actor | None:
    """The current request's actor (from the identity loader), or None; loaded once.

    A deactivated user's session ends here: the request is anonymous to
    casekit (pages go to login, the API answers 401), whatever the host's
    session still says.
    """
    if "casekit_actor" not in g:
        actor = state().extension.load_actor()
        if (
            actor is not None
            and actor.user_id is not None
            and not state().kit.directory.may_act(actor)
        ):
            log.info("user %s is deactivated; their session is refused", actor.user_id)
            actor = None
        g.casekit_actor = actor
    found: Actor | None = g.casekit_actor
    return found


def require_actor() -> Actor:
    """The current actor; an anonymous request goes to login (or gets a 401)."""
    actor = current_actor()
    if actor is None:
        login = state().login_url
        if login:
            wanted = request.full_path if request.query_string else request.path
            abort(redirect(with_next(login, same_site_path(iri_to_uri(wanted)))))
        log.warning(
            "casekit: anonymous request refused (%s from %s)", request.endpoint, request.remote_addr
        )
        abort(401)
    return actor


def case_version(raw: str, field: str) -> int:
    """The case version ``raw`` names (an ETag's or a form's); InvalidInput naming
    ``field`` when it is not one."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidInput({field: ["a version of this case, as casekit gave it"]})
    return int(raw)


def feedback_button(order_number: str | None = None, *, label: str = "Send feedback") -> Markup:
    """The customer portal's feedback button, for the host's order page.

    Shows only for a customer whose shipper has enabled the feedback portal;
    empty otherwise (staff, anonymous, or the portal off).
    """
    actor = current_actor()
    if actor is None or not actor.is_customer:
        return Markup("")
    if not current_kit().directory.feedback_portal(actor):
        return Markup("")
    html = render_template(
        "casekit/portal/_feedback_button.html", order_number=order_number, label=label
    )
    return Markup(html)


def secure_headers(response: Response) -> Response:
    """The headers every casekit page carries."""
    response.headers.setdefault("Content-Security-Policy", state().csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


def sentence(text: str) -> str:
    """``text`` with its first letter upper case and the rest as it was: an error's
    message names a case by its own number (``CV000052``), never lower-cased."""
    return text[:1].upper() + text[1:]


def error_page(status: int, title: str, message: str) -> ResponseReturnValue:
    """An error in plain words, inside the navigation of the pages the reader
    uses (staff or portal), with a way back."""
    page = render_template("casekit/error.html", title=title, message=message, **_way_back())
    return page, status


def _way_back() -> dict[str, Any]:
    """The layout an error page keeps and its links back: the reader's list of
    cases, and the page they came from when it is one of this site's."""
    try:
        actor = current_actor()
    except Exception:  # an error page never fails for want of an identity
        log.debug("no actor for the error page", exc_info=True)
        actor = None
    blueprints = current_app.blueprints
    layout, home, home_label = "casekit/base.html", None, None
    if actor is not None and actor.is_staff and "casekit_staff" in blueprints:
        layout = "casekit/staff/_layout.html"
        home, home_label = url_for("casekit_staff.case_list"), "Back to the case list"
    elif actor is not None and actor.is_customer and "casekit_portal" in blueprints:
        layout = "casekit/portal/_layout.html"
        home, home_label = url_for("casekit_portal.my_cases"), "Back to my feedback"
    back = None
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        back = same_site_path(path, "") or None
        if back in (request.full_path.rstrip("?"), home):
            back = None
    return {"error_layout": layout, "home_url": home, "home_label": home_label, "back_url": back}


def merged_notice(number: str, merged_into: str) -> str:
    """What the original's page says to a reader sent on from its duplicate."""
    return f"Case {number} was merged into this case, {merged_into}; it takes no more changes."


def register_error_handlers(blueprint: Blueprint, *, csrf_except: Collection[str] = ()) -> None:
    """Map casekit's errors to pages on ``blueprint`` (never a 500 for what a user
    did), and check its forms' CSRF tokens (:func:`casekit_flask.csrf.protect_forms`),
    but those of the endpoints in ``csrf_except``, which carry a signed token of
    their own."""

    @blueprint.errorhandler(NotFound)
    def _not_found(error: NotFound) -> ResponseReturnValue:
        return error_page(404, "Not found", not_found_message(error.kind, error.key))

    @blueprint.errorhandler(PermissionDenied)
    def _denied(error: PermissionDenied) -> ResponseReturnValue:
        return error_page(403, "Not allowed", sentence(str(error)))

    @blueprint.errorhandler(CaseMerged)
    def _merged(error: CaseMerged) -> ResponseReturnValue:
        # A case merged into another: its page, and any change asked of it, go on
        # to the original (of this blueprint's pages), saying why.
        page = f"{blueprint.name}.case_page"
        if page not in current_app.view_functions:
            return error_page(409, "Merged into another case", sentence(str(error)))
        flash(merged_notice(error.number, error.merged_into))
        return redirect(url_for(page, number=error.merged_into), 303)

    @blueprint.errorhandler(Conflict)
    def _conflict(error: Conflict) -> ResponseReturnValue:
        return error_page(409, "Changed meanwhile", sentence(str(error)))

    @blueprint.errorhandler(InvalidInput)
    def _invalid(error: InvalidInput) -> ResponseReturnValue:
        lines = "; ".join(
            f"{field_label(field)}: {', '.join(map(str, msgs))}"
            for field, msgs in error.errors.items()
        )
        return error_page(400, "Please check your input", lines)

    protect_forms(blueprint, except_endpoints=csrf_except)

    @blueprint.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> ResponseReturnValue:
        return error_page(400, "The form expired", "Reload the page and send it again.")

    @blueprint.errorhandler(401)
    def _anonymous(error: Any) -> ResponseReturnValue:
        return error_page(401, "Sign in", "Sign in to see this page.")

    @blueprint.errorhandler(404)
    def _missing(error: Any) -> ResponseReturnValue:
        return error_page(404, "Not found", "There is nothing here.")

    @blueprint.errorhandler(413)
    def _too_large(error: Any) -> ResponseReturnValue:
        return error_page(413, "Too large", "The attachments are too large.")

    @blueprint.errorhandler(429)
    def _too_many(error: Any) -> ResponseReturnValue:
        return error_page(
            429, "Too many messages", "You sent several messages just now; try again later."
        )

    blueprint.after_request(secure_headers)
