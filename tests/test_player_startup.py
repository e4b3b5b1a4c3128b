"""Start-up shortcuts: an unchanged content root is shown from the cache's last validated
version and re-checked after the first slide; a changed root is validated before it shows;
QR images are kept for the next start; the alert layer follows the player's clock and theme;
the ticker's marker names the band."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from signage.events import EventLog
from signage.feed.store import Store
from signage.model import Content, Overlays, QRCode, SlideKind, Theme
from signage.sources.local import STAMP_FILE, LocalSource, root_stamp, same_content
from tests.helpers_player import EventTrap, GivenSource, content, slide, solid_png, wait_until
from tests.test_local_source import Inbox, make_root


def start(source: LocalSource, log: EventLog | None = None) -> Inbox:
    inbox = Inbox()
    source.start(inbox, log or EventLog(None))
    return inbox


def first_run(root: Path, cache: Path) -> Content:
    """A run that validates the root and leaves the cache and the stamp behind."""
    source = LocalSource(root, cache=cache)
    try:
        inbox = start(source)
        assert inbox.wait(1)
        assert not source.started_from_cache
    finally:
        source.stop()
    assert (cache / STAMP_FILE).is_file()
    return inbox.items[0]


def test_an_unchanged_root_is_shown_from_the_cache_then_rechecked_after_the_screen(tmp_path):
    root, cache = make_root(tmp_path), tmp_path / "cache"
    before = first_run(root, cache)
    applied = Store(cache).state()
    assert applied is not None

    source = LocalSource(root, cache=cache, wait_for_screen=True)
    try:
        inbox = start(source)
        assert inbox.wait(1)
        assert source.started_from_cache
        shown = inbox.items[0]
        assert same_content(shown, before)
        assert shown.asset_path("assets/red.png") == before.asset_path("assets/red.png")
        # Nothing was validated or applied yet: the screen has not settled.
        time.sleep(0.3)
        state = Store(cache).state()
        assert state is not None and state.manifest == applied.manifest
        source.screen_settled()
        # The deferred full load runs (a new version is applied in the store) ...
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            state = Store(cache).state()
            if state is not None and state.manifest != applied.manifest:
                break
            time.sleep(0.02)
        assert state is not None and state.manifest != applied.manifest
        # ... and, the root being the same, nothing new is delivered.
        assert not inbox.wait(2, timeout=0.5)
    finally:
        source.stop()


def test_a_changed_root_is_validated_before_anything_of_it_shows(tmp_path):
    root, cache = make_root(tmp_path), tmp_path / "cache"
    first_run(root, cache)
    lobby = root / "playlists" / "lobby.yaml"
    lobby.write_text("name: Lobby\nslides:\n  - id: rojo\n    imagen: [\n", encoding="utf-8")

    log = EventLog(None)
    trap = EventTrap(log)
    source = LocalSource(root, cache=cache, wait_for_screen=True)
    try:
        inbox = start(source, log)
        assert inbox.wait(1)
        assert not source.started_from_cache
        # The broken lobby never reaches the screen; the valid playlist does; it is reported.
        assert [p.id for p in inbox.items[0].playlists] == ["pasillo"]
        rejected = [str(e["file"]) for e in trap.of("playlist_rejected")]
        assert len(rejected) == 1 and rejected[0].endswith("playlists/lobby.yaml")
    finally:
        source.stop()
    assert not (cache / STAMP_FILE).exists()  # no shortcut while the root has errors


def test_a_changed_picture_is_copied_and_shown_not_the_cached_one(tmp_path):
    root, cache = make_root(tmp_path), tmp_path / "cache"
    before = first_run(root, cache)
    solid_png(root / "assets" / "red.png", (20, 200, 20), size=(320, 180))

    source = LocalSource(root, cache=cache, wait_for_screen=True)
    try:
        inbox = start(source)
        assert inbox.wait(1)
        assert not source.started_from_cache
        after = inbox.items[0].asset_path("assets/red.png")
        assert after is not None and after != before.asset_path("assets/red.png")
        assert after.read_bytes() == (root / "assets" / "red.png").read_bytes()
    finally:
        source.stop()


def test_an_edit_the_stamp_cannot_see_is_caught_by_the_recheck(tmp_path):
    """Same size, same modification time, same inode: shown from the cache first, then
    the re-check after the screen settled finds the difference and delivers it."""
    root, cache = make_root(tmp_path), tmp_path / "cache"
    first_run(root, cache)
    lobby = root / "playlists" / "lobby.yaml"
    st = lobby.stat()
    text = lobby.read_text(encoding="utf-8")
    edited = text.replace("duration: 1s", "duration: 2s")
    assert len(edited) == len(text)
    with lobby.open("r+", encoding="utf-8") as f:  # in place: the inode stays
        f.write(edited)
    os.utime(lobby, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert lobby.stat().st_ino == st.st_ino

    source = LocalSource(root, cache=cache, wait_for_screen=True)
    try:
        inbox = start(source)
        assert inbox.wait(1)
        assert source.started_from_cache
        source.screen_settled()
        assert inbox.wait(2)
        durations = [s.duration_s for p in inbox.items[1].playlists for s in p.slides]
        assert 2.0 in durations
    finally:
        source.stop()


def test_the_stamp_names_every_file_that_decides_the_content(tmp_path):
    root = make_root(tmp_path)
    (root / "theme.yaml").write_text("organisation: OAI\n", encoding="utf-8")
    (root / "playlists" / ".lobby.yaml.swp").write_text("x", encoding="utf-8")
    names = [f[0] for f in root_stamp(root)]
    assert names == [
        "assets/blue.png",
        "assets/red.png",
        "playlists/lobby.yaml",
        "playlists/pasillo.yaml",
        "theme.yaml",
    ]
    record = json.dumps([list(f) for f in root_stamp(root)])
    (root / "playlists" / "nuevo.yaml").write_text("name: Nuevo\nslides: []\n", encoding="utf-8")
    assert json.dumps([list(f) for f in root_stamp(root)]) != record


def test_a_made_qr_is_kept_and_read_back_on_the_next_start(qapp, tmp_path):
    import zxingcpp
    from PIL import Image

    from signage.player.overlays import QRMaker, QROverlay

    qr = QRCode(url="https://encuestas.example.gov.co/satisfaccion", caption="Opina")
    item = content([slide("foto", SlideKind.IMAGE, "assets/x.png", qr=qr)], {}, overlays=Overlays())
    playlist = item.playlists[0]
    the_slide = playlist.slides[0]
    keep = tmp_path / "qr"

    def made(maker: QRMaker) -> QROverlay | None:
        def want() -> QROverlay | None:
            return maker.want(
                playlist,
                the_slide,
                screen="s1",
                allowed_hosts=frozenset(),
                link_base=None,
                screen_height=1080,
            )

        assert want() is QRMaker.PENDING
        assert wait_until(qapp, lambda: want() is not QRMaker.PENDING, 10)
        maker.shutdown()
        return want()

    first = made(QRMaker(None, keep_dir=keep))
    assert first is not None and not first.image.isNull()
    kept = list(keep.glob("*.png"))
    assert len(kept) == 1
    stamp = kept[0].stat().st_mtime_ns
    again = made(QRMaker(None, keep_dir=keep))
    assert again is not None
    assert kept[0].stat().st_mtime_ns == stamp  # read, not made again
    assert again.url == first.url and again.caption == "Opina"
    assert again.image == first.image
    png = tmp_path / "read-back.png"
    assert again.image.save(str(png))
    decoded = zxingcpp.read_barcodes(Image.open(png))
    assert decoded and decoded[0].text == first.url
    assert "utm_source=s1" in first.url


def test_the_alert_layer_takes_the_players_clock_and_the_contents_theme(qapp, tmp_path):
    from signage.config import PlayerConfig
    from signage.player.clock import ManualClock
    from signage.player.player import Player

    solid_png(tmp_path / "a.png", (200, 30, 30))
    theme = Theme(font_family="DejaVu Serif", title_font_family="DejaVu Sans Mono")
    given = content(
        [slide("a", SlideKind.IMAGE, "a.png")], {"a.png": tmp_path / "a.png"}, theme=theme
    )
    clock = ManualClock(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))
    player = Player(
        config=PlayerConfig(screen="s1"),
        source=GivenSource(given),
        events=EventLog(None),
        clock=clock,
        size=(640, 360),
    )
    try:
        assert player.alerts is not None
        assert player.alerts.clock is clock
        player.start()
        assert wait_until(qapp, lambda: player.alerts.theme == theme, 5)
        assert player.alerts.theme.title_font_family == "DejaVu Sans Mono"
    finally:
        player.dispose()


def test_the_ticker_marker_is_labelled_in_the_screens_language(qapp):
    from PySide6.QtGui import QColor

    from signage.player.clock import ManualClock
    from signage.player.overlays import OverlayLayer, readable_on, ticker_label

    assert ticker_label("es-CO") == "NOTICIAS"
    assert ticker_label("en_US") == "NEWS"
    assert ticker_label("de") == "NOTICIAS"
    assert readable_on(QColor("#f5a623")).name() == "#111111"
    assert readable_on(QColor("#0b2545")).name() == "#ffffff"

    theme = Theme()
    clock = ManualClock(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))
    layer = OverlayLayer(None, clock, timezone="America/Bogota", locale="es-CO", theme=theme)
    layer.resize(1280, 720)
    layer.set_slide(Overlays(qr=False, clock=False, ticker=True, logo=False), ("Titular",), None)
    image = layer.grab().toImage()
    lay = layer.screen_layout()
    band = lay.ticker
    accent = QColor(theme.accent)
    # Inside the marker: the accent colour and the label's dark text, not a blank square.
    colours = {
        image.pixelColor(x, band.y + band.h // 2).name()
        for x in range(band.x + 2, band.x + round(band.h * 2.5))
    }
    assert accent.name() in colours
    assert "#111111" in colours or any(QColor(c).lightness() < 60 for c in colours), colours


def test_a_prefetched_first_load_is_held_until_the_player_starts(tmp_path):
    root, cache = make_root(tmp_path), tmp_path / "cache"
    (root / "playlists" / "pasillo.yaml").write_text("name: [\n", encoding="utf-8")
    source = LocalSource(root, cache=cache)
    log = EventLog(None)
    trap = EventTrap(log)
    try:
        source.prefetch()
        deadline = time.monotonic() + 5
        while source._held_content is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert source._held_content is not None  # loaded (and validated) before start
        assert trap.of("playlist_rejected") == []  # nothing written before the player starts
        inbox = start(source, log)
        assert inbox.wait(1, timeout=0.1)  # handed over at once
        assert [p.id for p in inbox.items[0].playlists] == ["lobby"]
        assert len(trap.of("playlist_rejected")) == 1
    finally:
        source.stop()


def test_kept_qr_images_are_bounded_oldest_first(tmp_path):
    from signage.player.overlays import prune_kept

    for n in range(6):
        path = tmp_path / f"{n:02d}.png"
        path.write_bytes(b"x")
        os.utime(path, ns=(n * 10**9, n * 10**9))
    (tmp_path / ".qr-writing.png").write_bytes(b"x")  # another save in progress: left alone
    assert prune_kept(tmp_path, keep=4) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".qr-writing.png",
        "02.png",
        "03.png",
        "04.png",
        "05.png",
    ]


def test_the_cli_loads_only_the_command_it_runs(capsys):
    import argparse

    import pytest

    from signage.cli import build_parser, main

    def commands(parser: argparse.ArgumentParser) -> list[str]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return list(sub.choices)

    assert commands(build_parser(only="schema")) == ["schema"]
    assert {"play", "validate", "schema"} <= set(commands(build_parser()))
    with pytest.raises(SystemExit) as exc:  # a typo still lists every command
        main(["plya"])
    assert exc.value.code == 2
    assert "'play'" in capsys.readouterr().err


class _SlowPage(http.server.BaseHTTPRequestHandler):
    """Answers after a second: a first slide that cannot be ready when the wait is up."""

    def do_GET(self) -> None:
        time.sleep(1.0)
        data = b"<html><body style='background:#14c828'></body></html>"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the player stopped meanwhile
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


def changes_seen(qapp, given: Content, *, late: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """The player's slide changes from start until the first slide is shown."""
    from signage.player.clock import ManualClock
    from tests.helpers_player import running_player

    changes: list[tuple[str, str]] = []
    clock = ManualClock(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))
    with running_player(qapp, given, clock=clock) as (player, _, trap):
        player.slide_changed.connect(lambda p, s: changes.append((p, s)))
        if late:  # the waiting time is up before the first slide can be ready
            clock.advance(0.6)
        wait_until(qapp, lambda: bool(trap.shown()), 20)
        return changes, trap.shown()


def test_content_offered_at_start_is_the_first_frame(qapp, tmp_path):
    files = {"a.png": solid_png(tmp_path / "a.png", (200, 30, 30))}
    given = content([slide("a", SlideKind.IMAGE, "a.png", duration_s=30)], files)
    changes, shown = changes_seen(qapp, given, late=False)
    assert shown == ["a"]
    assert changes == [("lobby", "a")]  # no waiting screen before the slide


def test_the_waiting_screen_shows_if_the_first_slide_is_late_then_the_slide_takes_over(qapp):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        given = content([slide("w", SlideKind.WEB, url, duration_s=30)], {})
        changes, shown = changes_seen(qapp, given, late=True)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert shown == ["w"]
    assert changes == [("", ""), ("lobby", "w")]  # the waiting screen, then the slide


def test_a_folder_link_loop_in_the_root_does_not_hang_the_stamp(tmp_path):
    root = make_root(tmp_path)
    (root / "assets" / "otra-vez").symlink_to(root / "assets", target_is_directory=True)
    (root / "assets" / "roja.png").symlink_to(root / "assets" / "red.png")
    names = [f[0] for f in root_stamp(root)]
    assert "assets/roja.png" in names  # a linked file is stamped (its target's stat)
    assert not any(n.startswith("assets/otra-vez") for n in names)
