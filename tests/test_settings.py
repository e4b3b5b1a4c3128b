"""A content root's playlists/settings.yaml: checked, applied by default, narrowed not widened."""

from __future__ import annotations

import json
from pathlib import Path

from signage.feed import codec
from signage.playlist import (
    effective_hosts,
    load_content_root,
    load_settings,
    settings_json_schema,
)
from tests.helpers_playlist import valid_root
from tests.test_validate_cli import LOCATED, REPO, signage

SETTINGS = """\
organisation: Alcaldía de Cartagena
contacts:
  help_desk_email: mesadeayuda@cartagena.gov.co
  help_desk_extension: "4444"
  status_page: https://estado.cartagena.gov.co
qr:
  allowed_hosts: [intranet.example.gov.co, encuestas.example.gov.co]
links_base: https://pantallas.cartagena.gov.co/
language: en
"""


def test_bundled_settings_are_valid_and_agree_with_the_slides() -> None:
    settings, problems = load_settings(REPO)
    assert problems == []
    assert settings.contacts.help_desk_extension == "4444"
    assert settings.contacts.help_desk_email == "mesadeayuda@cartagena.gov.co"
    assert settings.links_base == "https://pantallas.cartagena.gov.co"
    assert settings.language == "es"
    load = load_content_root(REPO, check_assets=False)
    assert load.ok, load.problems
    assert load.settings == settings
    assert load.theme.links_base == settings.links_base
    lobby = (REPO / "playlists" / "lobby.yaml").read_text("utf-8")
    assert "extensión 4444" in lobby


def test_committed_settings_schema_is_the_generated_one() -> None:
    committed = json.loads((REPO / "signage/schema/settings.schema.json").read_text("utf-8"))
    assert committed == settings_json_schema(), (
        "run: signage schema --settings --out signage/schema/settings.schema.json"
    )
    assert set(committed["properties"]) == {
        "organisation", "contacts", "qr", "links_base", "language",
    }  # fmt: skip


def test_validate_applies_the_settings_allow_list_without_a_flag(tmp_path: Path) -> None:
    root = valid_root(tmp_path)
    (root.root / "playlists" / "settings.yaml").write_text(
        SETTINGS.replace("encuestas.example.gov.co", "citas.example.gov.co"), encoding="utf-8"
    )
    done = signage("validate", cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    first = LOCATED.match(done.stdout.splitlines()[0])
    assert first is not None
    assert (first["path"], first["line"], first["col"]) == ("playlists/lobby.yaml", "8", "10")
    assert "host 'encuestas.example.gov.co' is not on the allow-list" in first["message"]
    # a file named alone is checked against its root's settings too
    alone = signage("validate", "playlists/lobby.yaml", cwd=tmp_path)
    assert alone.returncode == 1
    assert "'encuestas.example.gov.co' is not on the allow-list" in alone.stdout


def test_a_flag_or_a_screen_config_narrows_never_widens(tmp_path: Path) -> None:
    root = valid_root(tmp_path)
    (root.root / "playlists" / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    assert signage("validate", cwd=tmp_path).returncode == 0
    wider = signage("validate", "--allowed-host", "otro.example.org", cwd=tmp_path)
    assert wider.returncode == 1, "a host off the settings' list cannot be added by a flag"
    assert "'intranet.example.gov.co' is not on the allow-list" in wider.stdout
    config = tmp_path / "player.yaml"
    config.write_text("qr:\n  allowed_hosts: [intranet.example.gov.co]\n", encoding="utf-8")
    narrower = signage("validate", "--config", str(config), cwd=tmp_path)
    assert narrower.returncode == 1
    assert "'encuestas.example.gov.co' is not on the allow-list" in narrower.stdout
    assert effective_hosts(frozenset({"a.co", "b.co"}), frozenset({"b.co"})) == {"b.co"}
    assert effective_hosts(frozenset(), frozenset({"b.co"})) == {"b.co"}
    assert effective_hosts(frozenset({"a.co"}), frozenset()) == {"a.co"}
    assert "c.co" not in effective_hosts(frozenset({"a.co"}), frozenset({"c.co"}))


def test_bad_settings_are_located_and_refuse_the_root(tmp_path: Path) -> None:
    root = valid_root(tmp_path)
    (root.root / "playlists" / "settings.yaml").write_text(
        "contacts:\n  help_desk_email: mesa de ayuda\nlanguage: fr\nlinks_base: http://x.co\n"
        "qr:\n  alowed_hosts: [a.co]\n",
        encoding="utf-8",
    )
    done = signage("validate", cwd=tmp_path)
    assert done.returncode == 1
    lines = [m.groupdict() for m in map(LOCATED.match, done.stdout.splitlines()) if m]
    where = {(p["line"], p["col"]) for p in lines if p["path"] == "playlists/settings.yaml"}
    assert {("2", "20"), ("3", "11"), ("4", "13"), ("6", "3")} <= where, done.stdout
    assert "did you mean 'allowed_hosts'?" in done.stdout
    assert "'settings.yaml'" not in done.stdout, "the settings are not read as a playlist"


def test_links_base_travels_with_the_theme_in_the_feed(tmp_path: Path) -> None:
    root = valid_root(tmp_path)
    (root.root / "playlists" / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    load = load_content_root(root.root)
    assert load.ok, load.problems
    assert load.theme.links_base == "https://pantallas.cartagena.gov.co"
    encoded = codec.theme_to_json(load.theme)
    assert isinstance(encoded, dict)
    assert encoded["links_base"] == "https://pantallas.cartagena.gov.co"
    assert codec.theme_from_json(encoded) == load.theme
    out = tmp_path / "feed"
    done = signage(
        "publish", "--root", str(root.root), "--out", str(out), "--unsigned", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifests = [p for p in out.rglob("*.json") if "links_base" in p.read_text("utf-8")]
    assert manifests, sorted(p.name for p in out.rglob("*"))


def test_hostile_settings_files_are_refused_with_a_message(tmp_path: Path) -> None:
    root = valid_root(tmp_path / "root")
    outside = tmp_path / "secret.yaml"
    outside.write_text("language: en\n", encoding="utf-8")
    settings = root.root / "playlists" / "settings.yaml"
    settings.symlink_to(outside)
    found, problems = load_settings(root.root)
    assert found.language is None
    assert len(problems) == 1 and problems[0].path.endswith("settings.yaml")
    settings.unlink()
    settings.write_bytes(b"organisation: " + b"x" * 1_100_000 + b"\n")
    found, problems = load_settings(root.root)
    assert found.organisation is None
    assert [p.message for p in problems] == [
        "file is 1,100,015 bytes; playlists are limited to 1,000,000 bytes "
        "(put pictures and videos in assets/, not in the YAML)"
    ]
    load = load_content_root(root.root)
    assert not load.ok, "a refused settings file refuses the root (publish keeps the last good)"


def test_the_allow_list_travels_in_the_feed_and_a_screen_only_narrows_it(tmp_path: Path) -> None:
    import pytest

    from signage.errors import FeedError
    from signage.model import narrowed_hosts

    root = valid_root(tmp_path)
    (root.root / "playlists" / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    theme = load_content_root(root.root).theme
    assert theme.allowed_hosts == {"intranet.example.gov.co", "encuestas.example.gov.co"}
    encoded = codec.theme_to_json(theme)
    assert isinstance(encoded, dict)
    assert encoded["allowed_hosts"] == ["encuestas.example.gov.co", "intranet.example.gov.co"]
    assert codec.theme_from_json(encoded) == theme
    with pytest.raises(FeedError, match="allowed_hosts"):
        codec.theme_from_json({**encoded, "allowed_hosts": "encuestas.example.gov.co"})
    # what the player applies: the feed's list narrowed by its own qr.allowed_hosts
    screen = frozenset({"encuestas.example.gov.co", "otro.example.org"})
    assert narrowed_hosts(theme.allowed_hosts, screen) == {"encuestas.example.gov.co"}
    assert narrowed_hosts(theme.allowed_hosts, frozenset()) == theme.allowed_hosts


def test_a_single_playlist_file_is_checked_against_its_roots_settings(tmp_path: Path) -> None:
    """What the console's editor and `validate FILE` use: the root's allow-list applies."""
    from signage.playlist import load_playlist_file

    root = valid_root(tmp_path)
    (root.root / "playlists" / "settings.yaml").write_text(
        SETTINGS.replace("encuestas.example.gov.co", "citas.example.gov.co"), encoding="utf-8"
    )
    playlist, problems = load_playlist_file(root.root / "playlists" / "lobby.yaml", root.root)
    assert playlist is None
    assert any("'encuestas.example.gov.co' is not on the allow-list" in p.message for p in problems)
