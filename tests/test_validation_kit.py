"""The validation kit on its own: the same specs over YAML files and parsed JSON bodies.

Playlists, alert templates and the hub's request bodies build on these; here the kit's own
promises are checked: a JSON body's problems name their field (nested ones by path), wire
formats may ignore unknown keys, JSON numbers are not text unless a spec says so, nesting
is bounded, and a YAML file and a JSON body of the same shape give the same value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.errors import ValidationError
from signage.validation import (
    MAX_DEPTH,
    Context,
    Field,
    Integer,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Record,
    Text,
    Timestamp,
    Values,
    YMap,
    YScalar,
    YSeq,
    check_json,
    from_json,
    kind_of,
    load_yaml_located,
)


@dataclass(frozen=True)
class Thing:
    name: str
    sizes: tuple[int, ...]
    limits: dict[str, int]
    when: datetime | None
    ratio: float | None


def _build(v: Values, ctx: Context) -> Thing:
    return Thing(
        v.get("name", ""),
        v.get("sizes", ()),
        v.get("limits", {}),
        v.get("when", None),
        v.get("ratio", None),
    )


def thing(*, ignore_unknown: bool = False) -> Record[Thing]:
    return Record(
        {
            "name": Field(Text(max_len=20, numbers=False), required=True),
            "sizes": Field(ListOf(Integer(minimum=0))),
            "limits": Field(MapOf(Integer())),
            "when": Field(Nullable(Timestamp())),
            "ratio": Field(Nullable(Number())),
        },
        _build,
        title="the thing",
        ignore_unknown=ignore_unknown,
    )


def messages(data: object, *, ignore_unknown: bool = False) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        check_json(thing(ignore_unknown=ignore_unknown), data, "the thing")
    return [p.message for p in refused.value.problems]


def test_a_valid_body_becomes_the_value() -> None:
    value = check_json(
        thing(),
        {"name": "a", "sizes": [1, 2], "limits": {"x": 3}, "when": "2026-11-28T10:00:00Z"},
        "the thing",
    )
    assert value == Thing("a", (1, 2), {"x": 3}, datetime(2026, 11, 28, 10, tzinfo=UTC), None)


def test_json_problems_name_their_field_by_path() -> None:
    assert messages({"name": 5}) == ["'name': expected text, found a number (5)"]
    assert messages({"name": "a", "sizes": [1, -2, "x"]}) == [
        "'sizes'[1]: -2 is out of range (0 <= n)",
        "'sizes'[2]: expected a whole number, found text ('x')",
    ]
    assert messages({"name": "a", "limits": {"x": True}}) == [
        "'limits'['x']: expected a whole number, found true/false (true)"
    ]
    assert messages({"name": "a", "ratio": float("inf")}) == [
        "'ratio': expected a finite number, found a number (inf)"
    ]
    assert messages({"name": "a", "when": "ayer"}) == [
        "'when': expected an RFC 3339 time, got 'ayer'"
    ]
    assert messages({}) == ["the thing is missing the required key 'name'"]


def test_unknown_keys_are_refused_unless_the_format_ignores_them() -> None:
    assert messages({"name": "a", "nmae": "b"}) == [
        "'nmae': unknown key 'nmae' in the thing (did you mean 'name'?)"
    ]
    value = check_json(thing(ignore_unknown=True), {"name": "a", "new": 1}, "x")
    assert value.name == "a"
    assert thing(ignore_unknown=True).schema()["additionalProperties"] is True
    assert thing().schema()["additionalProperties"] is False


def test_nesting_is_bounded() -> None:
    deep: object = 1
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValidationError) as refused:
        check_json(ListOf(Integer()), deep, "the body")
    assert [p.message for p in refused.value.problems] == [
        f"nested more than {MAX_DEPTH} levels deep"
    ]


def test_json_nodes_read_like_yaml_nodes(tmp_path: Path) -> None:
    node = from_json({"a": [1, "x", None, True], "b": {"c": 1.5}})
    assert isinstance(node, YMap) and node.keys() == ("a", "b")
    seq = node.get("a")
    assert isinstance(seq, YSeq)
    assert [kind_of(n) for n in seq.items] == [
        "a number (1)",
        "text ('x')",
        "nothing (null)",
        "true/false (true)",
    ]
    path = tmp_path / "t.yaml"
    path.write_text("name: a\nsizes: [1, 2]\nlimits: {x: 3}\n", encoding="utf-8")
    yaml_node, problems = load_yaml_located(path, "t.yaml")
    assert yaml_node is not None and problems == []
    ctx = Context(path="t.yaml")
    from_yaml = thing().convert(yaml_node, ctx)
    from_body = check_json(thing(), {"name": "a", "sizes": [1, 2], "limits": {"x": 3}}, "b")
    assert ctx.problems == [] and from_yaml == from_body
    assert isinstance(yaml_node, YMap) and isinstance(yaml_node.get("name"), YScalar)


@pytest.mark.parametrize("numbers", [True, False])
def test_numbers_are_text_only_where_a_spec_says_so(numbers: bool) -> None:
    spec = Text(numbers=numbers)
    if numbers:
        assert check_json(spec, 12, "x") == "12"
    else:
        with pytest.raises(ValidationError, match=r"expected text, found a number \(12\)"):
            check_json(spec, 12, "x")
    assert spec.schema()["type"] == (["string", "number"] if numbers else "string")
