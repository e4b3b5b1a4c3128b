"""The player configuration's ``qr.link_base``: where tracked QR codes send phones."""

from __future__ import annotations

import pytest

from signage.config import load_config, parse_config
from signage.errors import ConfigError
from signage.model import Attribution, QRCode
from signage.qr import encoded_url, track_code


def test_link_base_read_from_the_player_config(tmp_path):
    path = tmp_path / "player.yaml"
    path.write_text(
        "screen: lobby-1\n"
        "qr:\n"
        "  allowed_hosts: [encuestas.example.gov.co]\n"
        "  link_base: https://pantallas.example.gov.co/\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.qr_link_base == "https://pantallas.example.gov.co"
    assert config.allowed_hosts == frozenset({"encuestas.example.gov.co"})
    qr = QRCode("https://encuestas.example.gov.co/s", track=True)
    url = encoded_url(qr, Attribution(), config.screen, "lobby", "x", link_base=config.qr_link_base)
    code = track_code("lobby", "x", qr.url)
    assert url == f"https://pantallas.example.gov.co/q/{code}?s=lobby-1"


def test_link_base_absent_by_default():
    assert parse_config({"screen": "s"}, "p.yaml").qr_link_base is None


@pytest.mark.parametrize(
    "bad", ["http://pantallas.example.gov.co", "https://", "https://h/?next=x", "h", 3, None]
)
def test_link_base_must_be_an_https_url(bad):
    with pytest.raises(ConfigError, match=r"p\.yaml: 'qr\.link_base' must be the hub's public"):
        parse_config({"qr": {"link_base": bad}}, "p.yaml")


def test_unknown_qr_key_names_both_allowed_keys():
    with pytest.raises(ConfigError, match="link_base"):
        parse_config({"qr": {"link": "https://x"}}, "p.yaml")
