"""Bad input on every operation of the REST API ends in a clear refusal.

Every operation of the served OpenAPI document is fuzzed (a new operation
is by itself): hypothesis sends it JSON bodies whose fields have the wrong
types (null, booleans, numbers where text belongs and text where numbers
do, huge numbers, lists, objects, huge strings, NUL, lone surrogates as
``\\ud800`` escapes), bodies missing fields or with unknown ones, bodies
that are not JSON or not an object, wrong content types, and bad query
parameters (page sizes, cursors, sort keys, filters as garbage JSON,
unknown and repeated parameters). For each request:

- the status is below 500 and no traceback is shown;
- a 4xx is an ``application/problem+json`` document that names what is
  wrong (``detail`` or ``errors``);
- a 4xx wrote nothing: every row of casekit's tables is as it was before
  (``last_used_at`` of API keys aside, which a read may move).

Most bodies are nearly right (every field plausible, one left out or given
a wrong value), so they get past the first checks to the services. Each
request is sent by an API key of the shipper (write scope; admin under
``/api-keys``, ``/directory`` and ``/case-addresses``, which need it), by
the shipper's manager signed in to the host with CSRF on and the token
sent, and for a change once more without the token. JSON is nested at most 20 levels deep.

Bounded and derandomized: ``CASEKIT_API_FUZZ_EXAMPLES`` examples per
operation (25 by default, 10 on a database server); set it higher for a
longer local run.
"""

from __future__ import annotations

import io
import json
import os
import string
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import login, make_app
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import CompoundSelect, String, Text, cast, literal, null, select, union_all

from casekit import Actor, CaseKit, Upload
from casekit.domain.notify import TEMPLATE_NAMES
from casekit.query.filters import FIELDS, OPERATORS, SORT_FIELDS, Kind
from casekit.query.listing import BuiltinView
from casekit.store.tables import api_keys, metadata
from casekit.testing import World, make_kit
from casekit_flask.api.common import PROBLEM
from casekit_flask.extension import State

METHODS = ("get", "post", "put", "patch", "delete")
MAX_DEPTH = 20


def examples(backend: str) -> int:
    default = "25" if backend == "sqlite" else "10"
    return int(os.environ.get("CASEKIT_API_FUZZ_EXAMPLES", default))


# -- The operations, from the OpenAPI document -------------------------------


def _served_spec() -> dict[str, Any]:
    """The OpenAPI document of an app on a kit that is never opened."""
    kit = make_kit(
        "sqlite://",
        attachment_dir=Path(tempfile.gettempdir()) / "casekit-fuzz",
        create_schema=False,
    )
    try:
        spec: dict[str, Any] = make_app(kit).extensions["casekit"].api.spec.to_dict()
    finally:
        kit.close()
    return spec


SPEC = _served_spec()
OPERATIONS = [
    (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method in METHODS
    if method in item
]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return _resolve(resolved)
    return schema


def _operation(method: str, path: str) -> dict[str, Any]:
    item = SPEC["paths"][path]
    op: dict[str, Any] = item[method.lower()]
    return op


# -- Values -------------------------------------------------------------------

EDGE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\U0001f4a9",
    "null",
    "true",
    "0",
    "-1",
    "1.5",
    "1e400",
    "NaN",
    "2147483648",
    "99999999999999999999",
    "[]",
    "{}",
    "'; DROP TABLE casekit_cases; --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "{{ 7 * 7 }}",
    "{% for x in range(10**9) %}{% endfor %}",
]
BIG_TEXT = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["a", "\u00e9", "\U0001f600", "\x00", " "]),
    st.sampled_from([101, 201, 255, 2001, 100_001]),
)
#: The longest text put in a URL (a path segment, a query's name or value): gunicorn's
#: default limit of a whole request line. A longer URL never reaches the app behind a
#: production server, and Werkzeug's test client spent about a second decoding each
#: megabyte URL of a BIG_TEXT value (twice a request, for its cookies): over half of
#: this module's time. Bodies still carry BIG_TEXT whole.
URL_TEXT_MAX = 4094
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(EDGE_TEXT),
    BIG_TEXT,
    st.text(st.one_of(st.characters(), SURROGATES), min_size=1, max_size=5),
)
INTEGERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**30]),
)
NUMBERS = st.one_of(INTEGERS, st.floats(allow_nan=False, allow_infinity=False))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
#: Characters that make a good string bad somewhere: no database stores the first three.
POISON = st.sampled_from(["\x00", "\ud800", "\udfff", "\U0001f600", "\u202e", "\r\n"])


def _poison(text: str, char: str, at: int) -> str:
    at = min(at, len(text))
    return text[:at] + char + text[at:]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
).filter(lambda v: _depth(v) <= MAX_DEPTH)


#: Dates and times at the ends of what Python and the databases hold.
EDGE_TIMES = st.sampled_from(
    [
        "2026-01-05",
        "2026-01-05T09:00:00Z",
        "0001-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2026-02-30",
        "2026-01-05T09:00:00",
    ]
)
FILTER_VALUES = st.one_of(
    st.lists(st.one_of(NUMBERS, TEXT), min_size=1, max_size=3),
    st.fixed_dictionaries({}, optional={"from": EDGE_TIMES, "to": EDGE_TIMES}),
    TEXT,
    st.just(True),
)


def _filter_values(name: str) -> st.SearchStrategy[Any]:
    """Values of the field's shape (ids, choices, a date range, text), often out of bounds."""
    spec = FIELDS[name]
    if spec.ids:
        shaped: st.SearchStrategy[Any] = st.lists(INTEGERS, min_size=1, max_size=3)
    elif spec.kind is Kind.DATES:
        shaped = st.fixed_dictionaries({}, optional={"from": EDGE_TIMES, "to": EDGE_TIMES})
    elif spec.kind is Kind.CHOICE:
        shaped = st.lists(st.sampled_from([*(spec.choices or ()), "x"]), min_size=1, max_size=3)
    else:
        shaped = TEXT
    return st.one_of(shaped, shaped, FILTER_VALUES)


def matched_filters() -> st.SearchStrategy[dict[str, Any]]:
    """A field with one of its own operators, and a value of its shape or any other."""
    return st.sampled_from(sorted(FIELDS)).flatmap(
        lambda name: st.fixed_dictionaries(
            {
                "field": st.just(name),
                "op": st.sampled_from(OPERATORS[FIELDS[name].kind]),
                "value": _filter_values(name),
            }
        )
    )


def list_queries() -> st.SearchStrategy[Any]:
    """Lists' queries as JSON: the right shape with wrong parts, or no shape at all."""
    filters = st.fixed_dictionaries(
        {},
        optional={
            "field": st.one_of(st.sampled_from(sorted(FIELDS)), TEXT),
            "op": st.one_of(
                st.sampled_from(sorted({o for ops in OPERATORS.values() for o in ops})), TEXT
            ),
            "value": st.one_of(
                JSON,
                st.fixed_dictionaries({}, optional={"from": TEXT, "to": TEXT}),
                st.lists(st.one_of(TEXT, NUMBERS), max_size=3),
            ),
        },
    )
    query = st.fixed_dictionaries(
        {},
        optional={
            "version": st.one_of(st.just(1), JSON),
            "view": st.one_of(st.sampled_from([v.value for v in BuiltinView]), JSON),
            "filters": st.one_of(
                st.lists(st.one_of(matched_filters(), filters, JSON), max_size=3), JSON
            ),
            "sort": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "field": st.one_of(st.sampled_from(sorted(SORT_FIELDS)), TEXT),
                        "direction": st.one_of(st.sampled_from(["asc", "desc"]), TEXT),
                    },
                ),
                JSON,
            ),
            "search": JSON,
            "columns": JSON,
        },
    )
    return st.one_of(query, st.one_of(matched_filters(), filters).map(lambda f: [f]), JSON)


RULE_KEYS = [
    "name",
    "case_type",
    "statuses",
    "exceptions",
    "modes",
    "directions",
    "carriers",
    "brands",
    "customer_segments",
    "regions",
    "time_condition",
    "hours",
    "subject",
    "message",
    "owner",
    "owner_ids",
    "watcher_ids",
    "carrier_collaborating",
    "auto_solve",
    "solve_on",
]


def rule_definitions() -> st.SearchStrategy[Any]:
    good = {"name": st.just("Damaged"), "case_type": st.just("lost")}
    return st.fixed_dictionaries(
        {},
        optional={
            **dict.fromkeys(RULE_KEYS, JSON),
            **{k: st.one_of(v, JSON) for k, v in good.items()},
        },
    )


def plausible(schema: dict[str, Any], name: str, scene: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value a careful caller might send for ``schema``: to get past the first checks."""
    schema = _resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.sampled_from(["2026-01-05T09:00:00Z", "2026-01-05T09:00:00", "2026-13-01"])
        if schema.get("format") == "date":
            return st.sampled_from(["2026-01-05", "2026-02-30", "05/01/2026"])
        good = st.sampled_from(
            ["lost", "SHP-1", "SHP-9", scene["number"], "https://hooks.acme.test/x", "x@y.test"]
        )
        return st.one_of(good, good, good, st.builds(_poison, good, POISON, st.integers(0, 40)))
    if kind == "integer":
        bounds = {schema[k] for k in ("minimum", "maximum") if k in schema}
        return st.sampled_from(
            sorted({1, 2, 3, scene["user_id"], scene["shipper_org_id"], *bounds})
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(plausible(schema.get("items", {}), name, scene), max_size=3)
    if kind == "object" or "properties" in schema:
        if "properties" in schema:
            return bodies(schema, scene)
        if name == "definition":
            good = {"name": "Damaged", "case_type": "lost", "exceptions": ["damaged"]}
            return st.one_of(st.just(good), rule_definitions())
        if name == "query":
            views = st.sampled_from([v.value for v in BuiltinView])
            return st.one_of(st.just({}), st.builds(lambda v: {"view": v}, views), list_queries())
        return st.dictionaries(st.text(max_size=8), JSON, max_size=3)
    return JSON


def wrong(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of another type than ``schema``'s, or of its type but out of bounds."""
    schema = _resolve(schema)
    kind = schema.get("type")
    outside = [schema["minimum"] - 1] if "minimum" in schema else []
    outside += [schema["maximum"] + 1] if "maximum" in schema else []
    others = {
        "string": st.one_of(NUMBERS, st.booleans(), st.lists(TEXT, max_size=2), JSON),
        "integer": st.one_of(
            st.sampled_from(outside or [0]),
            TEXT,
            st.booleans(),
            st.floats(),
            NUMBERS,
            st.lists(NUMBERS, max_size=2),
        ),
        "boolean": st.one_of(st.sampled_from(["true", "false", "1", "yes", 0, 1, 2]), JSON),
        "array": st.one_of(
            SCALARS, st.dictionaries(TEXT, JSON, max_size=2), st.lists(JSON, max_size=4)
        ),
        "object": st.one_of(SCALARS, st.lists(JSON, max_size=3)),
    }
    if isinstance(kind, str) and kind in others:
        return st.one_of(others[kind], st.none(), TEXT)
    return JSON


def bodies(schema: dict[str, Any], scene: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of ``schema``'s fields: nearly right (one field spoiled), or anything."""
    schema = _resolve(schema)
    props: dict[str, Any] = schema.get("properties", {})
    nearly = st.builds(
        _spoil,
        st.fixed_dictionaries({n: plausible(s, n, scene) for n, s in props.items()}),
        st.one_of(
            st.none(),
            st.sampled_from(sorted(props) or ["x"]).flatmap(
                lambda name: st.tuples(
                    st.just(name), st.one_of(st.just(MISSING), wrong(props.get(name, {})))
                )
            ),
        ),
    )
    anything = st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(plausible(s, name, scene), wrong(s), SCALARS)
            for name, s in props.items()
        },
    )
    extra = st.dictionaries(
        st.one_of(st.text(max_size=10), st.sampled_from(["id", "version", "\x00", "\ud800"])),
        JSON,
        max_size=2,
    )
    return st.builds(
        lambda body, more, keep: {**more, **body} if keep == 0 else body,
        st.one_of(nearly, nearly, anything),
        extra,
        st.integers(0, 3),
    )


MISSING = object()


def _spoil(body: dict[str, Any], change: tuple[str, Any] | None) -> dict[str, Any]:
    """``body`` with one field left out (MISSING) or given a wrong value."""
    if change is not None:
        name, value = change
        body = {k: v for k, v in body.items() if k != name}
        if value is not MISSING:
            body[name] = value
    return body


# -- Requests -----------------------------------------------------------------

BAD_JSON = [
    b"",
    b"{",
    b'{"type": "lost",}',
    b'{"type": NaN}',
    b'{"type": Infinity}',
    b"[" * 20 + b"]" * 20,
    b'{"a": 1}{"b": 2}',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b'{"type": "\xff"}',
    b'{"type": "lost", "type": 5}',
    b"null",
    b"1e400",
    b'"\\ud800"',
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "application/merge-patch+json",
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    None,
]


def _form_text(value: Any) -> str:
    """A form field's or query parameter's text: UTF-8, short enough that the test
    client keeps a form in memory (a spooled file it would leave open)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")[:5000]


@st.composite
def payloads(draw: st.DrawFn, op: dict[str, Any], scene: dict[str, Any]) -> dict[str, Any]:
    """The body part of a request: ``data`` and ``content_type`` for the test client."""
    content = op.get("requestBody", {}).get("content", {})
    schema = (content.get("application/json") or {}).get("schema") or (
        content.get("multipart/form-data") or {}
    ).get("schema")
    shape = draw(st.sampled_from(["object", "object", "object", "json", "bytes", "typed", "none"]))
    if schema is None and shape in ("object", "typed"):
        shape = "json"
    if shape == "none":
        return {}
    if shape == "json":
        return {"data": json.dumps(draw(JSON)), "content_type": "application/json"}
    if shape == "bytes":
        data = draw(st.one_of(st.sampled_from(BAD_JSON), st.binary(max_size=40)))
        return {"data": data, "content_type": draw(st.sampled_from(CONTENT_TYPES))}
    body = draw(bodies(schema, scene))
    if shape == "object":
        return {"data": json.dumps(body), "content_type": "application/json"}
    kind = draw(st.sampled_from(CONTENT_TYPES))
    if kind is not None and kind.startswith(("multipart/form-data", "application/x-www")):
        form: dict[str, Any] = {str(k): _form_text(v) for k, v in body.items() if "\x00" not in k}
        form = {k.encode("utf-8", "replace").decode(): v for k, v in form.items()}
        if kind.startswith("multipart") and draw(st.booleans()):
            name = draw(st.sampled_from(["attachments", "body", "file", "\u00e9"]))
            form[name] = (  # made a file by _fresh for each request
                draw(st.binary(max_size=20)),
                draw(st.sampled_from(["a.txt", "", ".."])),
            )
        return {"data": form, "content_type": kind.split(";")[0]}
    return {"data": json.dumps(body), "content_type": kind}


#: Values of query parameters that a caller would send, where the document has none.
KNOWN_QUERY_VALUES = {
    "view": [v.value for v in BuiltinView],
    "sort": sorted(SORT_FIELDS),
    "search": ["x", "SHP-1", "1Z001"],
    "timezone": ["UTC", "Europe/Paris", "Pacific/Kiritimati", "Etc/GMT+12"],
    "sections": ["volume"],
}
#: Query parameters with no plausible value here: only sent spoiled.
SPOILED_ONLY = {"cursor", "saved_view", "before_id"}


def _plausible_query(
    name: str, schema: dict[str, Any], scene: dict[str, Any]
) -> st.SearchStrategy[str]:
    if name == "filters":
        fine = [[], [{"field": "subject", "op": "contains", "value": "x"}], {"brand": ["x"]}]
        return st.one_of(
            st.sampled_from([json.dumps(f) for f in fine]),
            st.builds(json.dumps, st.lists(matched_filters(), min_size=1, max_size=2)),
            st.builds(
                json.dumps,
                st.dictionaries(st.sampled_from(["brand", "carrier", "owner"]), FILTER_VALUES),
            ),
        )
    if name in ("from", "to"):
        return st.sampled_from(["2026-01-05", "2026-01-05", "0001-01-01", "9999-12-31"])
    if name in KNOWN_QUERY_VALUES:
        return st.sampled_from(KNOWN_QUERY_VALUES[name])
    return st.builds(_form_text, plausible(schema, name, scene))


def _garbage_query(name: str) -> st.SearchStrategy[str]:
    garbage = st.one_of(
        TEXT,
        st.sampled_from(["0", "-1", "201", "501", "10001", "1.5", "1e3", " 5", "0x10", "true"]),
    )
    if name == "filters":
        garbage = st.one_of(
            garbage,
            st.builds(json.dumps, list_queries()),
            st.builds(json.dumps, JSON),
            st.sampled_from(['[{"field":', "[", "{'a': 1}", "[]", "{}", "null"]),
        )
    elif name == "cursor":
        garbage = st.one_of(
            garbage,
            st.text(string.ascii_letters + string.digits + "-_=.", max_size=60),
            st.sampled_from(["eyJ4IjogMX0", "eyJ2IjpbXX0=", "bnVsbA", "W10", "e30"]),
        )
    elif name == "sort":
        garbage = st.one_of(garbage, st.sampled_from(sorted(SORT_FIELDS)))
    elif name in ("from", "to"):
        garbage = st.one_of(
            garbage, st.sampled_from(["2026-01-05", "2026-02-30", "0001-01-01", "9999-12-31"])
        )
    elif name == "sections":
        garbage = st.one_of(garbage, st.sampled_from(["volume,", ",,,", "volume,nope"]))
    return garbage


@st.composite
def query_strings(draw: st.DrawFn, params: list[dict[str, Any]], scene: dict[str, Any]) -> str:
    """Nearly right (plausible values, one spoiled) or anything, unknown names too; each
    name and value at most :data:`URL_TEXT_MAX` characters."""
    pairs: list[tuple[str, str]] = []
    nearly = draw(st.booleans())
    for param in params:
        if (not nearly or param["name"] not in SPOILED_ONLY) and draw(st.booleans()):
            name, schema = param["name"], param.get("schema", {})
            value = _plausible_query(name, schema, scene)
            if not nearly:
                value = st.one_of(value, _garbage_query(name))
            pairs.append((name, draw(value)))
    if nearly and params and draw(st.booleans()):
        name = draw(st.sampled_from([p["name"] for p in params]))
        pairs = [p for p in pairs if p[0] != name] + [(name, draw(_garbage_query(name)))]
    if not nearly:
        names = st.sampled_from([p["name"] for p in params] or ["limit"])
        pairs += draw(st.lists(st.tuples(st.one_of(names, TEXT), TEXT), max_size=2))

    def encode(text: str) -> str:
        return quote(text[:URL_TEXT_MAX].encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


@st.composite
def requests(draw: st.DrawFn, method: str, path: str, scene: dict[str, Any]) -> dict[str, Any]:
    op = _operation(method, path)
    params = op.get("parameters", []) + SPEC["paths"][path].get("parameters", [])
    url = path
    for param in params:
        if param["in"] != "path":
            continue
        name = param["name"]
        value: Any = scene[name]
        if draw(st.integers(0, 9)) == 0:
            value = draw(st.one_of(TEXT, NUMBERS)) or "x"
        text = quote(str(value)[:URL_TEXT_MAX].encode("utf-8", "surrogatepass"), safe="")
        url = url.replace("{" + name + "}", text)
    query = [p for p in params if p["in"] == "query"]
    return {
        "path": url,
        "method": method,
        "query_string": draw(query_strings(query, scene)),
        **draw(payloads(op, scene)),
    }


# -- What a refusal may not do ------------------------------------------------


def _every_row() -> CompoundSelect:
    """Every row of casekit's tables (``last_used_at`` of API keys aside) in one statement:
    its table's name, then each column's value as text (NULL stays NULL), NULLs after.

    One round trip instead of one per table: a snapshot follows every request, and on a
    server the statements' round trips were most of this test's time. Every column is
    of a type whose text tells its values apart (integers, strings, times, dates, booleans).
    """
    kept = {
        table.name: [c for c in table.columns if c is not api_keys.c.last_used_at]
        for table in metadata.sorted_tables
    }
    width = max(map(len, kept.values()))
    selects = [
        select(
            literal(name, String).label("table_name"),
            *(cast(column, Text) for column in columns),
            *(null() for _ in range(width - len(columns))),
        )
        for name, columns in kept.items()
    ]
    return union_all(*selects)


EVERY_ROW = _every_row()


def snapshot(kit: CaseKit) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of casekit's tables (``last_used_at`` of API keys aside), by table."""
    rows: dict[str, list[tuple[Any, ...]]] = {table.name: [] for table in metadata.sorted_tables}
    with kit.engine.connect() as conn:
        for name, *values in conn.execute(EVERY_ROW):
            rows[name].append(tuple(values))
    return {name: sorted(found, key=repr) for name, found in rows.items()}


def _fresh(sent: dict[str, Any]) -> dict[str, Any]:
    """The test client's arguments, with each file of a form a new stream."""
    data = sent.get("data")
    if isinstance(data, dict):
        files = {k: (io.BytesIO(v[0]), v[1]) for k, v in data.items() if isinstance(v, tuple)}
        sent = {**sent, "data": {**data, **files}}
    return sent


def check(
    response: Any, before: dict[str, Any], after: dict[str, Any], sent: dict[str, Any]
) -> None:
    status = response.status_code
    where = f"{sent['caller']}: {sent['method']} {sent['path']}?{sent['query_string']} -> {status}"
    assert status < 500, f"{where}: {response.get_data(as_text=True)[:500]}"
    assert b"Traceback" not in response.data, where
    if status >= 400:
        assert response.mimetype == PROBLEM, f"{where}: {response.mimetype}"
        doc = response.get_json()
        assert doc["status"] == status, where
        assert doc.get("detail") or doc.get("errors"), f"{where}: {doc}"
        changed = sorted(name for name in before if before[name] != after[name])
        assert not changed, f"{where} wrote to {changed}: {doc}"


# -- The callers and what they act on -----------------------------------------


@pytest.fixture
def scene(kit: CaseKit, world: World) -> dict[str, Any]:
    """A case with an attachment, a customer's message, a saved view, a rule, a webhook, a
    triage item, keys, a service-level target."""
    manager = world.shipper_manager_actor
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        customer=world.customer.id,
        message="Your parcel",
        audience="everyone",
        attachments=[
            Upload(filename="label.pdf", content_type="application/pdf", stream=io.BytesIO(b"%PDF"))
        ],
    )
    entry = next(e for e in kit.cases.timeline(Actor.host(), case.number) if e.attachments)
    said = kit.messages.post(world.customer_actor, case.number, "Where is my parcel?")
    view = kit.views.save(manager, "Mine", {})
    write = kit.api_keys.create(manager, org_id=world.shipper.id, name="TMS", scope="write")
    admin = kit.api_keys.create(manager, org_id=world.shipper.id, name="Admin", scope="admin")
    spare = kit.api_keys.create(manager, org_id=world.shipper.id, name="old")
    raw = (
        f"From: x@else.test\r\nTo: support@acme.test\r\nSubject: Re: [{case.number}] x\r\n"
        "Message-ID: <triage@t>\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    ).encode()
    rule = kit.rules.create(
        manager, {"name": "Damaged", "exceptions": ["damaged"], "case_type": "osd_damaged"}
    )
    hook = kit.webhooks.subscribe(
        manager, url="https://hooks.acme.test/casekit", events=["case_opened"]
    )
    triaged = kit.inbound.receive(raw)
    kit.case_addresses.add(manager, "support@acme.test")  # after the mail above
    target = kit.service_levels.save_target(
        manager, {"name": "Same day", "first_response": 4 * 3600}
    )
    reply = kit.canned_replies.save(
        manager, title="Thanks", body="Thank you, {{ customer.first_name }}.", audience="internal"
    )
    return {
        "reply_id": reply.id,
        "email": "support@acme.test",
        "number": case.number,
        "attachment_id": entry.attachments[0].id,
        "entry_id": said.id,
        "view_id": view.id,
        "key_id": spare.key.id,
        "item_id": triaged.inbound_id,
        "rule_id": rule.id,
        "webhook_id": hook.webhook.id,
        "name": TEMPLATE_NAMES[0],
        "case_type": "lost",
        "field": "brand",
        "side": "shipper",
        "user_id": world.shipper_agent.id,
        "customer_id": world.customer.id,
        "shipper_org_id": world.shipper.id,
        "org_id": world.carrier.id,
        "partner_org_id": world.carrier.id,
        "target_id": target.id,
        "tag_id": kit.tags.create(manager, "Fragile").id,
        "field_id": kit.custom_fields.create(manager, "dock", "Dock", "text").id,
        "write_token": write.token,
        "admin_token": admin.token,
        **_actions(kit, world, case.number),
        "claim_id": _claim(kit, world, case.number or ""),
    }


def _claim(kit: CaseKit, world: World, number: str) -> int:
    """A freight claim the shipper filed on the case."""
    drafted = kit.claims.draft(
        world.shipper_actor, number, {"lines": [{"description": "Pallet", "amount": "10.00"}]}
    )
    kit.claims.file(world.shipper_actor, number, drafted.id)
    return int(drafted.id)


def _actions(kit: CaseKit, world: World, number: str) -> dict[str, Any]:
    """The carrier's proposal and disposition request on the case (when it has a carrier)."""
    soon = kit.clock.now() + timedelta(days=1)
    proposed = kit.actions.propose_appointment(
        world.carrier_actor, number, [(soon, soon + timedelta(hours=2))], time_zone="UTC"
    )
    asked = kit.actions.request_disposition(
        world.carrier_actor, number, reason="damaged", deadline=soon + timedelta(days=1)
    )
    return {"appointment_id": proposed.id, "disposition_id": asked.id}


_CSRF_APPS: dict[str, Flask] = {}


@pytest.fixture
def csrf_app(kit: CaseKit, backend: str) -> Flask:
    """The test host's app with CSRF on (as in production), on this test's kit."""
    built = _CSRF_APPS.get(backend)
    if built is None:
        built = _CSRF_APPS[backend] = make_app(kit)
        return built
    old = built.extensions["casekit"]
    fresh = State(old.extension, kit, built)
    fresh.api, fresh.api_prefix = old.api, old.api_prefix
    built.extensions["casekit"] = fresh
    return built


def _csrf_token(app: Flask, client: Any) -> str:
    from flask import session
    from flask_wtf.csrf import generate_csrf  # type: ignore[import-untyped]

    with app.test_request_context():
        token: str = generate_csrf()
        values = dict(session)
    with client.session_transaction() as sess:
        sess.update(values)
    return token


class Callers:
    """The callers of one operation's run, and the rows as the last request left them."""

    def __init__(self, kit: CaseKit, world: World, scene: dict[str, Any], app: Flask) -> None:
        self.kit = kit
        self.key_client = app.test_client()
        self.session_client = app.test_client()
        login(self.session_client, world.shipper_manager_actor)
        self.csrf = _csrf_token(app, self.session_client)
        self.scene = scene
        self.rows = snapshot(kit)

    def send(self, method: str, path: str, sent: dict[str, Any]) -> None:
        """``sent`` by the key, by the session, and (a change) by the session without CSRF."""
        admin = any(p in path for p in ("/api-keys", "/directory", "/case-addresses"))
        token = self.scene["admin_token" if admin else "write_token"]
        callers = ["key", "session"] + (["session without CSRF"] if method != "GET" else [])
        for caller in callers:
            if caller == "key":
                client, headers = self.key_client, {"Authorization": f"Bearer {token}"}
            else:
                client, headers = self.session_client, {}
                if caller == "session":
                    headers["X-CSRFToken"] = self.csrf
            before = self.rows
            response = client.open(headers=headers, **_fresh(sent))
            self.rows = snapshot(self.kit)
            try:
                check(response, before, self.rows, {**sent, "caller": caller})
            finally:
                response.close()


@pytest.fixture
def callers(kit: CaseKit, world: World, scene: dict[str, Any], csrf_app: Flask) -> Callers:
    return Callers(kit, world, scene, csrf_app)


FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    # The fixtures are made once per operation; each example undoes nothing.
    suppress_health_check=list(HealthCheck),
)
BY_OPERATION = pytest.mark.parametrize(
    ("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS]
)


@pytest.mark.backends("sqlite")
@BY_OPERATION
@given(data=st.data())
@settings(FUZZ, max_examples=examples("sqlite"))
def test_bad_input_is_refused_cleanly(
    method: str, path: str, callers: Callers, data: st.DataObject
) -> None:
    callers.send(method, path, data.draw(requests(method, path, callers.scene), label="sent"))


@pytest.mark.backends("postgresql", "mysql")
@BY_OPERATION
@given(data=st.data())
@settings(FUZZ, max_examples=examples("server"))
def test_bad_input_is_refused_cleanly_on_a_server(
    method: str, path: str, callers: Callers, data: st.DataObject
) -> None:
    callers.send(method, path, data.draw(requests(method, path, callers.scene), label="sent"))


def test_every_operation_of_the_url_map_is_fuzzed(app: Flask) -> None:
    """The document lists every operation the API serves, so each is fuzzed above."""
    prefix = "/api/v1"
    served = {
        (method, rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("casekit_api_")
        and not rule.endpoint.startswith("casekit_api_reference")
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.rule.startswith(prefix) and not rule.rule.endswith("openapi.json")
    }
    assert served == set(OPERATIONS)
