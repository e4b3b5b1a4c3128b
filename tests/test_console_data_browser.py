"""The editor's data-slide form in a real Chromium against a real hub on a copy of the bundled
content: a bar chart made from a CSV of the content root (columns offered from the file, a
draft preview drawn by the preview worker, the YAML written, ``signage validate`` happy), a
column the file lacks refused beside its field in Spanish with nothing written, a CSV
uploaded through the slide's own upload field, and the bundled data slides opened and saved
without losing a key; a new scans slide previewed with the hub's count."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.helpers_console import PASSWORD, add_user
from tests.helpers_hub import REPO, RunningHub, hub_env, run_hub

pytestmark = [pytest.mark.qt, pytest.mark.slow]

ENCUESTAS = "mes;respuestas\nagosto;120\nseptiembre;180\noctubre;260\nnoviembre;312\n"
ACCENT = (0xF6, 0xAE, 0x2D)  # playlists/theme.yaml: the highlighted (last) bar


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = tmp_path / "root"
    shutil.copytree(REPO / "playlists", root / "playlists")
    shutil.copytree(REPO / "assets", root / "assets")
    (root / "assets" / "datos" / "encuestas.csv").write_text(ENCUESTAS, encoding="utf-8")
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "ana", "editor")
    with run_hub(language="es", data=data, root=root) as running:
        yield running


def _editor(browser: Browser, hub: RunningHub, playlist: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-CO")
    page.goto(hub.url + "/console/")
    page.get_by_label("Usuario").fill("ana")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url("**/console/listas")
    page.goto(f"{hub.url}/console/listas/{playlist}")
    return page


def _add_data_slide(page: Page) -> str:
    """Presses "+ Datos"; the new slide's field prefix (``s13.``)."""
    page.get_by_role("button", name="+ Datos").click()
    n = page.locator("li.slide").count() - 1
    p = f"s{n}."
    expect(page.locator(f"[id='{p}data_from']")).to_be_focused()
    assert page.locator(f"input[name='{p}kind']").input_value() == "data"
    return p


def _draft_preview(page: Page, p: str) -> bytes:
    """Presses "Ver cómo queda" on slide ``p``; the PNG of its draft preview."""
    page.locator(f"[id='{p}preview']").click()
    n = int(p[1:-1])
    draft = page.get_by_alt_text(
        f"Vista previa del borrador de la diapositiva {n + 1} (sin guardar)"
    )
    src = draft.get_attribute("src")
    assert src is not None and src.startswith("data:image/png;base64,")
    return base64.b64decode(src.split(",", 1)[1])


def _amber_pixels(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (960, 540)
    raw = image.tobytes()
    return sum(
        1
        for i in range(0, len(raw), 3)
        if abs(raw[i] - ACCENT[0]) < 24
        and abs(raw[i + 1] - ACCENT[1]) < 24
        and abs(raw[i + 2] - ACCENT[2]) < 24
    )


def test_a_bar_chart_from_a_csv_of_the_root_is_previewed_saved_and_valid(
    hub: RunningHub, browser: Browser
) -> None:
    assert hub.root is not None
    lobby = hub.root / "playlists" / "lobby.yaml"
    before = lobby.read_bytes()
    version = hub.version()
    page = _editor(browser, hub, "lobby")
    p = _add_data_slide(page)
    page.locator(f"[id='{p}src']").select_option("assets/datos/encuestas.csv")
    page.get_by_role("button", name="Leer las columnas del archivo").last.click()
    # The file's columns, read by the server: the first names the rows, the numbers guessed.
    label = page.locator(f"[id='{p}label']")
    assert label.locator("option").all_inner_texts() == ["mes", "respuestas"]
    assert label.input_value() == "mes"
    values = page.locator(f"input[name='{p}values']")
    assert [values.nth(i).get_attribute("value") for i in range(values.count())] == [
        "respuestas",
        "mes",
    ]
    assert values.nth(0).is_checked() and not values.nth(1).is_checked()
    page.locator(f"[id='{p}chart']").select_option("bar")
    page.locator(f"[id='{p}title']").fill("Encuestas respondidas por mes")
    page.locator(f"[id='{p}tag']").fill("PARTICIPACIÓN")
    page.locator(f"[id='{p}credit']").fill("Encuesta de satisfacción OAI")
    page.locator(f"[id='{p}id']").fill("encuestas-mes")

    # The draft, drawn by the preview worker: bars, the last one in the theme's accent.
    png = _draft_preview(page, p)
    assert _amber_pixels(png) > 15_000, "no highlighted bar in the preview"
    assert lobby.read_bytes() == before and hub.version() == version  # nothing saved yet

    page.get_by_role("button", name="Guardar y publicar").click()
    page.wait_for_url("**/console/listas/lobby?guardado=*")
    saved = lobby.read_text(encoding="utf-8")
    from signage.console.forms import load_doc

    slide = load_doc(saved)["slides"][-1]
    assert slide["id"] == "encuestas-mes"
    assert dict(slide["data"]) == {
        "file": "assets/datos/encuestas.csv",
        "chart": "bar",
        "tag": "PARTICIPACIÓN",
        "title": "Encuestas respondidas por mes",
        "label": "mes",
        "values": "respuestas",
        "source": "Encuesta de satisfacción OAI",
    }
    assert saved.startswith(before.decode("utf-8").split("slides:", 1)[0])  # head untouched
    done = subprocess.run(
        [sys.executable, "-m", "signage", "validate", "--root", str(hub.root)],
        capture_output=True,
        text=True,
        env=hub_env(),
        cwd=str(REPO),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert hub.version() > version  # saving is publishing
    # The saved slide now has its saved preview, drawn from the file.
    img = page.locator("li.slide").nth(int(p[1:-1])).locator(".preview img")
    saved_src = img.get_attribute("src")
    assert saved_src is not None and "/encuestas-mes.png" in saved_src
    assert _amber_pixels(page.request.get(hub.url + saved_src).body()) > 15_000


def test_a_column_the_file_lacks_is_said_beside_its_field_and_nothing_is_saved(
    hub: RunningHub, browser: Browser, tmp_path: Path
) -> None:
    assert hub.root is not None
    lobby = hub.root / "playlists" / "lobby.yaml"
    before = lobby.read_bytes()
    version = hub.version()
    page = _editor(browser, hub, "lobby")
    p = _add_data_slide(page)
    page.locator(f"[id='{p}src']").select_option("assets/datos/encuestas.csv")
    page.get_by_role("button", name="Leer las columnas del archivo").last.click()
    page.locator(f"[id='{p}title']").fill("Encuestas")
    # Another file chosen after the columns were read: 'mes' is not one of its columns.
    page.locator(f"[id='{p}src']").select_option("assets/datos/tickets-soporte.csv")
    page.get_by_role("button", name="Guardar y publicar").click()
    error = page.locator(f"[id='err-{p}label']")
    error.wait_for()
    said = error.inner_text()
    assert "«assets/datos/tickets-soporte.csv» no tiene la columna «mes»" in said, said
    assert "sus columnas son: trimestre, tickets" in said
    field = page.locator(f"[id='{p}label']")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == f"err-{p}label"
    assert "No se guardó" in page.locator(".notice.error").inner_text()
    # The columns now offered are the new file's, the missing one marked as such.
    options = field.locator("option").all_inner_texts()
    assert options[:2] == ["trimestre", "tickets"] and "mes (no está en el archivo)" in options
    assert lobby.read_bytes() == before and hub.version() == version

    # A CSV sent through the slide's own upload field: stored under assets/datos/, read.
    upload = tmp_path / "Atención mensual.csv"
    upload.write_text("mes,atendidos\noctubre,1.020\nnoviembre,1.180\n", encoding="utf-8")
    page.locator(f"[id='{p}upload']").set_input_files(upload)
    page.get_by_role("button", name="Leer las columnas del archivo").last.click()
    assert page.locator(f"[id='{p}src']").input_value() == "assets/datos/atencion-mensual.csv"
    assert (hub.root / "assets" / "datos" / "atencion-mensual.csv").is_file()
    assert page.locator(f"[id='{p}label']").input_value() == "mes"
    stale = page.locator(f"input[name='{p}values'][value='respuestas']")
    assert stale.is_checked()  # kept as chosen, and said to be missing from this file
    assert (
        "respuestas (no está en el archivo)"
        in page.locator(f"label:has([id='{p}values'])").inner_text()
    )
    stale.uncheck()
    page.locator(f"input[name='{p}values'][value='atendidos']").check()
    page.get_by_role("button", name="Guardar y publicar").click()
    page.wait_for_url("**/console/listas/lobby?guardado=*")
    assert "file: assets/datos/atencion-mensual.csv" in lobby.read_text(encoding="utf-8")


@pytest.mark.parametrize("playlist", ["lobby", "sala-capacitacion"])
def test_the_bundled_data_slides_open_and_save_without_losing_a_key(
    hub: RunningHub, browser: Browser, playlist: str
) -> None:
    assert hub.root is not None
    path = hub.root / "playlists" / f"{playlist}.yaml"
    before = path.read_text(encoding="utf-8")
    page = _editor(browser, hub, playlist)
    kinds = page.locator("input[name$='.kind']")
    data = [i for i in range(kinds.count()) if kinds.nth(i).input_value() == "data"]
    assert data, "the bundled playlist has no data slide"
    for i in data:  # each one shows its file and its columns, read from the file
        assert page.locator(f"[id='s{i}.src']").input_value().startswith("assets/datos/")
        assert page.locator(f"[id='s{i}.label'] option").count() >= 2
    page.get_by_role("button", name="Guardar y publicar").click()
    page.wait_for_url(f"**/console/listas/{playlist}?guardado=*")
    assert path.read_text(encoding="utf-8") == before  # untouched: byte for byte
    # One change: only that line changes, every other key of the data slides stays.
    last = data[-1]
    title = page.locator(f"[id='s{last}.title']")
    old_title = title.input_value()
    title.fill(old_title + " (2026)")
    page.get_by_role("button", name="Guardar y publicar").click()
    page.wait_for_url(f"**/console/listas/{playlist}?guardado=*")
    after = path.read_text(encoding="utf-8")
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1 and old_title in changed[0][0] and "(2026)" in changed[0][1]


def test_a_new_scans_slide_is_previewed_with_the_hubs_count(
    hub: RunningHub, browser: Browser
) -> None:
    # A draft of a scans slide used to preview as "no data": its count was looked up under the
    # draft's probe file name instead of the playlist's id, and a new slide had no count yet.
    import requests

    from signage.qr import track_code

    code = track_code("lobby", "encuesta-herramientas", "https://encuestas.cartagena.gov.co/oai")
    for screen in ("lobby-1", "lobby-1", "sala-2"):
        r = requests.get(f"{hub.url}/q/{code}?s={screen}", allow_redirects=False, timeout=5)
        assert r.status_code == 302
    page = _editor(browser, hub, "lobby")
    p = _add_data_slide(page)
    page.locator(f"input[name='{p}data_from'][value='scans']").check()
    page.locator(f"[id='{p}scans']").select_option("playlist")
    page.locator(f"[id='{p}chart']").select_option("figure")
    page.locator(f"[id='{p}title']").fill("Personas que opinaron este mes")
    page.locator(f"[id='{p}id']").fill("opiniones-mes")
    png = _draft_preview(page, p)
    bodies = [f.read_text(encoding="utf-8") for f in (hub.data_dir / "datos-remotos").glob("*")]
    counts = [b.splitlines()[1] for b in bodies if b.startswith("periodo,personas\n")]
    assert [c.rsplit(",", 1)[1] for c in counts] == ["3"]  # the hub's count, from its database
    # The count is drawn big in the theme's accent under the title (the "no data" poster has
    # only its thin amber frame crossing this box: ~240 pixels against ~2,400 for the "3").
    figure = Image.open(io.BytesIO(png)).convert("RGB").crop((40, 190, 300, 310)).tobytes()
    amber = sum(
        1
        for i in range(0, len(figure), 3)
        if all(abs(figure[i + k] - ACCENT[k]) < 24 for k in range(3))
    )
    assert amber > 1_200, "the count is not drawn where the figure goes"
