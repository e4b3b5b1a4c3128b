"""The console in English and in Spanish in a real Chromium against a real hub: every page,
``<html lang>``, the person's choice over the hub's language, and 24-hour times in the hub's
zone on the fleet page (not the browser's 12-hour "4:55:14 a. m.")."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page

from tests.helpers_console import add_user, sign_in
from tests.helpers_hub import RunningHub, make_content_root, run_hub
from tests.test_console_i18n import LOCALE, _template_messages

pytestmark = [pytest.mark.slow]

# content with no words of either language's interface in it
PLAYLIST = """\
name: Lobby
slides:
  - id: hello
    text:
      title: "Lobby 2026"
"""
PAGES = [
    "/console/alertas",
    "/console/pantallas",
    "/console/informe",
    "/console/listas",
    "/console/listas/lobby",
    "/console/archivos",
    "/console/ahora",
    "/console/historial",
    "/console/personas",
    "/console/auditoria",
    "/console/listas/no-such-playlist",  # the error page
]
# the first words people see on each page (its <h1>), per language
HEADINGS = {
    "/console/alertas": ("Alerts", "Alertas"),
    "/console/pantallas": ("Screens", "Pantallas"),
    "/console/informe": ("Report: Q", "Informe: T"),
    "/console/listas": ("The playlists", "Listas de reproducción"),
    "/console/listas/lobby": ("Lobby", "Lobby"),
    "/console/archivos": ("Files", "Archivos"),
    "/console/ahora": ("What plays now", "Qué se ve ahora"),
    "/console/historial": ("History", "Historial"),
    "/console/personas": ("People", "Personas"),
    "/console/auditoria": ("Audit", "Auditoría"),
    "/console/listas/no-such-playlist": ("It could not be done", "No se pudo"),
}
SHOWN = """() => {
  const parts = [document.body.innerText];
  for (const el of document.querySelectorAll('[alt],[placeholder],[aria-label],[title]')) {
    for (const a of ['alt', 'placeholder', 'aria-label', 'title']) {
      if (el.getAttribute(a)) parts.push(el.getAttribute(a));
    }
  }
  return parts.join('\\n');
}"""


def _fragments(lang: str) -> set[str]:
    """Pieces of the templates' texts in ``lang`` long enough not to occur by chance, that
    the other language says differently (placeholders cut out)."""
    with (LOCALE / "es" / "LC_MESSAGES" / "signage.po").open("rb") as fh:
        catalog = {
            (m.id if isinstance(m.id, str) else tuple(m.id)): m.string
            for m in read_po(fh, locale="es")
            if m.id
        }
    out: set[str] = set()
    for key in _template_messages():
        english = key if isinstance(key, str) else key[0]
        found = catalog[key]
        spanish = str(found if isinstance(found, str) else next(iter(found or ("",))))
        text = english if lang == "en" else spanish
        other = spanish if lang == "en" else english
        for part in re.split(r"%\([a-z_]+\)[sd]", str(text)):
            piece = part.strip(" .:()·")
            if len(piece) >= 12 and piece not in str(other):
                out.add(piece)
    return out


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root", PLAYLIST)
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "ana", "admin")
    with run_hub(data=data, root=root) as running:  # the suite's English: SIGNAGE_LANGUAGE=en
        r = requests.post(
            running.url + "/api/v1/heartbeat",
            json={"screen": "lobby-1", "tags": ["lobby"]},
            headers=running.auth,
            timeout=10,
        )
        assert r.status_code == 200, r.text
        yield running


def _signed_in_page(hub: RunningHub, browser: Browser, locale: str) -> Page:
    session, _ = sign_in(hub.url, "ana")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale=locale)
    page.context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": hub.url} for c in session.cookies]
    )
    return page


def _check_every_page(page: Page, hub: RunningHub, lang: str, shots: Path) -> None:
    wanted, unwanted = _fragments(lang), _fragments("es" if lang == "en" else "en")
    assert len(wanted) > 50 and len(unwanted) > 50
    seen_wanted = 0
    for path in PAGES:
        page.goto(hub.url + path)
        assert page.get_attribute("html", "lang") == ("en" if lang == "en" else "es-CO"), path
        heading = page.locator("h1").first.inner_text()
        assert heading.startswith(HEADINGS[path][0 if lang == "en" else 1]), (path, heading)
        shown = page.evaluate(SHOWN)
        leaked = sorted(f for f in unwanted if f in shown)
        assert not leaked, f"{path} in {lang} shows the other language: {leaked}"
        seen_wanted += sum(f in shown for f in wanted)
        name = path.strip("/").replace("/", "-") or "console"
        page.screenshot(path=str(shots / f"{lang}-{name}.png"), full_page=True)
    assert seen_wanted > 40  # the pages really are in the language asked for


def test_every_page_in_english_then_in_spanish_by_the_persons_choice(
    hub: RunningHub, browser: Browser, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    # signed out: the sign-in page follows the hub's language (English here)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-CO")
    page.goto(hub.url + "/console/entrar")
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_label("Username").count() == 1
    assert page.get_by_role("button", name="Sign in").count() == 1
    page.get_by_role("link", name="Español").click()  # the person's choice, before signing in
    assert page.get_attribute("html", "lang") == "es-CO"
    assert page.url.endswith("/console/entrar")
    # CONTRACT.md: these three words, exactly
    page.get_by_label("Usuario", exact=True).fill("ana")
    page.get_by_label("Contraseña", exact=True).fill("clave-segura-123")
    page.screenshot(path=str(shots / "es-entrar.png"))
    page.get_by_role("button", name="Entrar", exact=True).click()
    page.wait_for_url("**/console/listas")
    _check_every_page(page, hub, "es", shots)
    page.close()

    english = _signed_in_page(hub, browser, "es-CO")  # a Spanish browser, the hub's English
    _check_every_page(english, hub, "en", shots)
    english.goto(hub.url + "/console/listas")
    english.get_by_role("link", name="Español").click()
    english.wait_for_url("**/console/listas")
    assert english.locator("h1").first.inner_text() == "Listas de reproducción"
    english.get_by_role("link", name="English").click()
    english.wait_for_url("**/console/listas")
    assert english.locator("h1").first.inner_text() == "The playlists"
    assert len(list(shots.glob("*.png"))) == 2 * len(PAGES) + 1


def test_the_fleet_page_writes_24_hour_times_in_the_hubs_zone(
    hub: RunningHub, browser: Browser, tmp_path: Path
) -> None:
    """A browser in Tokyo on a 12-hour locale still reads the hub's Bogotá time, 24 h."""
    context = browser.new_context(locale="en-US", timezone_id="Asia/Tokyo")
    session, _ = sign_in(hub.url, "ana")
    context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": hub.url} for c in session.cookies]
    )
    for lang, words in (("es", "Actualizada a las "), ("en", "Updated at ")):
        context.add_cookies([{"name": "signage_lang", "value": lang, "url": hub.url}])
        page = context.new_page()
        page.goto(hub.url + "/console/pantallas")
        page.locator("li.screen-card[data-screen='lobby-1']").wait_for(timeout=30_000)
        live = page.locator("#fleet-live")
        page.wait_for_function(
            "() => document.getElementById('fleet-live').textContent.length > 0", timeout=30_000
        )
        text = live.inner_text()
        assert text.startswith(words), text
        shown = text.removeprefix(words)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", shown), text  # no "a. m.", no "PM"
        bogota = datetime.now(ZoneInfo("America/Bogota"))
        at = datetime.strptime(shown, "%H:%M:%S").replace(
            year=bogota.year, month=bogota.month, day=bogota.day, tzinfo=bogota.tzinfo
        )
        assert abs((bogota - at).total_seconds()) < 120, (shown, bogota)
        page.screenshot(path=str(tmp_path / f"fleet-{lang}.png"), full_page=True)
        page.close()
        time.sleep(0.1)
    context.close()
