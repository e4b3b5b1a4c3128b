"""The console's fleet page in a real Chromium against a real hub and a real headless player:
the screenshot follows the slide on screen without a reload, and a player that ends cleanly
is shown as "detenida" within seconds (its last heartbeat says so)."""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser

from tests.helpers_console import add_user, sign_in, start_player
from tests.helpers_hub import REPO, RunningHub, make_content_root, run_hub, stop_process
from tests.test_console_browser import _events, _wait_events

pytestmark = [pytest.mark.qt, pytest.mark.slow]

COLOURS = {"rojo": (220, 20, 30), "azul": (20, 40, 220)}
PLAYLIST = """\
name: Colores
defaults:
  duration: 6s
slides:
  - id: rojo
    image: assets/rojo.png
  - id: azul
    image: assets/azul.png
"""
RUN_S = 40


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[RunningHub, Path, subprocess.Popen[bytes]]]:
    root = make_content_root(tmp_path / "root", PLAYLIST)
    (root / "assets").mkdir(exist_ok=True)
    for name, colour in COLOURS.items():
        Image.new("RGB", (640, 360), colour).save(root / "assets" / f"{name}.png")
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "vic", "viewer")
    with run_hub(language="es", data=data, root=root) as hub:
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: recepcion-1\ntags: [lobby]\nfeed: {hub.url}\npubkey: {hub.pubkey}\n"
            f"hub_token_file: {hub.token_file}\ncache: {tmp_path / 'cache'}\npoll: 120\n"
        )
        events = tmp_path / "events.jsonl"
        player = start_player(config, events, tmp_path / "player.err", RUN_S)
        try:
            _wait_events(events, lambda ev: any(e["event"] == "slide_shown" for e in ev), 60)
            # and its first heartbeat stored (the hub's heartbeat worker process starts with
            # that beat, so the answer may come a moment after the first slide)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                listed = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5)
                if any(s["screen"] == "recepcion-1" for s in listed.json()):
                    break
                time.sleep(0.2)
            yield hub, events, player
        finally:
            stop_process(player)


def _colour(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as img:
        r, _g, b = img.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
    return "rojo" if r > b else "azul"


def test_the_fleet_page_follows_the_screen_and_shows_a_clean_stop(
    stack: tuple[RunningHub, Path, subprocess.Popen[bytes]], browser: Browser
) -> None:
    hub, events, player = stack
    session, _ = sign_in(hub.url, "vic")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-CO")
    page.context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": hub.url} for c in session.cookies]
    )
    page.goto(hub.url + "/console/pantallas")
    card = page.locator("li.screen-card[data-screen='recepcion-1']")
    card.wait_for(timeout=30_000)
    # the first beat may predate the content ("desactualizada"); the page catches up by itself
    page.locator("li.screen-card.state-online[data-screen='recepcion-1']").wait_for(timeout=30_000)
    assert "en línea" in card.inner_text()
    assert page.locator("section[aria-label='Etiqueta lobby']").count() == 1

    seen: dict[str, str] = {}  # colour on the fleet screenshot -> the slide the player said
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        shot = page.locator("li.screen-card[data-screen='recepcion-1'] img.shot")
        if shot.count():
            src = shot.get_attribute("src") or ""
            png = page.request.get(hub.url + src).body()
            showing = page.locator(
                "li.screen-card[data-screen='recepcion-1'] dd"
            ).first.inner_text()
            seen.setdefault(_colour(png), showing)
        time.sleep(0.5)
    assert set(seen) == {"rojo", "azul"}, seen  # the picture changed with the slide
    page.screenshot(path=str(REPO / "docs" / "console" / "pantallas.png"), full_page=True)

    # the player ends cleanly after RUN_S: the page says so within seconds, without a reload
    player.wait(timeout=RUN_S + 30)
    ended = time.monotonic()
    page.locator("li.screen-card.state-stopped[data-screen='recepcion-1']").wait_for(timeout=10_000)
    assert time.monotonic() - ended < 10
    assert "detenida" in card.inner_text()
    assert _events(events)[-1]["event"] == "stopped"  # the last event of a clean exit
    api = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5).json()
    assert api[0]["state"] == "stopped" and api[0]["online"] is False


def test_the_fleet_stream_is_unbuffered_and_needs_a_sign_in(
    stack: tuple[RunningHub, Path, subprocess.Popen[bytes]],
) -> None:
    hub, _, _ = stack
    assert requests.get(hub.url + "/console/pantallas/eventos", timeout=5).status_code == 401
    session, _ = sign_in(hub.url, "vic")
    with session.get(hub.url + "/console/pantallas/eventos", stream=True, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-accel-buffering"] == "no"
        lines = r.iter_lines(decode_unicode=True)
        assert next(lines).startswith("retry:")
        first = next(line for line in lines if line.startswith("data:"))
        assert "recepcion-1" in first


def test_a_slide_change_owes_a_screenshot_at_most_every_few_seconds() -> None:
    from signage.telemetry.heartbeat import FRESH_SHOT_GAP_S, Heartbeat

    now = [100.0]
    beat = Heartbeat(
        "http://127.0.0.1:9",
        "s",
        screenshot=lambda: b"",
        screenshot_every_s=300.0,
        monotonic=lambda: now[0],
    )
    assert beat.screenshot_due()  # the first beat carries one
    beat._last_screenshot = now[0]
    now[0] += 1.0
    assert not beat.screenshot_due()
    beat.picture_changed()
    assert not beat.screenshot_due()  # too soon after the last one
    now[0] += FRESH_SHOT_GAP_S
    assert beat.screenshot_due()  # the slide changed: a fresh one now, not in 300 s
