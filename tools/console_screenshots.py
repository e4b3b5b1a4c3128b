"""Console screenshots: every page of the console, as Chromium draws it, into docs/console/.

Run ``.venv/bin/python tools/console_screenshots.py`` (needs Debian's ``chromium``). It
copies the bundled content root (``playlists/``, ``assets/``) to a temporary folder,
starts ``signage serve`` on it, makes an admin account, walks the pages a communicator
uses, and writes ``docs/console/<page>.png`` at 1280 px wide, plus two at phone width and
one data slide's form (``editor-datos.png``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "clave-de-ejemplo-1"  # noqa: S105 (a throwaway account in a temporary folder)
ARGS = [
    "--lang=es-419",  # the browser's own words (file pickers) in Spanish, as users see them
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _serve(root: Path, data: Path) -> tuple[subprocess.Popen[str], str]:
    token = data.parent / "token"
    token.write_text("screenshots-token-0123456789\n")
    token.chmod(0o600)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "signage", "serve", "--root", str(root)),
            *("--data", str(data), "--port", "0", "--token-file", str(token)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=str(REPO),
    )
    line = proc.stdout.readline() if proc.stdout is not None else ""
    url = line.strip().rsplit(" ", 1)[-1]
    for _ in range(100):
        try:
            if requests.get(url + "/healthz", timeout=2).ok:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"the hub did not start: {line}")


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "console")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="signage-shots-") as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(REPO / "playlists", root / "playlists")
        shutil.copytree(REPO / "assets", root / "assets")
        data = Path(tmp) / "data"
        subprocess.run(
            [
                *(sys.executable, "-m", "signage", "user", "add", "ana"),
                *("--role", "admin", "--data", str(data)),
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            cwd=str(REPO),
            stdout=subprocess.DEVNULL,
        )
        proc, url = _serve(root, data)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=ARGS,
                    env={**os.environ, "LANGUAGE": "es"},  # the browser's own words too
                )
                page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="es-CO")

                def shot(name: str, full: bool = False) -> None:
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(args.out / f"{name}.png"), full_page=full)

                page.goto(url + "/console/")
                shot("entrar")
                # A wrong password once, so the people page has something to show.
                page.get_by_label("Usuario").fill("ana")
                page.get_by_label("Contraseña").fill("no-es-esta")
                page.get_by_role("button", name="Entrar").click()
                page.get_by_label("Contraseña").fill(PASSWORD)
                page.get_by_role("button", name="Entrar").click()
                page.wait_for_url("**/console/listas")
                shot("listas", full=True)
                page.get_by_role("link", name="Lobby principal").click()
                shot("editor")
                # A save with a bad duration: the message sits beside the field.
                page.locator("[id='s1.duration']").fill("quince segundos")
                page.get_by_role("button", name="Guardar y publicar").click()
                page.locator("[id='err-s1.duration']").scroll_into_view_if_needed()
                page.mouse.wheel(0, -250)
                page.wait_for_timeout(300)
                shot("editor-problema")
                page.locator("[id='s1.duration']").fill("15s")
                page.locator("[id='s0.title']").fill("Bienvenidos a la OAI")
                page.get_by_role("button", name="Guardar y publicar").click()
                page.wait_for_url("**guardado=*")
                page.get_by_role("link", name="Archivos").click()
                shot("archivos")
                page.get_by_role("link", name="Qué se ve ahora").click()
                page.get_by_label("Etiqueta de la pantalla").fill("lobby")
                page.get_by_role("button", name="Ver").click()
                shot("ahora", full=True)
                page.get_by_role("link", name="Historial").click()
                shot("historial")
                page.locator("table.list tbody tr").first.get_by_role(
                    "link", name="Ver cambios"
                ).click()
                shot("cambios")
                page.get_by_role("link", name="Personas").click()
                shot("personas")
                page.get_by_role("link", name="Auditoría").click()
                shot("auditoria")
                phone = browser.new_context(
                    viewport={"width": 390, "height": 844},
                    locale="es-CO",
                    is_mobile=True,
                    storage_state=page.context.storage_state(),
                ).new_page()
                phone.goto(url + "/console/listas")
                phone.screenshot(path=str(args.out / "telefono-listas.png"))
                phone.goto(url + "/console/listas/lobby")
                phone.wait_for_load_state("networkidle")
                phone.screenshot(path=str(args.out / "telefono-editor.png"))
                # A data slide's form, its preview drawn from the CSV beside it.
                page.goto(url + "/console/listas/lobby")
                data_slide = page.locator("li.slide").filter(
                    has=page.locator("input[name$='.kind'][value='data']")
                )
                data_slide.first.get_by_role("button", name="Ver cómo queda").click()
                page.wait_for_load_state("networkidle")
                page.locator("li.slide").filter(
                    has=page.locator("input[name$='.kind'][value='data']")
                ).first.screenshot(path=str(args.out / "editor-datos.png"))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for png in sorted(args.out.glob("*.png")):
        print(png.relative_to(REPO) if png.is_relative_to(REPO) else png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
