"""The console's alert desk in a real Chromium against a real hub and a real headless player:
a templated alert raised from the form reaches the player by push within a second of the
click, clearing brings the playlist back, and a viewer cannot raise (page nor API)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser

from tests.helpers_alerts import event_time
from tests.helpers_console import PASSWORD, add_user, sign_in, start_player
from tests.helpers_hub import REPO, RunningHub, make_content_root, run_hub, stop_process
from tests.test_console_browser import LOBBY, _events, _wait_events

pytestmark = [pytest.mark.qt, pytest.mark.slow]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[RunningHub, Path]]:
    """A hub with an operator and a viewer, and a headless player (tag lobby) that reports."""
    root = make_content_root(tmp_path / "root", LOBBY)
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "olga", "operator")
    add_user(data, "vic", "viewer")
    with run_hub(language="es", data=data, root=root) as hub:
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: lobby-1\ntags: [lobby]\nfeed: {hub.url}\npubkey: {hub.pubkey}\n"
            f"hub_token_file: {hub.token_file}\ncache: {tmp_path / 'cache'}\npoll: 120\n"
        )
        events = tmp_path / "events.jsonl"
        player = start_player(config, events, tmp_path / "player.err", 240)
        try:
            _wait_events(events, lambda ev: any(e["event"] == "slide_shown" for e in ev), 60)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                r = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5)
                if any(s["screen"] == "lobby-1" for s in r.json()):
                    break
                time.sleep(0.3)
            else:
                raise AssertionError("the player never sent a heartbeat")
            yield hub, events
        finally:
            stop_process(player)


def test_a_templated_alert_from_the_form_is_on_the_screen_within_a_second(
    stack: tuple[RunningHub, Path], browser: Browser, tmp_path: Path
) -> None:
    hub, events = stack
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="es-CO")
    page.goto(hub.url + "/console/")
    page.get_by_label("Usuario").fill("olga")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    actions = 1  # signed in
    page.wait_for_url("**/console/listas")
    page.get_by_role("link", name="Alertas").click()
    actions += 1
    page.get_by_role("link", name="Interrupción del servicio").click()
    actions += 1
    page.wait_for_url("**plantilla=interrupcion-servicio")
    page.get_by_label("Sistema").fill("Correo institucional")
    page.get_by_label("Hora retorno").fill("16:00")
    page.get_by_label("REAL · la verá el público").check()
    actions += 1  # the form filled in: two fields and REAL
    docs = REPO / "docs" / "console"
    docs.mkdir(exist_ok=True)
    page.screenshot(path=str(docs / "alertas.png"), full_page=True)
    page.get_by_role("button", name="Revisar antes de emitir").click()
    actions += 1
    page.wait_for_url("**/console/alertas/revisar")
    body = page.locator("main").inner_text()
    assert "Se mostrará en 1 pantalla: lobby-1" in body
    assert "ALERTA REAL" in body
    assert "Termina sola" in body
    preview = page.locator("img.alert-preview")
    assert preview.count() == 1 and "Correo institucional" in (preview.get_attribute("alt") or "")
    assert preview.evaluate("img => img.naturalWidth") == 960
    page.screenshot(path=str(docs / "alerta-revisar.png"), full_page=True)
    before = len(_events(events))
    click = time.time()
    page.get_by_role("button", name=re.compile("Emitir alerta REAL a 1 pantalla")).click()
    actions += 1
    shown = _wait_events(
        events, lambda ev: any(e["event"] == "alert_shown" for e in ev[before:]), 20
    )
    first = next(e for e in shown[before:] if e["event"] == "alert_shown")
    assert "Correo institucional" in first["headline"]
    delay = event_time(first) - click
    print(f"alert_shown {delay:.3f} s after the click; {actions} actions from sign-in")
    assert delay <= 1.0, delay
    assert actions <= 6
    page.wait_for_url("**/console/alertas?aviso=emitida")
    active = page.locator(".alerts-active li").first
    assert "emitida por olga" in active.inner_text()
    page.screenshot(path=str(docs / "alertas-activa.png"), full_page=True)

    cleared_from = len(_events(events))
    page.get_by_role("button", name="Retirar").first.click()
    page.wait_for_url("**aviso=retirada")
    after = _wait_events(
        events,
        lambda ev: (
            any(e["event"] == "alert_cleared" for e in ev[cleared_from:])
            and any(e["event"] == "slide_shown" for e in ev[cleared_from:])
        ),
        20,
    )
    assert any(e["event"] == "alert_cleared" for e in after[cleared_from:])
    history = page.locator("section[aria-labelledby='historia']").inner_text()
    assert "emitió" in history and "retiró" in history and "olga" in history


def test_a_viewer_sees_alerts_but_cannot_raise(stack: tuple[RunningHub, Path]) -> None:
    hub, _ = stack
    viewer, csrf = sign_in(hub.url, "vic")
    page = viewer.get(hub.url + "/console/alertas", timeout=10)
    assert page.status_code == 200
    assert "puede ver las alertas pero no emitirlas" in page.text
    assert "Revisar antes de emitir" not in page.text
    body = (
        '{"template": "interrupcion-servicio", "variables": {"sistema": "X", "hora_retorno": "1"}}'
    )
    ui = viewer.post(
        hub.url + "/console/alertas/emitir", data={"csrf": csrf, "pedido": body}, timeout=10
    )
    assert ui.status_code == 403
    api = viewer.post(
        hub.url + "/api/v1/alerts",
        data=body,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        timeout=10,
    )
    assert api.status_code == 403
    assert (
        requests.get(hub.url + "/api/v1/alerts", headers=hub.auth, timeout=5).json()["alerts"] == []
    )
    # an operator's session raises through the API too, with its CSRF token
    olga, olga_csrf = sign_in(hub.url, "olga")
    no_csrf = olga.post(hub.url + "/api/v1/alerts", data=body, timeout=10)
    assert no_csrf.status_code == 403
    ok = olga.post(
        hub.url + "/api/v1/alerts",
        data=body,
        headers={"X-CSRF-Token": olga_csrf, "Content-Type": "application/json"},
        timeout=10,
    )
    assert ok.status_code == 201, ok.text
    # a SIMULACRO reaches only exercise screens: the review counts by the players' rules
    review = olga.post(
        hub.url + "/console/alertas/revisar",
        data={
            "csrf": olga_csrf,
            "plantilla": "interrupcion-servicio",
            "var_sistema": "Correo",
            "var_hora_retorno": "16:00",
            "objetivo": "todas",
            "modo": "simulacro",
        },
        timeout=60,
    )
    assert review.status_code == 200
    assert "Se mostrará en 0 pantallas" in review.text
    assert "No la mostrarán" in review.text and "SIMULACRO" in review.text
    unsure = olga.post(
        hub.url + "/console/alertas/revisar",
        data={"csrf": olga_csrf, "plantilla": "interrupcion-servicio", "var_sistema": "X"},
        timeout=60,
    )
    assert unsure.status_code == 422 and "SIMULACRO o una alerta REAL" in unsure.text


def test_a_cap_file_imported_from_the_page_is_raised_logged_and_cleared_by_its_cancel(
    tmp_path: Path,
) -> None:
    data_dir = REPO / "tests" / "data" / "cap"
    alert = (data_dir / "alerta-es-en.xml").read_bytes()
    alert = alert.replace(b"2026-11-28T18:00", b"2099-11-28T18:00")
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "olga", "operator")
    add_user(data, "vic", "viewer")
    with run_hub(language="es", data=data, root=make_content_root(tmp_path / "root", LOBBY)) as hub:
        viewer, vcsrf = sign_in(hub.url, "vic")
        refused = viewer.post(
            hub.url + "/console/alertas/cap",
            data={"csrf": vcsrf},
            files={"cap": ("a.xml", alert, "application/xml")},
            timeout=10,
        )
        assert refused.status_code == 403
        olga, csrf = sign_in(hub.url, "olga")
        r = olga.post(
            hub.url + "/console/alertas/cap",
            data={"csrf": csrf},
            files={"cap": ("a.xml", alert, "application/xml")},
            timeout=20,
        )
        assert r.status_code == 200 and "Archivo CAP procesado" in r.text, r.text[-500:]
        active = requests.get(hub.url + "/api/v1/alerts", headers=hub.auth, timeout=5).json()
        assert len(active["alerts"]) == 1
        assert "importó CAP" in r.text
        bad = olga.post(
            hub.url + "/console/alertas/cap",
            data={"csrf": csrf},
            files={"cap": ("x.xml", (data_dir / "xxe.xml").read_bytes(), "application/xml")},
            timeout=20,
        )
        assert bad.status_code == 422 and "El archivo CAP no sirve" in bad.text
        cancel = olga.post(
            hub.url + "/console/alertas/cap",
            data={"csrf": csrf},
            files={"cap": ("c.xml", (data_dir / "cancelacion.xml").read_bytes(), "text/xml")},
            timeout=20,
        )
        assert cancel.status_code == 200
        after = requests.get(hub.url + "/api/v1/alerts", headers=hub.auth, timeout=5).json()
        assert after["alerts"] == []
