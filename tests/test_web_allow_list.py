"""The content's allow-list governs web slides' navigation too: a screen's config narrows it,
never widens it.

``playlists/settings.yaml`` ``qr.allowed_hosts`` rides in the signed feed with the theme. A
real offscreen player shows real pages from a real HTTPS server on 127.0.0.1 (a CA made by
the test) that send the main frame to ``localhost`` (the same server under another host
name) by script, link and redirect; whether it may go there is decided by both lists.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from signage.model import SlideKind
from signage.playlist import load_content_root
from tests.helpers_player import THEME, content, pump, running_player, slide, wait_until
from tests.helpers_tls import https_server, make_ca, server_cert

pytestmark = pytest.mark.qt

ARRIVED = "<html><body style='background:#14c828'><script>fetch('/arrived')</script></body></html>"


def _routes(port: int) -> dict[str, Any]:
    away = f"https://localhost:{port}/elsewhere"
    return {
        "/script": (200, f"<html><body><script>location.href='{away}'</script></body></html>"),
        "/redirect": lambda h: (302, {"Location": away}, b""),
        "/link": (
            200,
            f"<html><body><script>var a=document.createElement('a');a.href='{away}';"
            "document.body.appendChild(a);a.click();</script></body></html>",
        ),
        "/elsewhere": (200, ARRIVED),
        "/arrived": (204, ""),
    }


def _run(
    qapp: Any,
    tmp_path: Path,
    feed_hosts: frozenset[str],
    screen_hosts: frozenset[str],
    theme: Any = None,
) -> tuple[dict[str, str], list[str], list[str]]:
    """Plays the three leaving pages; (skipped reasons, shown slides, paths the server saw)."""
    ca = make_ca(tmp_path / "ca")
    routes: dict[str, Any] = {}
    with https_server(server_cert(tmp_path / "srv", ca), routes) as (port, seen):
        routes.update(_routes(port))
        base = f"https://127.0.0.1:{port}"
        slides = [
            slide(name, SlideKind.WEB, f"{base}/{name}", duration_s=1.5)
            for name in ("script", "redirect", "link")
        ]
        chosen = theme if theme is not None else replace(THEME, allowed_hosts=feed_hosts)
        played = content(slides, {}, theme=chosen)
        with running_player(qapp, played, allowed_hosts=screen_hosts, ca_file=ca.pem) as (
            _,
            _,
            trap,
        ):
            settled = lambda: all(  # noqa: E731
                n in trap.skipped() or trap.shown().count(n) >= 1
                for n in ("script", "redirect", "link")
            )
            assert wait_until(qapp, settled, 60), (trap.shown(), trap.skipped())
            pump(qapp, 2.0)  # a shown page has time to leave (and be stopped) on screen
            return trap.skipped(), trap.shown(), list(seen)


def test_a_screen_cannot_widen_the_feeds_list_for_navigation(qapp, tmp_path):
    """The settings allow 127.0.0.1 and an intranet host; the screen's config lists
    localhost: before, the screen's list alone decided and the pages left for localhost."""
    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "settings.yaml").write_text(
        "qr:\n  allowed_hosts: [127.0.0.1, intranet.cartagena.gov.co]\n", encoding="utf-8"
    )
    (root / "playlists" / "web.yaml").write_text(
        "name: Web\nslides:\n  - id: web\n    web: https://127.0.0.1/\n", encoding="utf-8"
    )
    loaded = load_content_root(root)
    assert not [p for p in loaded.problems if p.severity == "error"], loaded.problems
    assert loaded.theme.allowed_hosts == frozenset({"127.0.0.1", "intranet.cartagena.gov.co"})
    skipped, _shown, seen = _run(
        qapp, tmp_path, frozenset(), frozenset({"localhost", "127.0.0.1"}), theme=loaded.theme
    )
    for name in ("script", "redirect", "link"):
        assert name in skipped, (name, skipped)
        assert "leave 127.0.0.1 for localhost" in skipped[name], (name, skipped)
    assert "/elsewhere" not in seen and "/arrived" not in seen, seen


def test_a_screen_may_narrow_the_feeds_list(qapp, tmp_path):
    skipped, _shown, seen = _run(
        qapp, tmp_path, frozenset({"127.0.0.1", "localhost"}), frozenset({"127.0.0.1"})
    )
    for name in ("script", "redirect", "link"):
        assert "leave 127.0.0.1 for localhost" in skipped.get(name, ""), (name, skipped)
    assert "/elsewhere" not in seen, seen


def test_the_feeds_list_lets_pages_go_to_its_hosts(qapp, tmp_path):
    """No list on the screen: the feed's list applies as it is (localhost on it)."""
    skipped, shown, seen = _run(qapp, tmp_path, frozenset({"127.0.0.1", "localhost"}), frozenset())
    assert not skipped, skipped
    assert {"script", "redirect", "link"} <= set(shown), shown
    assert "/arrived" in seen, seen  # the page at localhost loaded and ran


def test_the_rule() -> None:
    from signage.model import narrowed_hosts
    from signage.player.web import navigation_problem

    def may(feed: set[str], screen: set[str], host: str) -> bool:
        hosts = narrowed_hosts(frozenset(feed), frozenset(screen))
        return navigation_problem("https", host, "home.gov.co", hosts, https_only=True) is None

    assert may({"a.gov.co"}, set(), "a.gov.co")
    assert not may({"a.gov.co"}, {"b.gov.co"}, "b.gov.co")  # the screen cannot widen
    assert not may({"a.gov.co"}, {"b.gov.co"}, "a.gov.co")  # nothing in common: nothing
    assert not may({"a.gov.co", "b.gov.co"}, {"b.gov.co"}, "a.gov.co")  # narrowed
    assert may({"a.gov.co", "b.gov.co"}, {"B.gov.co"}, "b.gov.co")
    assert may(set(), {"b.gov.co"}, "b.gov.co")  # no feed list: the screen's alone
    assert not may(set(), set(), "b.gov.co")  # no list at all: only the page's own host
    assert may({"a.gov.co"}, {"b.gov.co"}, "home.gov.co")  # its own host always
