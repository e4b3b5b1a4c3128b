"""The player configuration answers where the hub is and which token to show it, once.

The push channel, heartbeats and proof-of-play all ask ``PlayerConfig.hub_url`` and
``PlayerConfig.hub_token()``; nothing else derives them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from signage.config import PlayerConfig
from signage.telemetry.uplink import uplink_for


@pytest.mark.parametrize(
    ("hub", "feed", "expected"),
    [
        ("http://hub:8750/", None, "http://hub:8750"),
        ("https://hub.example", "https://cdn.example/feed.json", "https://hub.example"),
        (None, "https://hub.example:8750/feed/feed.json", "https://hub.example:8750"),
        (None, "http://10.0.0.5:8750/feed.json", "http://10.0.0.5:8750"),
        (None, "file:///srv/feed/feed.json", None),
        (None, None, None),
    ],
)
def test_hub_url(hub: str | None, feed: str | None, expected: str | None) -> None:
    assert PlayerConfig(hub=hub, feed=feed).hub_url == expected


def test_the_token_file_is_read_once(tmp_path: Path) -> None:
    token_file = tmp_path / "screen.token"
    token_file.write_text("  secreto\n", encoding="utf-8")
    config = PlayerConfig(hub="http://hub:8750", hub_token_file=token_file)
    assert config.hub_token() == "secreto"
    token_file.write_text("otro\n", encoding="utf-8")
    assert config.hub_token() == "secreto"  # heartbeats and uplink share the first read
    assert PlayerConfig(hub="http://hub:8750").hub_token() is None


def test_an_unreadable_or_empty_token_file_answers_none_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty.token"
    empty.write_text("\n", encoding="utf-8")
    assert PlayerConfig(hub_token_file=empty).hub_token() is None
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    config = PlayerConfig(hub_token_file=folder)
    with caplog.at_level(logging.WARNING, logger="signage.kiosk"):
        assert config.hub_token() is None
        assert config.hub_token() is None
    warnings = [r.getMessage() for r in caplog.records if "hub_token_file" in r.getMessage()]
    assert len(warnings) == 1
    assert str(folder) in warnings[0]


def test_the_uplink_takes_the_configs_hub_and_token(tmp_path: Path) -> None:
    token_file = tmp_path / "screen.token"
    token_file.write_text("secreto\n", encoding="utf-8")
    config = PlayerConfig(
        cache=tmp_path / "cache",
        feed="https://hub.example:8750/feed.json",
        hub_token_file=token_file,
    )
    uplink = uplink_for(config)
    assert uplink is not None
    assert uplink._url == "https://hub.example:8750/api/v1/events"
    assert uplink._token == config.hub_token() == "secreto"
    uplink.stop()
