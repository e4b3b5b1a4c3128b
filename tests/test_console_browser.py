"""The console in a real Chromium (Debian's, through Playwright) against a real hub subprocess
and a real headless player: a communicator's whole path from sign-in to a new picture on
screen, a bad value explained beside its field, reordering (buttons and drag), and a
restore that puts the old slides back on the screen."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.helpers_console import PASSWORD, add_user, start_player
from tests.helpers_hub import RunningHub, make_content_root, run_hub, stop_process

pytestmark = [pytest.mark.qt, pytest.mark.slow]

LOBBY = """\
# Lobby for the console test: this comment must survive the browser's saves
name: Lobby de prueba
defaults:
  duration: 2s
slides:
  - id: bienvenida
    text:
      title: "Bienvenidos"
      body: "Oficina Asesora de Informática"
"""


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def _wait_events(
    path: Path, pred: Callable[[list[dict[str, Any]]], bool], timeout: float = 40.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _events(path)
        if pred(events):
            return events
        time.sleep(0.1)
    raise AssertionError(f"timed out; events: {_events(path)[-15:]}")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[RunningHub, Path]]:
    """A hub with an admin account and a headless player following it."""
    root = make_content_root(tmp_path / "root", LOBBY)
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "ana", "editor")
    with run_hub(language="es", data=data, root=root) as hub:
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: lobby-1\nfeed: {hub.url}\npubkey: {hub.pubkey}\n"
            f"cache: {tmp_path / 'cache'}\npoll: 120\n"
        )
        events = tmp_path / "events.jsonl"
        player = start_player(config, events, tmp_path / "player.err", 240)
        try:
            _wait_events(events, lambda ev: any(e["event"] == "slide_shown" for e in ev), 60)
            yield hub, events
        finally:
            stop_process(player)


def _slide_ids(page: Page) -> list[str]:
    return [
        page.locator(f"input[name='s{i}.id']").input_value()
        for i in range(page.locator("li.slide").count())
    ]


def test_sign_in_to_a_new_picture_on_screen_then_restore(
    stack: tuple[RunningHub, Path], browser: Browser, tmp_path: Path
) -> None:
    hub, events = stack
    assert hub.root is not None
    picture = tmp_path / "Foto Roja.png"
    Image.new("RGB", (640, 360), (220, 30, 30)).save(picture)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-CO")
    actions = 0

    # 1. Sign in.
    page.goto(hub.url + "/console/")
    page.get_by_label("Usuario").fill("ana")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    actions += 1
    page.wait_for_url("**/console/listas")
    # 2. Open the playlist.
    page.get_by_role("link", name="Lobby de prueba").click()
    actions += 1
    page.wait_for_url("**/console/listas/lobby")
    # 3. Add a picture slide.
    page.get_by_role("button", name="+ Imagen").click()
    actions += 1
    assert page.locator("li.slide").count() == 2
    # The new slide's file field has the focus (and the page scrolled to it).
    # (expect() polls without eval, which the console's CSP rightly forbids.)
    expect(page.locator("[id='s1.upload']")).to_be_focused()
    # 4. Choose the file.
    page.get_by_label("…o sube uno nuevo (arrástralo aquí o elígelo)").set_input_files(picture)
    actions += 1
    # 5. Save.
    shown_before = len(_events(events))
    page.get_by_role("button", name="Guardar y publicar").click()
    actions += 1
    page.wait_for_url("**/console/listas/lobby?guardado=*")
    assert "Guardado y publicado" in page.content()
    assert actions <= 6
    saved = (hub.root / "playlists" / "lobby.yaml").read_text(encoding="utf-8")
    assert "image: assets/foto-roja.png" in saved
    assert "# Lobby for the console test" in saved
    _wait_events(
        events,
        lambda ev: any(
            e["event"] == "slide_shown" and e.get("slide") == "foto-roja" and e["kind"] == "image"
            for e in ev[shown_before:]
        ),
    )

    # A bad value: its Spanish message beside the field, nothing written.
    page.get_by_label("Duración", exact=True).first.fill("tres segundos")
    page.get_by_role("button", name="Guardar y publicar").click()
    error = page.locator("[id='err-s0.duration']")
    error.wait_for()
    assert "no es una duración" in error.inner_text()
    field = page.locator("[id='s0.duration']")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "err-s0.duration"
    assert (hub.root / "playlists" / "lobby.yaml").read_text(encoding="utf-8") == saved
    field.fill("")

    # Reorder with the keyboard-friendly button, then save.
    page.locator("li.slide").nth(1).get_by_role("button", name="↑ Subir").click()
    assert page.locator("input[name='s0.kind']").input_value() == "image"
    page.get_by_role("button", name="Guardar y publicar").click()
    page.wait_for_url("**/console/listas/lobby?guardado=*")
    text = (hub.root / "playlists" / "lobby.yaml").read_text(encoding="utf-8")
    assert text.index("foto-roja") < text.index("bienvenida")

    # Reorder by drag: the script renumbers the positions the form sends.
    slides = page.locator("li.slide")
    page.set_viewport_size({"width": 1280, "height": 2400})  # both slides in view
    slides.nth(1).locator(".handle").drag_to(slides.nth(0), target_position={"x": 40, "y": 8})
    assert page.locator("input[name='s1.pos']").input_value() == "0"
    assert page.locator("input[name='s0.pos']").input_value() == "1"
    page.get_by_role("button", name="Guardar y publicar").click()
    page.wait_for_url("**/console/listas/lobby?guardado=*")
    text = (hub.root / "playlists" / "lobby.yaml").read_text(encoding="utf-8")
    assert text.index("bienvenida") < text.index("foto-roja")

    # Restore the first version: the picture leaves the screen.
    page.get_by_role("link", name="Historial").click()
    rows = page.locator("table.list tbody tr")
    assert rows.count() >= 4
    version_before = hub.version()
    rows.last.get_by_role("button", name="Restaurar esta versión").click()
    page.wait_for_url("**/console/historial?restaurada=*")
    assert "Versión restaurada" in page.content()
    assert "foto-roja" not in (hub.root / "playlists" / "lobby.yaml").read_text(encoding="utf-8")
    restored = hub.wait_version(version_before)
    applied = _wait_events(
        events,
        lambda ev: any(e["event"] == "feed_applied" and e["version"] == restored for e in ev),
    )
    start = next(
        i
        for i, e in enumerate(applied)
        if e["event"] == "feed_applied" and e["version"] == restored
    )
    after = _wait_events(
        events,
        lambda ev: sum(1 for e in ev[start:] if e["event"] == "slide_shown") >= 2,
    )[start:]
    shown = [e["slide"] for e in after if e["event"] == "slide_shown"]
    assert shown[-1] == "bienvenida" and "foto-roja" not in shown[1:]

    # The diff of a save is readable in the console.
    page.goto(hub.url + "/console/historial")
    page.locator("table.list tbody tr").nth(1).get_by_role("link", name="Ver cambios").click()
    assert page.locator("pre.diff ins, pre.diff del").count() > 0


@pytest.fixture
def hub_only(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root", LOBBY)
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "ana", "editor")
    add_user(data, "beto", "editor")
    add_user(data, "vic", "viewer")
    with run_hub(language="es", data=data, root=root) as hub:
        yield hub


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url + "/console/")
    page.get_by_label("Usuario").fill(name)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url("**/console/listas")


def test_two_editors_the_second_save_shows_both_versions(
    hub_only: RunningHub, browser: Browser
) -> None:
    hub = hub_only
    assert hub.root is not None
    ana = browser.new_context().new_page()
    beto = browser.new_context().new_page()
    for page, name in ((ana, "ana"), (beto, "beto")):
        _sign_in(page, hub.url, name)
        page.goto(hub.url + "/console/listas/lobby")
    ana.locator("[id='s0.title']").fill("Versión de Ana")
    ana.get_by_role("button", name="Guardar y publicar").click()
    ana.wait_for_url("**guardado=*")
    beto.locator("[id='s0.title']").fill("Versión de Beto")
    beto.get_by_role("button", name="Guardar y publicar").click()
    assert "Alguien cambió esta lista desde que la abriste" in beto.content()
    both = beto.locator(".conflict pre")
    assert "Versión de Ana" in both.nth(0).inner_text()
    assert "Versión de Beto" in both.nth(1).inner_text()
    lobby = hub.root / "playlists" / "lobby.yaml"
    assert "Versión de Ana" in lobby.read_text(encoding="utf-8")  # nothing lost
    # Beto has seen both; saving again is a conscious choice and goes through.
    beto.get_by_role("button", name="Guardar y publicar").click()
    beto.wait_for_url("**guardado=*")
    assert "Versión de Beto" in lobby.read_text(encoding="utf-8")


def test_a_viewer_reads_but_cannot_save(hub_only: RunningHub, browser: Browser) -> None:
    hub = hub_only
    page = browser.new_page()
    _sign_in(page, hub.url, "vic")
    page.goto(hub.url + "/console/listas/lobby")
    assert page.get_by_role("button", name="Guardar y publicar").count() == 0
    assert page.get_by_role("link", name="Auditoría").count() == 0
    # A save forged from the viewer's own page (CSRF token and all) is still refused.
    with page.expect_navigation():
        page.evaluate(
            """() => { const f = document.getElementById('editor');
                       const b = document.createElement('button'); b.name = 'action';
                       b.value = 'save'; f.appendChild(b); b.click(); }"""
        )
    assert "No tienes permiso" in page.content()


def test_a_file_that_lies_about_its_type_is_refused_beside_its_slide(
    hub_only: RunningHub, browser: Browser, tmp_path: Path
) -> None:
    hub = hub_only
    assert hub.root is not None
    fake: Any = {  # a name no file system allows, as a browser may still send it
        "name": "<b>foto</b>.png",
        "mimeType": "image/png",
        "buffer": b"MZ\x90\x00 a program, not a picture",
    }
    real = tmp_path / "real.png"
    Image.new("RGB", (64, 36), (0, 128, 0)).save(real)
    page = browser.new_page()
    _sign_in(page, hub.url, "ana")
    page.goto(hub.url + "/console/listas/lobby")
    page.get_by_role("button", name="+ Imagen").click()
    page.get_by_role("button", name="+ Imagen").click()
    uploads = page.get_by_label("…o sube uno nuevo (arrástralo aquí o elígelo)")
    uploads.nth(0).set_input_files(fake)
    uploads.nth(1).set_input_files(real)
    before = (hub.root / "playlists" / "lobby.yaml").read_bytes()
    page.get_by_role("button", name="Guardar y publicar").click()
    refused = page.locator("[id='err-s1.src']")
    assert "no es una imagen" in refused.inner_text()
    assert "<b>foto</b>.png" in refused.inner_text()  # the name shown as text, not markup
    assert page.locator("[id='err-s2.src']").count() == 0
    assert page.locator("[id='s2.src']").input_value() == "assets/real.png"
    assert (hub.root / "playlists" / "lobby.yaml").read_bytes() == before


@pytest.mark.qt
def test_a_draft_is_previewed_without_being_saved(hub_only: RunningHub, browser: Browser) -> None:
    import base64

    hub = hub_only
    assert hub.root is not None
    lobby = hub.root / "playlists" / "lobby.yaml"
    before = lobby.read_bytes()
    version = hub.version()
    page = browser.new_page()
    _sign_in(page, hub.url, "ana")
    page.goto(hub.url + "/console/listas/lobby")
    saved_src = page.locator("li.slide").nth(0).locator(".preview img").get_attribute("src")
    assert saved_src is not None and saved_src.startswith("/api/v1/preview/lobby/bienvenida.png")
    saved_png = page.request.get(hub.url + saved_src).body()
    page.locator("[id='s0.title']").fill("Borrador: aún no se publica")
    page.get_by_role("button", name="Ver cómo queda").click()
    draft = page.get_by_alt_text("Vista previa del borrador de la diapositiva 1 (sin guardar)")
    src = draft.get_attribute("src")
    assert src is not None and src.startswith("data:image/png;base64,")
    draft_png = base64.b64decode(src.split(",", 1)[1])
    assert draft_png.startswith(b"\x89PNG") and draft_png != saved_png
    # Nothing was written or published, and the typed title is still in the form.
    assert lobby.read_bytes() == before and hub.version() == version
    assert page.locator("[id='s0.title']").input_value() == "Borrador: aún no se publica"
    assert not list((hub.root / "playlists").glob(".lobby.yaml.preview-*"))
