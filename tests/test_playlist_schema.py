"""The JSON Schema agrees with the validator: what ``validate`` accepts, an editor accepts.

The schema cannot see files, dates that never meet or duplicate ids, so agreement is checked
in one direction for everything (accepted by the validator => valid for the schema), and
for plain shape mistakes in both.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from signage.playlist import YMap, YNode, YSeq, json_schema, load_playlist_file, load_yaml_located
from tests.helpers_playlist import VALID_PLAYLIST, valid_root
from tests.test_playlist_fuzz import mutated_valid

REPO = Path(__file__).resolve().parents[1]
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def as_json(node: YNode) -> object:
    """What an editor sees of a YAML document: keys as written, dates as strings."""
    if isinstance(node, YMap):
        return {k.raw: as_json(v) for k, v in node.items}
    if isinstance(node, YSeq):
        return [as_json(v) for v in node.items]
    if isinstance(node.value, date):
        return node.value.isoformat()
    return node.value


def schema_errors(text: str) -> list[str]:
    node, problems = load_yaml_located(text, "t.yaml")
    assert node is not None, problems
    return [e.message for e in VALIDATOR.iter_errors(as_json(node))]


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_contract_example_and_bundled_playlists_satisfy_the_schema() -> None:
    assert schema_errors(VALID_PLAYLIST) == []
    files = sorted(
        p
        for p in (REPO / "playlists").glob("*.yaml")
        if p.name not in ("theme.yaml", "settings.yaml")
    )
    for path in files:
        assert schema_errors(path.read_text("utf-8")) == [], path.name
    theme = REPO / "playlists" / "theme.yaml"
    if theme.exists():
        theme_schema = jsonschema.Draft202012Validator(json_schema()["$defs"]["theme"])
        node, _ = load_yaml_located(theme, "theme.yaml")
        assert node is not None
        assert list(theme_schema.iter_errors(as_json(node))) == []
    from signage.playlist import settings_json_schema

    settings_schema = jsonschema.Draft202012Validator(settings_json_schema())
    node, _ = load_yaml_located(REPO / "playlists" / "settings.yaml", "settings.yaml")
    assert node is not None
    assert list(settings_schema.iter_errors(as_json(node))) == []


@pytest.mark.parametrize(
    "text",
    [
        "slides: [{text: {title: x}}]\n",  # no name
        "name: x\nslide: []\n",  # unknown key
        "name: x\nslides: [{image: a.png, web: https://x.example}]\n",  # two kinds
        "name: x\nslides: [{duration: 5s}]\n",  # no kind
        "name: x\nslides: [{text: {title: x}, transition: slide}]\n",
        "name: x\nslides: [{text: {title: x}, duration: 5 sec}]\n",
        "name: x\nslides: [{web: http://x.example}]\n",
        "name: x\nslides: [{image: ../x.png}]\n",
        "name: x\nslides: [{image: /x.png}]\n",
        "name: x\nslides: [{video: assets/x.png}]\n",
        "name: x\nslides: [{text: {title: x}, schedule: {days: [lun]}}]\n",
        "name: x\nslides: [{text: {title: x}, schedule: {hours: '7-18'}}]\n",
        "name: x\nslides: [{text: {title: x}, qr: true}]\n",
        "name: x\ntags: []\nslides: [{text: {title: x}}]\n",
    ],
)
def test_shape_mistakes_are_refused_by_both(tmp_path: Path, text: str) -> None:
    assert schema_errors(text), "the schema let it through"
    valid_root(tmp_path)
    path = tmp_path / "playlists" / "x.yaml"
    path.write_text(text, encoding="utf-8")
    playlist, problems = load_playlist_file(path, tmp_path, check_assets=False)
    assert playlist is None and problems, "the validator let it through"


@pytest.fixture(scope="module")
def content_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("schema")
    valid_root(base)
    return base


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_valid())
def test_whatever_the_validator_accepts_the_schema_accepts(content_root: Path, data: bytes) -> None:
    path = content_root / "playlists" / "x.yaml"
    path.write_bytes(data)
    playlist, _ = load_playlist_file(path, content_root, check_assets=False)
    if playlist is None:
        return
    errors = schema_errors(data.decode("utf-8"))
    assert errors == [], data.decode("utf-8")
