"""JSON text from outside casekit is read within a depth and a size."""

from __future__ import annotations

import pytest

from casekit.errors import InvalidInput
from casekit.json_input import MAX_DEPTH, load_json

TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("nested", [arrays, objects])
def test_json_as_deep_as_the_limit_is_read(nested):
    value = load_json(nested(MAX_DEPTH), field="filters")
    for _ in range(MAX_DEPTH):
        value = value[0] if isinstance(value, list) and value else value["a"] if value else value
    assert value in ([], 1)


@pytest.mark.parametrize("nested", [arrays, objects])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_json_nested_deeper_is_refused_naming_the_field(nested, depth):
    with pytest.raises(InvalidInput) as error:
        load_json(nested(depth), field="filters")
    assert error.value.errors == {"filters": [TOO_DEEP]}


def test_depth_counts_every_branch():
    text = '[1, {"a": [2, 3]}, ' + arrays(MAX_DEPTH) + "]"
    with pytest.raises(InvalidInput, match="nested deeper"):
        load_json(text, field="body")
    assert load_json('[1, {"a": [2, 3]}, ' + arrays(MAX_DEPTH - 1) + "]", field="body")[0] == 1


def test_json_longer_than_the_limit_is_refused():
    assert load_json(b'"12345678"', field="body", max_bytes=10) == "12345678"
    with pytest.raises(InvalidInput) as error:
        load_json('"123456789"', field="body", max_bytes=10)
    assert error.value.errors == {"body": ["longer than 10 bytes"]}


@pytest.mark.parametrize("text", ["{", "", "[1,]", "NaN", b"\xff\xfe\xfa"])
def test_text_that_is_not_json_is_refused_naming_the_field(text):
    with pytest.raises(InvalidInput) as error:
        load_json(text, field="query")
    assert error.value.errors == {"query": ["not JSON"]}
