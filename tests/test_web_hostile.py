"""Hostile web pages in web slides: nothing a page asks for reaches the screen or stops the
show; navigation away from the allowed hosts and bad certificates skip the slide with a
reason; the organisation's CA (``ca_file``) is trusted besides the system's, never by
turning checks off. Real HTTPS servers with a CA made by the test, real QtWebEngine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from signage.model import SlideKind
from tests.helpers_player import (
    colour_at,
    content,
    near,
    pump,
    running_player,
    slide,
    wait_until,
)
from tests.helpers_tls import https_server, make_ca, server_cert

pytestmark = pytest.mark.qt

GREEN = (0x14, 0xC8, 0x28)
_OK = "document.body.style.background='#14c828';"


def _page(script: str, body: str = "") -> tuple[int, str]:
    return (
        200,
        "<html><body style='margin:0;background:#c81414'>"
        f"{body}<script>function report(w){{fetch('/report?'+encodeURIComponent(w))}}"
        f"{script}</script></body></html>",
    )


def _download(handler: object) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Disposition": "attachment; filename=x.bin"}, b"\0" * 4096


def _needs_login(handler: object) -> tuple[int, dict[str, str], bytes]:
    return 401, {"WWW-Authenticate": 'Basic realm="intranet"'}, b"<h1>login</h1>"


HOSTILE = {
    "/alert": _page(f"alert('hola');{_OK}"),
    "/confirm": _page(f"report('confirm='+confirm('seguro?'));{_OK}"),
    "/prompt": _page(f"report('prompt='+prompt('clave?','x'));{_OK}"),
    "/beforeunload": _page(
        f"window.onbeforeunload=function(e){{e.preventDefault();return 'no te vayas'}};{_OK}"
    ),
    "/open": _page(
        f"report('open='+(window.open('/alert','_blank')===null));{_OK}"
        "var a=document.createElement('a');a.href='/alert';a.target='_blank';"
        "document.body.appendChild(a);a.click();"
    ),
    "/permissions": _page(
        "navigator.geolocation.getCurrentPosition(function(){report('geo=granted')},"
        "function(e){report('geo=denied'+e.code)});"
        "Notification.requestPermission().then(function(p){report('notify='+p)});"
        "navigator.mediaDevices.getUserMedia({video:true,audio:true}).then("
        "function(){report('media=granted')},function(e){report('media='+e.name)});"
        "document.documentElement.requestFullscreen().then(function(){report('full=yes')},"
        "function(e){report('full=no')});"
        f"{_OK}"
    ),
    "/download": _page(
        f"{_OK}var f=document.createElement('iframe');f.src='/file.bin';"
        "document.body.appendChild(f);"
        "var a=document.createElement('a');a.href='/file.bin';a.download='y.bin';"
        "document.body.appendChild(a);a.click();"
    ),
    "/print": _page(f"window.print();{_OK}"),
    "/chooser": _page(
        f"{_OK}var i=document.getElementById('f');i.click();"
        "try{i.showPicker()}catch(e){report('picker='+e.name)}",
        "<input type=file id=f>",
    ),
    "/webauthn": _page(
        f"{_OK}navigator.credentials.create({{publicKey:{{challenge:new Uint8Array(16),"
        "rp:{name:'x'},user:{id:new Uint8Array(8),name:'a',displayName:'a'},"
        "pubKeyCredParams:[{type:'public-key',alg:-7}]}}).then(function(){report('webauthn=yes')},"
        "function(e){report('webauthn='+e.name)});"
        "navigator.credentials.get({publicKey:{challenge:new Uint8Array(16)}}).then("
        "function(){report('webauthn-get=yes')},function(e){report('webauthn-get='+e.name)});"
    ),
    "/file.bin": _download,
    "/login": _needs_login,
    "/report": (204, ""),
}
SHOWN = ["alert", "confirm", "prompt", "beforeunload", "open", "permissions", "download"]
SHOWN += ["print", "chooser", "webauthn"]


def center_colour(player: object) -> tuple[int, int, int]:
    img = player.grab_image()  # type: ignore[attr-defined]
    return colour_at(img, img.width() // 2, img.height() // 2)


def _visible_windows(app: object) -> list[str]:
    return [
        w.metaObject().className()
        for w in app.topLevelWidgets()  # type: ignore[attr-defined]
        if w.isVisible()
    ]


def test_hostile_pages_open_no_window_and_the_show_goes_on(qapp, tmp_path):
    ca = make_ca(tmp_path / "ca")
    with https_server(server_cert(tmp_path / "srv", ca), HOSTILE) as (port, seen):
        base = f"https://127.0.0.1:{port}"
        slides = [slide(n, SlideKind.WEB, f"{base}/{n}", duration_s=0.8) for n in SHOWN]
        slides.append(slide("login", SlideKind.WEB, f"{base}/login", duration_s=0.8))
        colours: dict[str, tuple[int, int, int]] = {}
        windows: set[tuple[str, ...]] = set()
        with running_player(qapp, content(slides, {}), ca_file=ca.pem) as (player, _, trap):

            def on_changed(playlist: str, slide_id: str) -> None:
                if slide_id:
                    pump(qapp, 0.15)  # a moment for a dialog to show, if one would
                    colours.setdefault(slide_id, center_colour(player))

            player.slide_changed.connect(on_changed)
            # two full rounds: every page is loaded and shown twice, the show never stops
            done = lambda: trap.shown().count("webauthn") >= 2  # noqa: E731
            while not done() and len(trap.records) < 400:
                windows.add(tuple(_visible_windows(qapp)))
                if wait_until(qapp, done, 0.1):
                    break
                if not trap.shown() and len(trap.records) > 50:
                    break
            assert done(), (trap.shown(), trap.skipped())
            refusals = player.web.refusals()
    # the player's window only (not yet shown in the first turn: content offered at start
    # shows it with its first slide)
    assert windows - {()} == {("PlayerWindow",)}, windows
    assert set(SHOWN) <= set(trap.shown())
    # every page ran its script past the call that used to block it
    for name in SHOWN:
        assert near(colours[name], GREEN, 30), (name, colours[name])
    skipped = trap.skipped()
    assert set(skipped) == {"login"}, skipped
    assert "asks for a login (intranet)" in skipped["login"]
    reports = {p.split("?", 1)[1] for p in seen if p.startswith("/report?")}
    assert "confirm%3Dfalse" in reports and "prompt%3Dnull" in reports
    assert "open%3Dtrue" in reports  # window.open gave the page nothing
    assert "geo%3Ddenied1" in reports  # PERMISSION_DENIED
    assert "notify%3Ddenied" in reports
    assert "full%3Dno" in reports
    assert not any(r.startswith("media%3D") and "granted" in r for r in reports)
    assert not any(r.startswith("webauthn") and r.endswith("yes") for r in reports), reports
    assert any(r.startswith("alert() ignored: hola") for r in refusals), refusals
    assert any("download of" in r for r in refusals), refusals
    assert "permission Geolocation refused" in refusals, refusals
    assert "permission Notifications refused" in refusals, refusals


def test_navigation_away_and_bad_certificates_skip_the_slide_with_a_reason(qapp, tmp_path):
    ca = make_ca(tmp_path / "ca")
    stranger = server_cert(tmp_path / "self", None)  # self-signed: no CA vouches for it
    with (
        https_server(server_cert(tmp_path / "srv", ca), {}) as (port, _),
        https_server(stranger, {"/": (200, "<h1>?</h1>")}) as (bad_port, _),
    ):
        base = f"https://127.0.0.1:{port}"
        away = f"https://localhost:{port}/elsewhere"  # same server, a host not allowed
        routes = {
            "/ok": (200, "<html><body style='background:#14c828'></body></html>"),
            "/redirect": lambda h: (302, {"Location": away}, b""),
            "/script": _page(f"location.href='{away}'"),
            "/link": _page(
                f"var a=document.createElement('a');a.href='{away}';"
                "document.body.appendChild(a);a.click();"
            ),
        }
        with https_server(server_cert(tmp_path / "srv2", ca), routes) as (port2, _):
            base = f"https://127.0.0.1:{port2}"
            slides = [
                slide("propia", SlideKind.WEB, f"{base}/ok", duration_s=0.5),
                slide("redirige", SlideKind.WEB, f"{base}/redirect"),
                slide("script", SlideKind.WEB, f"{base}/script"),
                slide("enlace", SlideKind.WEB, f"{base}/link"),
                slide("extrana", SlideKind.WEB, f"https://127.0.0.1:{bad_port}/"),
            ]
            with running_player(qapp, content(slides, {}), ca_file=ca.pem) as (_, _, trap):
                assert wait_until(qapp, lambda: len(trap.skipped()) >= 4, 60), trap.skipped()
                pump(qapp, 0.5)
    skipped = trap.skipped()
    assert "propia" in trap.shown() and "propia" not in skipped
    for name in ("redirige", "script", "enlace"):
        assert "leave 127.0.0.1 for localhost" in skipped[name], (name, skipped)
    assert "certificate" in skipped["extrana"] and "127.0.0.1" in skipped["extrana"]


def test_without_ca_file_the_intranet_page_is_refused(qapp, tmp_path):
    ca = make_ca(tmp_path / "ca")
    page = {"/": (200, "<html><body style='background:#14c828'></body></html>")}
    with https_server(server_cert(tmp_path / "srv", ca), page) as (port, _):
        slides = [slide("intranet", SlideKind.WEB, f"https://127.0.0.1:{port}/")]
        with running_player(qapp, content(slides, {})) as (_, _, trap):
            assert wait_until(qapp, lambda: "intranet" in trap.skipped(), 30)
        assert "certificate" in trap.skipped()["intranet"]
        other = make_ca(tmp_path / "otra", "Otra CA")  # a CA file, but not the signer
        with running_player(qapp, content(slides, {}), ca_file=other.pem) as (_, _, trap):
            assert wait_until(qapp, lambda: "intranet" in trap.skipped(), 30)
        assert "not signed by ca_file" in trap.skipped()["intranet"]


def test_a_signed_feed_web_slide_must_be_https(qapp, tmp_path):
    from tests.helpers_player import web_server

    page = {"/": (200, "<html><body style='background:#14c828'></body></html>")}
    with web_server(page) as base:
        signed = replace(content([slide("plano", SlideKind.WEB, f"{base}/")], {}), signed=True)
        with running_player(qapp, signed) as (_, _, trap):
            assert wait_until(qapp, lambda: "plano" in trap.skipped(), 30)
    assert "signed feed must be https" in trap.skipped()["plano"]


def test_signage_play_survives_hostile_pages_and_exits_0(tmp_path):
    """The player as a process (the attacker's view): every hostile page in turn, then a
    clean exit at --for; before, the first alert() put up a dialog and ended in SIGABRT."""
    ca = make_ca(tmp_path / "ca")
    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    with https_server(server_cert(tmp_path / "srv", ca), HOSTILE) as (port, _):
        lines = ["name: Hostil", "defaults: {duration: 1s, transition: cut}", "slides:"]
        for name in SHOWN:
            lines += [f"  - id: {name}", f"    web: https://127.0.0.1:{port}/{name}"]
        (root / "playlists" / "hostil.yaml").write_text("\n".join(lines) + "\n", "utf-8")
        config = tmp_path / "player.yaml"
        config.write_text(f"ca_file: {ca.pem}\n", "utf-8")
        events = tmp_path / "events.jsonl"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "signage",
                "play",
                "--root",
                str(root),
                "--config",
                str(config),
                "--headless",
                "--size",
                "480x270",
                "--for",
                "16",
                "--events",
                str(events),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "free()" not in done.stderr
    records = [json.loads(x) for x in events.read_text("utf-8").splitlines()]
    shown = {r["slide"] for r in records if r["event"] == "slide_shown"}
    assert set(SHOWN) <= shown, (shown, [r for r in records if r["event"] == "slide_skipped"])


def test_navigation_rule():
    from signage.player.web import navigation_problem

    def ok(scheme: str, host: str, hosts: frozenset[str] = frozenset(), *, https_only=True):
        return navigation_problem(scheme, host, "intranet.example", hosts, https_only=https_only)

    assert ok("https", "intranet.example") is None
    assert ok("https", "www.intranet.example") is None  # the usual www redirect
    assert ok("https", "INTRANET.example") is None
    assert ok("https", "sso.example", frozenset({"sso.example"})) is None
    assert "leave intranet.example for evil.example" in str(ok("https", "evil.example"))
    assert "leave" in str(ok("https", "example"))  # not the parent domain
    assert "leave" in str(ok("https", "x.intranet.example"))  # nor another sub-domain
    assert "http:" in str(ok("http", "intranet.example"))  # a signed feed's page stays https
    assert ok("http", "intranet.example", https_only=False) is None
    assert "javascript:" in str(ok("javascript", ""))
