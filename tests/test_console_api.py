"""The console's HTTP side against a real hub subprocess: sign-in, CSRF, roles, lockout, the
playlist API (412/428/422/200), uploads checked by content, history and restore, escaping."""

from __future__ import annotations

import html
import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.helpers_console import PASSWORD, add_user, sign_in, try_sign_in
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub

XSS = "<script>alert('x')</script>"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "ana", "admin")
    add_user(data, "eva", "editor")
    add_user(data, "vic", "viewer")
    with run_hub(
        language="es",
        data=data,
        root=root,
        screen_token="screen-token-0123456789",
        # The test client stands for an https reverse proxy on loopback (see the cookie test).
        extra_args=["--forwarded-allow-ips", "127.0.0.1"],
    ) as running:
        yield running


def _root(hub: RunningHub) -> Path:
    assert hub.root is not None
    return hub.root


def _png(colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_user_cli_reads_the_password_from_stdin_never_argv(tmp_path: Path) -> None:
    data = tmp_path / "d"
    add_user(data, "ana", "editor", "una-clave-larga")
    listed = subprocess.run(
        [sys.executable, "-m", "signage", "user", "list", "--data", str(data)],
        capture_output=True,
        text=True,
        env=hub_env(),
        cwd=str(REPO),
        timeout=60,
        check=True,
    )
    assert "ana\teditor" in listed.stdout
    assert b"una-clave-larga" not in (data / "console.sqlite3").read_bytes()
    short = subprocess.run(
        [
            sys.executable,
            "-m",
            "signage",
            "user",
            "add",
            "bob",
            "--role",
            "viewer",
            "--data",
            str(data),
        ],
        input="corta\n",
        capture_output=True,
        text=True,
        env=hub_env(),
        cwd=str(REPO),
        timeout=60,
        check=False,
    )
    assert short.returncode == 1 and "at least 8" in short.stderr
    usage = subprocess.run(
        [
            sys.executable,
            "-m",
            "signage",
            "user",
            "add",
            "bob",
            "--role",
            "boss",
            "--data",
            str(data),
        ],
        capture_output=True,
        text=True,
        env=hub_env(),
        cwd=str(REPO),
        timeout=60,
        check=False,
    )
    assert usage.returncode == 2


def test_sign_in_form_and_cookie_flags(hub: RunningHub) -> None:
    page = requests.get(hub.url + "/console/", timeout=10)
    assert page.status_code == 200
    assert ">Usuario<" in page.text and ">Contraseña<" in page.text and ">Entrar<" in page.text
    bad = try_sign_in(hub.url, "ana", "wrong-password")
    assert bad.status_code == 401 and "incorrectos" in bad.text
    ok = try_sign_in(hub.url, "ana", PASSWORD)
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "signage_console=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never return
    # Behind an https proxy (X-Forwarded-Proto from an address in --forwarded-allow-ips) it
    # is Secure.
    session = requests.Session()
    page = session.get(hub.url + "/console/entrar", timeout=10)
    pre = re.search(r'name="pre" value="([^"]+)"', page.text)
    assert pre is not None
    behind = session.post(
        hub.url + "/console/entrar",
        data={"pre": pre.group(1), "usuario": "ana", "contrasena": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
        timeout=30,
        allow_redirects=False,
    )
    assert behind.status_code == 303 and "Secure" in behind.headers["set-cookie"]


def test_sign_out_ends_the_session(hub: RunningHub) -> None:
    ana, csrf = sign_in(hub.url, "ana")
    assert ana.get(hub.url + "/api/v1/playlists", timeout=10).status_code == 200
    cookie = ana.cookies.get("signage_console")
    out = ana.post(hub.url + "/console/salir", data={"csrf": csrf}, timeout=10)
    assert out.url.endswith("/console/entrar")
    replay = requests.get(
        hub.url + "/api/v1/playlists", cookies={"signage_console": cookie or ""}, timeout=10
    )
    assert replay.status_code == 401


def test_writes_need_csrf_and_a_role(hub: RunningHub) -> None:
    yaml_text = requests.get(hub.url + "/api/v1/playlists/lobby", headers=hub.auth, timeout=10)
    etag = yaml_text.headers["etag"]
    body = yaml_text.text.replace("Bienvenidos", "Hola").encode()
    # Nobody: 401. A session cookie alone: 403. Session + CSRF, editor: 200.
    assert requests.get(hub.url + "/api/v1/playlists", timeout=10).status_code == 401
    eva, eva_csrf = sign_in(hub.url, "eva")
    r = eva.put(hub.url + "/api/v1/playlists/lobby", data=body, headers={"If-Match": etag})
    assert r.status_code == 403
    vic, vic_csrf = sign_in(hub.url, "vic")
    assert vic.get(hub.url + "/api/v1/playlists", timeout=10).status_code == 200
    r = vic.put(
        hub.url + "/api/v1/playlists/lobby",
        data=body,
        headers={"If-Match": etag, "X-CSRF-Token": vic_csrf},
    )
    assert r.status_code == 403
    # A viewer's form post is refused too, and so is another session's CSRF token.
    r = vic.post(
        hub.url + "/console/archivos",
        data={"csrf": vic_csrf},
        files={"archivo": ("a.png", _png(), "image/png")},
    )
    assert r.status_code == 403
    r = eva.put(
        hub.url + "/api/v1/playlists/lobby",
        data=body,
        headers={"If-Match": etag, "X-CSRF-Token": vic_csrf},
    )
    assert r.status_code == 403
    before = hub.version()
    r = eva.put(
        hub.url + "/api/v1/playlists/lobby",
        data=body,
        headers={"If-Match": etag, "X-CSRF-Token": eva_csrf},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] > before
    assert "Hola" in (_root(hub) / "playlists" / "lobby.yaml").read_text()
    # The screen token (what a screen in a public hall holds) never opens the console's API.
    r = requests.put(
        hub.url + "/api/v1/playlists/lobby",
        data=body,
        headers={**hub.screen_auth, "If-Match": "*"},
        timeout=10,
    )
    assert r.status_code == 403
    screen_read = requests.get(hub.url + "/api/v1/playlists", headers=hub.screen_auth, timeout=10)
    assert screen_read.status_code == 403
    page = requests.get(hub.url + "/console/listas", timeout=10, allow_redirects=False)
    assert page.status_code == 303


def test_playlist_api_etag_semantics(hub: RunningHub) -> None:
    url = hub.url + "/api/v1/playlists/lobby"
    got = requests.get(url, headers=hub.auth, timeout=10)
    assert got.headers["content-type"].startswith("text/yaml")
    etag = got.headers["etag"]
    text = got.text
    lobby = _root(hub) / "playlists" / "lobby.yaml"
    original = lobby.read_bytes()
    # 428 without If-Match; 422 with located problems and nothing written.
    assert requests.put(url, data=text.encode(), headers=hub.auth, timeout=10).status_code == 428
    bad = text.replace("duration: 5s", "duration: cinco")
    r = requests.put(url, data=bad.encode(), headers={**hub.auth, "If-Match": etag}, timeout=10)
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert problem["path"] == "playlists/lobby.yaml" and problem["line"] == 3
    assert "no es una duración" in problem["mensaje"]
    assert lobby.read_bytes() == original
    # 200 with the new version; then the old ETag is stale: 412.
    new = text.replace("Bienvenidos", "Buenos días")
    r = requests.put(url, data=new.encode(), headers={**hub.auth, "If-Match": etag}, timeout=10)
    assert r.status_code == 200
    assert r.json()["version"] == hub.version()
    r = requests.put(url, data=text.encode(), headers={**hub.auth, "If-Match": etag}, timeout=10)
    assert r.status_code == 412
    # A hand edit on the server shows up in the API (and makes the old ETag stale too).
    lobby.write_text(lobby.read_text().replace("Buenos días", "Editado a mano"))
    assert "Editado a mano" in requests.get(url, headers=hub.auth, timeout=10).text
    # Names that are not playlist ids never reach the file system.
    r = requests.put(
        hub.url + "/api/v1/playlists/..%2F..%2Fetc",
        data=b"name: x",
        headers={**hub.auth, "If-Match": "*"},
        timeout=10,
    )
    assert r.status_code == 404
    # Oversized bodies are refused before being read.
    r = requests.put(url, data=b"#" * 1_100_000, headers={**hub.auth, "If-Match": etag}, timeout=10)
    assert r.status_code == 413


def test_uploads_checked_by_content_and_kept_inside_the_root(hub: RunningHub) -> None:
    url = hub.url + "/api/v1/assets"
    r = requests.post(
        url, files={"file": ("../../evil.png", _png(), "image/png")}, headers=hub.auth, timeout=30
    )
    assert r.status_code == 201, r.text
    path = r.json()["path"]
    assert path == "assets/evil.png"
    assert (_root(hub) / path).is_file()
    liar = requests.post(
        url,
        files={"file": ("foto.png", b"#!/bin/sh\nrm -rf /\n", "image/png")},
        headers=hub.auth,
        timeout=30,
    )
    assert liar.status_code == 422 and "no es una imagen" in liar.json()["error"]
    assert not list((_root(hub) / "assets").glob("foto*"))
    assert not list((_root(hub) / "assets").glob(".upload-*"))


def test_xss_in_titles_and_file_names_is_shown_as_text(hub: RunningHub) -> None:
    lobby = _root(hub) / "playlists" / "lobby.yaml"
    lobby.write_text(
        f'name: "{XSS}"\nslides:\n  - id: a\n    text:\n      title: "{XSS}"\n', encoding="utf-8"
    )
    hub.wait_version(0)
    evil_name = f"{XSS}.png"
    requests.post(
        hub.url + "/api/v1/assets",
        files={"file": (evil_name, _png(), "image/png")},
        headers=hub.auth,
        timeout=30,
    )
    ana, _ = sign_in(hub.url, "ana")
    for page in ("/console/listas", "/console/listas/lobby", "/console/archivos"):
        html = ana.get(hub.url + page, timeout=10).text
        assert "<script>alert" not in html, page
    assert "&lt;script&gt;alert(" in ana.get(hub.url + "/console/listas", timeout=10).text
    csp = ana.get(hub.url + "/console/listas", timeout=10).headers["content-security-policy"]
    assert "script-src 'self'" in csp


def test_history_restore_and_audit(hub: RunningHub) -> None:
    url = hub.url + "/api/v1/playlists/lobby"
    got = requests.get(url, headers=hub.auth, timeout=10)
    first = requests.get(hub.url + "/api/v1/history", headers=hub.auth, timeout=10).json()
    original = first["versions"][0]["id"]
    r = requests.put(
        url,
        data=got.text.replace("Bienvenidos", "Versión nueva").encode(),
        headers={**hub.auth, "If-Match": got.headers["etag"]},
        timeout=10,
    )
    assert r.status_code == 200
    versions = requests.get(hub.url + "/api/v1/history", headers=hub.auth, timeout=10).json()
    assert len(versions["versions"]) == len(first["versions"]) + 1
    diff = requests.get(
        hub.url + f"/api/v1/history/{r.json()['history']}", headers=hub.auth, timeout=10
    )
    assert "Versión nueva" in diff.text
    before = hub.version()
    restored = requests.post(
        hub.url + f"/api/v1/history/{original}/restore", headers=hub.auth, timeout=30
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] > before
    assert "Bienvenidos" in (_root(hub) / "playlists" / "lobby.yaml").read_text()
    after = requests.get(hub.url + "/api/v1/history", headers=hub.auth, timeout=10).json()
    assert after["versions"][0]["message"].startswith("Restaurada")
    ana, _ = sign_in(hub.url, "ana")
    audit = ana.get(hub.url + "/console/auditoria", timeout=10).text
    assert "history.restore" in audit and "playlist.save" in audit
    vic, _ = sign_in(hub.url, "vic")
    assert vic.get(hub.url + "/console/auditoria", timeout=10).status_code == 403
    assert requests.post(
        hub.url + "/api/v1/history/zzz/restore", headers=hub.auth, timeout=10
    ).status_code in (404, 422)


def test_lockout_after_repeated_failures_is_logged_and_shown(hub: RunningHub) -> None:
    for _ in range(3):
        assert try_sign_in(hub.url, "eva", "wrong-password").status_code == 401
    throttled = try_sign_in(hub.url, "eva", "wrong-password")
    assert throttled.status_code == 429 and "Espera" in throttled.text
    # Each failure after the third waits longer (1 s, 2 s, 4 s); the sixth locks.
    failures, deadline = 3, time.monotonic() + 60
    while failures < 6:
        assert time.monotonic() < deadline
        r = try_sign_in(hub.url, "eva", "wrong-password")
        if r.status_code == 401:
            failures += 1
        elif "bloqueada" in r.text:  # the failure that locks says so at once
            failures += 1
            assert failures == 6
        else:
            assert r.status_code == 429 and "Espera" in r.text, r.text
            time.sleep(0.5)
    locked = try_sign_in(hub.url, "eva", PASSWORD)
    assert locked.status_code == 429 and "bloqueada" in locked.text
    ana, _ = sign_in(hub.url, "ana")
    people = ana.get(hub.url + "/console/personas", timeout=10).text
    assert re.search(r"Bloqueada hasta \d\d/\d\d/\d{4} \d\d:\d\d", people)
    assert "locked" in hub.stderr()


def test_a_session_cookie_from_another_hub_is_refused(tmp_path: Path, hub: RunningHub) -> None:
    other_root = make_content_root(tmp_path / "other-root")
    other_data = tmp_path / "other-data"
    other_data.mkdir()
    add_user(other_data, "ana", "admin")
    with run_hub(language="es", data=other_data, root=other_root) as other:
        theirs, csrf = sign_in(other.url, "ana")
        cookie = theirs.cookies.get("signage_console")
        assert cookie
    stranger = requests.Session()
    stranger.cookies.set("signage_console", cookie)
    r = stranger.get(hub.url + "/console/listas", timeout=10, allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/console/entrar")
    r = stranger.get(hub.url + "/api/v1/playlists", timeout=10)
    assert r.status_code == 401
    r = stranger.put(
        hub.url + "/api/v1/playlists/lobby",
        data=b"name: x\nslides: []\n",
        headers={"If-Match": "*", "X-CSRF-Token": csrf},
        timeout=10,
    )
    assert r.status_code == 401


@pytest.mark.qt
def test_preview_is_drawn_and_then_cached(hub: RunningHub) -> None:
    ana, _ = sign_in(hub.url, "ana")
    url = hub.url + "/api/v1/preview/lobby/bienvenida.png"
    first = ana.get(url, timeout=60)
    assert first.status_code == 200, first.text
    image = Image.open(io.BytesIO(first.content))
    assert image.size == (960, 540)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 10  # text was drawn, not a flat fill
    cached = list((hub.data_dir / "previews").glob("*.png"))
    assert len(cached) == 1
    again = ana.get(url, timeout=30)
    assert again.content == first.content
    assert ana.get(hub.url + "/api/v1/preview/lobby/nope.png", timeout=30).status_code == 404


def test_the_list_names_the_screens_that_play_each_playlist(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    (root / "playlists" / "sala.yaml").write_text(
        "name: Sala\ntags: [sala]\nslides:\n  - text: {title: Hola}\n", encoding="utf-8"
    )
    data = tmp_path / "hubdata"
    with run_hub(language="es", data=data, root=root) as hub:
        for screen, tags in (("recepcion-1", ["lobby"]), ("sala-2", ["sala"])):
            r = requests.post(
                hub.url + "/api/v1/heartbeat",
                json={"screen": screen, "tags": tags},
                headers=hub.auth,
                timeout=10,
            )
            assert r.status_code in (200, 202, 204), r.text
        listed = requests.get(hub.url + "/api/v1/playlists", headers=hub.auth, timeout=10).json()
        by_name = {p["name"]: p for p in listed["playlists"]}
        assert by_name["lobby"]["tags"] is None  # no tags: every screen plays it
        assert by_name["lobby"]["screens"] == ["recepcion-1", "sala-2"]
        assert by_name["sala"]["tags"] == ["sala"]
        assert by_name["sala"]["screens"] == ["sala-2"]
        assert by_name["sala"]["slides"] == 1 and by_name["sala"]["loop_seconds"] == 10.0


def test_a_new_playlist_from_the_console(hub: RunningHub) -> None:
    eva, csrf = sign_in(hub.url, "eva")
    r = eva.post(
        hub.url + "/console/listas",
        data={"csrf": csrf, "titulo": "Avisos de la semana"},
        timeout=30,
    )
    assert r.url.endswith("/console/listas/avisos-de-la-semana")
    created = _root(hub) / "playlists" / "avisos-de-la-semana.yaml"
    assert "Avisos de la semana" in created.read_text(encoding="utf-8")
    listed = eva.get(hub.url + "/api/v1/playlists", timeout=10).json()["playlists"]
    assert any(p["name"] == "avisos-de-la-semana" and not p["problems"] for p in listed)
    # Without the CSRF token nothing is created.
    r = eva.post(hub.url + "/console/listas", data={"titulo": "Otra"}, timeout=30)
    assert r.status_code == 403
    assert not (_root(hub) / "playlists" / "otra.yaml").exists()


def test_a_broken_console_database_leaves_the_hub_serving(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "hubdata"
    (data / "console.sqlite3").mkdir(parents=True)  # not a database: cannot be opened
    with run_hub(language="es", data=data, root=root) as hub:
        assert requests.get(hub.url + "/feed.json", timeout=10).status_code == 200
        assert requests.get(hub.url + "/console/", timeout=10).status_code == 404
        assert "the console is off" in hub.stderr()


def test_a_hand_broken_playlist_is_listed_with_its_problems_in_spanish(hub: RunningHub) -> None:
    (_root(hub) / "playlists" / "rota.yaml").write_text(
        "name: Rota\nslides:\n  - text: {title: Hola}\n    duration: diez\n", encoding="utf-8"
    )
    listed = requests.get(hub.url + "/api/v1/playlists", headers=hub.auth, timeout=10).json()
    rota = next(p for p in listed["playlists"] if p["name"] == "rota")
    assert rota["problems"] and "no es una duración" in rota["problems"][0]
    assert "(línea 4)" in rota["problems"][0]
    ana, _ = sign_in(hub.url, "ana")
    editor = ana.get(hub.url + "/console/listas/rota", timeout=10).text
    assert 'id="err-s0.duration"' in editor
    assert "'diez' no es una duración" in html.unescape(editor)


# The hard cases (tests/test_i18n.py's HARD_CASES): what the console shows, word for word
CONSOLE_HARD_CASES = [
    (
        "name: Lobby\nslides:\n  - text:\n      title: Hola\n  - text:\n\t  title: x\n",
        "usa espacios, no tabuladores, para sangrar: línea 6",
        "use spaces, not tabs, to indent: line 6",
    ),
    (
        "name: Lobby\nslides:\n  - text:\n      title: Hola\n"
        "    schedule:\n      from: 2026-12-32\n",
        "el 32 de diciembre no existe",
        "December 32 does not exist",
    ),
    (
        "name: Lobby\nslides:\n  - text:\n      title: Hola\n    duraton: 5s\n",
        "clave desconocida 'duraton' en una diapositiva (¿quisiste decir 'duration'?)",
        "unknown key 'duraton' in a slide (did you mean 'duration'?)",
    ),
]


@pytest.mark.parametrize(("text", "spanish", "english"), CONSOLE_HARD_CASES)
def test_the_hard_cases_are_shown_word_for_word_in_both_languages(
    hub: RunningHub, text: str, spanish: str, english: str
) -> None:
    """A hub speaking Spanish: the editor, the playlists page and the API say the exact
    Spanish; a person who chose English (the language cookie) gets the exact English, and
    the API's ``mensaje`` stays Spanish."""
    (_root(hub) / "playlists" / "dura.yaml").write_text(text, encoding="utf-8")
    ana, csrf = sign_in(hub.url, "ana")
    for page in ("/console/listas/dura", "/console/listas"):
        shown = html.unescape(ana.get(hub.url + page, timeout=10).text)
        assert spanish in shown, page
        assert english not in shown, page
    etag = ana.get(hub.url + "/api/v1/playlists/lobby", timeout=10).headers["ETag"]
    put = {"If-Match": etag, "X-CSRF-Token": csrf}
    r = ana.put(hub.url + "/api/v1/playlists/lobby", data=text.encode(), headers=put, timeout=30)
    assert r.status_code == 422, r.text
    first = r.json()["problems"][0]
    assert first["message"] == spanish and first["mensaje"] == spanish
    ana.cookies.set("signage_lang", "en")
    for page in ("/console/listas/dura", "/console/listas"):
        shown = html.unescape(ana.get(hub.url + page, timeout=10).text)
        assert english in shown and spanish not in shown, page
    r = ana.put(hub.url + "/api/v1/playlists/lobby", data=text.encode(), headers=put, timeout=30)
    first = r.json()["problems"][0]
    assert first["message"] == english and first["mensaje"] == spanish


def test_user_passwd_and_remove_take_effect_on_a_running_hub(hub: RunningHub) -> None:
    eva, _ = sign_in(hub.url, "eva")

    def user(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "signage", "user", *args, "--data", str(hub.data_dir)],
            input=stdin,
            capture_output=True,
            text=True,
            env=hub_env(),
            cwd=str(REPO),
            timeout=60,
            check=False,
        )

    assert user("passwd", "eva", stdin="otra-clave-larga\n").returncode == 0
    # A new password closes her open sessions, and only the new one opens a new one.
    assert eva.get(hub.url + "/api/v1/playlists", timeout=10).status_code == 401
    assert try_sign_in(hub.url, "eva", PASSWORD).status_code == 401
    sign_in(hub.url, "eva", "otra-clave-larga")
    assert user("remove", "eva").returncode == 0
    assert try_sign_in(hub.url, "eva", "otra-clave-larga").status_code == 401
    missing = user("remove", "eva")
    assert missing.returncode == 1 and "no user named" in missing.stderr


def test_a_feed_folder_hub_says_the_console_needs_a_content_root(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    feed = tmp_path / "feed"
    key = tmp_path / "k.pem"
    for args in (
        ["keygen", "--out", str(key)],
        ["publish", "--root", str(root), "--out", str(feed), "--key", str(key)],
    ):
        subprocess.run(
            [sys.executable, "-m", "signage", *args],
            capture_output=True,
            env=hub_env(),
            cwd=str(REPO),
            timeout=60,
            check=True,
        )
    data = tmp_path / "hubdata"
    add_user(data, "ana", "viewer")
    with run_hub(language="es", data=data, feed=feed, key=key) as hub:
        signed = try_sign_in(hub.url, "ana", PASSWORD)
        assert signed.status_code == 303  # signing in works; the pages explain the rest
        page = requests.get(
            hub.url + "/console/listas",
            cookies={"signage_console": signed.cookies.get("signage_console") or ""},
            timeout=10,
        )
        assert page.status_code == 409 and "carpeta de contenido" in page.text
        assert requests.get(hub.url + "/feed.json", timeout=10).status_code == 200


def test_without_git_a_save_still_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no git (nor anything) found
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "hubdata"
    with run_hub(language="es", data=data, root=root) as hub:
        url = hub.url + "/api/v1/playlists/lobby"
        got = requests.get(url, headers=hub.auth, timeout=10)
        before = hub.version()
        r = requests.put(
            url,
            data=got.text.replace("Bienvenidos", "Sin git").encode(),
            headers={**hub.auth, "If-Match": got.headers["etag"]},
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["version"] > before
        assert "Sin git" in (root / "playlists" / "lobby.yaml").read_text()
        history = requests.get(hub.url + "/api/v1/history", headers=hub.auth, timeout=10)
        assert history.status_code == 503
        assert "history not recorded" in hub.stderr()
