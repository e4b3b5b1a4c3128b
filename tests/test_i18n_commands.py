"""The other commands speak the user's language: play, serve, sync, status, report, keygen,
install-kiosk, screen, user and mirror, the player configuration's errors and the idle screen.

Each command is run through ``signage.cli.main`` (the real parser and dispatch) with
``SIGNAGE_LANGUAGE=es`` and then ``en``: the Spanish words exactly, and the English kept.
One end-to-end run goes through ``python -m signage`` in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from signage.cli import main
from signage.config import load_config
from signage.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def signage(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """``signage(lang, *args)`` → (exit code, stdout, stderr) of ``signage ARGS`` in ``lang``."""
    from signage import i18n

    def run(lang: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        monkeypatch.setenv("SIGNAGE_LANGUAGE", lang)
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as stop:
            code = int(stop.code or 0)
        done = capsys.readouterr()
        return code, done.out, done.err

    yield run
    i18n.set_language("en")


def _last(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


# ----------------------------------------------------------------------------- play


def test_play_refuses_in_spanish_and_in_english(signage: Callable[..., tuple[int, str, str]]):
    code, _out, err = signage("es", "play", "--window", "800x600", "--headless")
    assert code == 2
    assert _last(err) == "signage play: --window y --headless se excluyen entre sí"
    code, _out, err = signage("en", "play", "--window", "800x600", "--headless")
    assert _last(err) == "signage play: --window and --headless exclude each other"
    code, _out, err = signage("es", "play", "--headless", "--size", "enorme")
    assert _last(err) == ("signage play: --size 'enorme': se esperaba ANCHOxALTO, p. ej. 1920x1080")
    code, _out, err = signage("es", "play", "--root", "no-existe")
    assert _last(err) == (
        "signage play: no-existe: aquí no hay carpeta playlists/; pasa la carpeta de contenido"
    )


# ---------------------------------------------------------------------------- serve


def test_serve_refuses_in_spanish_and_in_english(
    signage: Callable[..., tuple[int, str, str]], tmp_path: Path
):
    code, _out, err = signage("es", "serve", "--root", str(tmp_path / "nada"))
    assert code == 2
    assert _last(err) == f"signage serve: --root {tmp_path / 'nada'}: esa carpeta no existe"
    code, _out, err = signage("en", "serve", "--root", str(tmp_path / "nada"))
    assert _last(err) == f"signage serve: --root {tmp_path / 'nada'}: no such folder"
    (tmp_path / "playlists").mkdir()
    code, _out, err = signage(
        "es", "serve", "--root", str(tmp_path), "--forwarded-allow-ips", "127.0.0.1,proxy"
    )
    assert _last(err) == (
        "signage serve: --forwarded-allow-ips 127.0.0.1,proxy: 'proxy' no es una dirección "
        "ni una red; da, p. ej., 127.0.0.1 o 10.0.0.0/24"
    )
    code, _out, err = signage("es", "serve", "--root", str(tmp_path), "--keep-scans", "0")
    assert _last(err) == "signage serve: --keep-scans 0: un número de días de 1 a 36600"


# ----------------------------------------------------------------------------- sync


def test_sync_says_its_outcome_in_the_language(
    signage: Callable[..., tuple[int, str, str]], language: Callable[[str], None]
):
    from signage.commands.sync import sync_line

    language("es")
    assert sync_line("updated", 7, 1, 2048) == "actualizado: versión 7 (1 archivo, 2048 bytes)"
    assert sync_line("unchanged", 7, 0, 0) == "sin cambios: versión 7 (0 archivos, 0 bytes)"
    language("en")
    assert sync_line("updated", 7, 3, 1) == "updated: version 7 (3 assets, 1 byte)"
    code, _out, err = signage(
        "es", "sync", "--feed", "http://127.0.0.1:9/", "--cache", "c", "--pubkey", "k",
        "--timeout", "0",
    )  # fmt: skip
    assert code == 2
    assert _last(err) == (
        "signage sync: --timeout y --poll deben ser números positivos de segundos"
    )


# --------------------------------------------------------------------------- status


def _screens() -> list[dict[str, object]]:
    return [
        {"screen": "lobby-1", "online": True, "age_s": 12, "version": 4, "last_sync_age_s": 30,
         "feed_source": "http://espejo:8080/feed/", "clock_offset_s": -7200.0,
         "rss_mb": 251.0, "rss_growth_mb": 150.0},
        {"screen": "sala-2", "online": False, "age_s": 7260, "version": 3, "hub_version": 4,
         "stale": True, "clock_offset_s": 12.0},
    ]  # fmt: skip


def test_status_table_in_spanish_and_in_english(
    signage: Callable[..., tuple[int, str, str]], language: Callable[[str], None]
):
    from signage.commands.status import format_table

    language("es")
    lines = format_table(_screens()).splitlines()
    assert lines[0].split() == [
        "PANTALLA", "ESTADO", "VERSIÓN", "MUESTRA", "SINCRONIZÓ", "DESACTUALIZADA", "RELOJ",
        "MEMORIA", "ÚLTIMO", "ERROR", "CAPTURA",
    ]  # fmt: skip
    assert "en línea (12s)" in lines[1] and "hace 30s vía espejo:8080" in lines[1]
    assert "ADELANTADO 2h00m" in lines[1] and "251 MB +150 CRECIENDO" in lines[1]
    assert "DESCONECTADA (2h01m)" in lines[2] and "bien (12s atrasado)" in lines[2]
    assert lines[-1] == (
        "pantallas: 2; en línea: 1, desconectadas: 1, desactualizadas: 1, "
        "con el reloj desfasado más de un minuto: 1, con la memoria crecida más de 100 MB: 1"
    )
    language("en")
    english = format_table(_screens()).splitlines()
    assert english[0].split()[:3] == ["SCREEN", "STATE", "VERSION"]
    assert "30s ago via espejo:8080" in english[1] and "OFF 2h00m fast" in english[1]
    assert english[-1] == (
        "2 screens: 1 online, 1 offline, 1 stale, 1 with the clock off by more than a minute, "
        "1 with memory grown by more than 100 MB"
    )
    code, _out, err = signage("es", "status", "--hub", "ftp://hub")
    assert code == 2
    assert _last(err) == (
        "signage status: --hub ftp://hub: da la URL del hub, p. ej. http://hub.local:8750"
    )


# --------------------------------------------------------------------------- report


def test_report_table_and_period_in_spanish_and_in_english(
    signage: Callable[..., tuple[int, str, str]], language: Callable[[str], None]
):
    from signage.report import Count, build_report, parse_since, report_table

    since, until = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    report = build_report(
        [Count("lobby-1", "lobby", "encuesta", 1500)],
        [Count("lobby-1", "lobby", "encuesta", 19)],
        since,
        until,
    )
    language("es")
    table = report_table(report).splitlines()
    assert (
        table[0] == "Escaneos de QR y reproducciones del 2026-10-01 00:00 al 2026-11-01 00:00 UTC"
    )
    assert table[2].split() == ["pantalla", "reproducciones", "escaneos", "por", "cada", "1000"]
    assert table[4].split() == ["lobby-1", "1.500", "19", "12,7"]
    assert table[5].split() == ["total", "1.500", "19", "12,7"]
    with pytest.raises(ValueError) as wrong:
        parse_since("ayer", until)
    assert str(wrong.value) == (
        "'ayer' no es un periodo: escribe un número de horas, días o semanas (12h, 30d, 2w) "
        "o una fecha (2027-01-01)"
    )
    language("en")
    assert report_table(report).splitlines()[4].split() == ["lobby-1", "1,500", "19", "12.7"]
    code, _out, err = signage("es", "report", "--hub", "http://127.0.0.1:9", "--since", "ayer")
    assert code == 2
    assert _last(err).startswith("signage report: --since: 'ayer' no es un periodo: ")
    code, _out, err = signage(
        "es", "report", "--hub", "http://127.0.0.1:9", "--chart", "informe.jpg"
    )
    assert _last(err) == (
        "signage report: --chart informe.jpg: el gráfico es un PNG; nombra el archivo *.png"
    )


# --------------------------------------------------------------------------- keygen


def test_keygen_end_to_end_in_spanish_and_english(tmp_path: Path):
    def keygen(lang: str, out: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "signage", "keygen", "--out", str(out)],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "SIGNAGE_LANGUAGE": lang},
        )  # fmt: skip

    key = tmp_path / "clave.pem"
    done = keygen("es", key)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"signage keygen: clave privada escrita en {key} (guárdala en secreto); fija la clave "
        "pública de arriba en cada pantalla ('pubkey' en player.yaml)"
    )
    again = keygen("es", key)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert again.stderr.strip() == (
        f"signage keygen: {key}: ya existe una clave; muévela a otra parte o elige otro --out"
    )
    english = keygen("en", key)
    assert english.stderr.strip() == (
        f"signage keygen: {key}: a key already exists; move it away or choose another --out"
    )


# -------------------------------------------------------------------- install-kiosk


def test_install_kiosk_steps_in_spanish_and_in_english(
    signage: Callable[..., tuple[int, str, str]], tmp_path: Path
):
    stage = tmp_path / "imagen"
    code, out, _err = signage(
        "es", "install-kiosk", "--dry-run", "--destdir", str(stage), "--screen", "sala-1"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "signage install-kiosk haría esto:"
    assert (
        f"  1. escribir la plantilla de configuración {stage}/etc/signage/player.yaml (modo 0644)"
        in lines
    )
    assert f"  2. crear {stage}/var/cache/signage" in lines
    assert not stage.exists()
    code, out, _err = signage("en", "install-kiosk", "--dry-run", "--destdir", str(stage))
    assert out.splitlines()[0] == "signage install-kiosk would:"
    assert f"  2. create {stage}/var/cache/signage" in out.splitlines()
    code, _out, err = signage("es", "install-kiosk", "--config", "player.yaml", "--dry-run")
    assert code == 2
    assert _last(err) == (
        "signage install-kiosk: --config player.yaml: da una ruta absoluta (systemd la necesita)"
    )


# --------------------------------------------------------------------------- screen


def test_screen_tokens_in_spanish_and_in_english(
    signage: Callable[..., tuple[int, str, str]], tmp_path: Path
):
    data = str(tmp_path / "datos")
    code, out, _err = signage("es", "screen", "add", "sala-1", "--data", data)
    assert code == 0
    assert out.splitlines()[0] == (
        "pantalla sala-1 inscrita; pon este token en su hub_token_file (solo se muestra ahora):"
    )
    code, _out, err = signage("es", "screen", "add", "sala-1", "--data", data)
    assert code == 2
    assert _last(err) == (
        "signage screen: la pantalla 'sala-1' ya está inscrita; "
        "'signage screen rotate sala-1' le da un token nuevo"
    )
    code, _out, err = signage("es", "screen", "add", ".oculta", "--data", data)
    assert _last(err) == (
        "signage screen: id de pantalla '.oculta': usa de 1 a 64 letras, dígitos, '.', '_' o '-' "
        "(sin empezar por '.')"
    )
    code, out, _err = signage("es", "screen", "list", "--data", data)
    assert out.startswith("sala-1  inscrita el ")
    code, out, _err = signage("es", "screen", "revoke", "sala-1", "--data", data)
    assert out.strip() == "pantalla sala-1: token revocado"
    code, out, _err = signage("es", "screen", "list", "--data", data)
    assert out.strip() == "no hay pantallas inscritas"
    code, out, _err = signage("en", "screen", "list", "--data", data)
    assert out.strip() == "no screens enrolled"
    code, _out, err = signage("en", "screen", "revoke", "sala-1", "--data", data)
    assert _last(err) == "signage screen: screen 'sala-1' is not enrolled"


# ----------------------------------------------------------------------------- user


def test_user_accounts_in_spanish_and_in_english(
    signage: Callable[..., tuple[int, str, str]], tmp_path: Path
):
    data = str(tmp_path / "datos")
    (tmp_path / "datos").mkdir()
    code, out, _err = signage(
        "es", "user", "add", "ana", "--role", "editor", "--data", data, stdin="clave-larga-123\n"
    )
    assert code == 0, _err
    assert out.strip() == "usuario ana agregado con el rol editor"
    code, out, _err = signage("es", "user", "list", "--data", data)
    assert out.startswith("ana\teditor\tdesde el 20")
    code, out, _err = signage("en", "user", "remove", "ana", "--data", data)
    assert out.strip() == "user ana removed"
    code, _out, err = signage("es", "user", "list", "--root", str(tmp_path))
    assert code == 2
    assert _last(err) == (
        f"signage user: --root {tmp_path}: aquí no hay carpeta playlists/; "
        "¿es esta una carpeta de contenido?"
    )


# --------------------------------------------------------------------------- mirror


def test_mirror_refuses_in_spanish_and_in_english(
    signage: Callable[..., tuple[int, str, str]], tmp_path: Path
):
    args = ("mirror", "--from", "http://127.0.0.1:9/", "--to", str(tmp_path), "--pubkey", "k")
    code, _out, err = signage("es", *args, "--poll", "0")
    assert code == 2
    assert _last(err) == "signage mirror: --poll debe ser un número positivo de segundos"
    code, _out, err = signage("en", *args, "--poll", "0")
    assert _last(err) == "signage mirror: --poll must be a positive number of seconds"
    code, _out, err = signage("es", *args)
    assert code == 1
    assert _last(err) == "signage mirror: la clave pública fijada no es base64 válido"


# ------------------------------------------------------------ player configuration


CONFIG_CASES = [
    (
        "screen: sala-1\nsceen: sala-2\n",
        "2:1: clave desconocida 'sceen' en la configuración del reproductor "
        "(¿quisiste decir 'screen'?)",
        "2:1: unknown key 'sceen' in the player configuration (did you mean 'screen'?)",
    ),
    (
        "screen: sala-1\npoll: rápido\n",
        "2:7: 'poll' debe ser un número positivo de segundos",
        "2:7: 'poll' must be a positive number of seconds",
    ),
    (
        "feed:\n  - https://hub.example/feed.json\n  - ftp://espejo/feed.json\n",
        "3:5: el elemento 2 de 'feed' debe ser la URL http(s) de un feed",
        "3:5: 'feed' item 2 must be an http(s) URL of a feed",
    ),
    (
        "qr:\n  allowed_hosts: [www.example.gov.co]\n  link_base: http://hub\n",
        "3:14: 'qr.link_base' debe ser la URL https pública del hub, p. ej. "
        "https://pantallas.example.gov.co (los celulares la abren al escanear)",
        "3:14: 'qr.link_base' must be the hub's public https URL, e.g. "
        "https://pantallas.example.gov.co (phones open it when they scan)",
    ),
    (
        "screen: sala-1\n\trotation: 90\n",
        "2:1: usa espacios, no tabuladores, para sangrar: línea 2",
        "2:1: use spaces, not tabs, to indent: line 2",
    ),
]


@pytest.mark.parametrize(("text", "spanish", "english"), CONFIG_CASES)
def test_player_configuration_errors_are_located_in_plain_words(
    tmp_path: Path, language: Callable[[str], None], text: str, spanish: str, english: str
):
    path = tmp_path / "player.yaml"
    path.write_text(text, encoding="utf-8")
    for code, expected in (("es", spanish), ("en", english)):
        language(code)
        with pytest.raises(ConfigError) as refused:
            load_config(path)
        assert str(refused.value) == f"{path}:{expected}", code


def test_play_with_a_wrong_configuration_says_where_without_a_traceback(tmp_path: Path):
    config = tmp_path / "player.yaml"
    config.write_text("screen: sala-1\nrotation: 45\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "signage", "play", "--config", str(config), "--headless"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "SIGNAGE_LANGUAGE": "es",
             "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"signage play: {config}:2:11: 'rotation' debe ser 0, 90, 180 o 270 (los grados en el "
        "sentido de las manecillas del reloj que el reproductor gira la imagen para un panel "
        "montado de lado)"
    )


# ----------------------------------------------------------------------- idle screen


def _idle_lines(qapp: Any, locale: str) -> list[str]:
    """The words of the idle screen a player with nothing to play shows first."""
    from signage.config import PlayerConfig
    from signage.events import EventLog
    from signage.player.player import Player
    from signage.player.views import IdleView
    from tests.helpers_player import GivenSource, pump, wait_until

    player = Player(
        config=PlayerConfig(screen="sala-7", locale=locale),
        source=GivenSource(None),
        events=EventLog(None),
        size=(480, 270),
    )
    try:
        player.start()
        stage = player.stage
        assert wait_until(qapp, lambda: stage.current is not None, 5)
        idle = stage.current
        assert isinstance(idle, IdleView)
        return idle.lines()
    finally:
        player.dispose()
        pump(qapp, 0.05)


def test_the_idle_screen_speaks_the_screens_locale(qapp: Any) -> None:
    """On-screen words follow the screen's ``locale`` (as alert labels do), whatever the
    language of the process: this suite speaks English."""
    assert _idle_lines(qapp, "es-CO")[:2] == ["Esperando contenido", "Pantalla: sala-7"]
    assert _idle_lines(qapp, "en-GB")[:2] == ["Waiting for content", "Screen: sala-7"]


def test_a_data_slides_date_follows_the_screens_locale() -> None:
    from signage.data.drawing import as_of_text

    day = date(2026, 11, 28)
    assert as_of_text(day) == "Datos al 28 de noviembre de 2026"  # es-CO, the default
    assert as_of_text(day, "es-CO") == "Datos al 28 de noviembre de 2026"
    assert as_of_text(day, "en-GB") == "Data as of November 28, 2026"


def test_play_says_why_the_display_cannot_open_in_spanish(
    signage: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    (tmp_path / "playlists").mkdir()
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", "no-es-pantalla")
    code, _out, err = signage("es", "play", "--root", str(tmp_path), "--for", "1")
    assert code == 1
    assert _last(err) == (
        "signage play: no se puede abrir la pantalla: DISPLAY='no-es-pantalla' no es un nombre "
        "de pantalla como :0 o host:0"
    )
    monkeypatch.delenv("DISPLAY")
    code, _out, err = signage("en", "play", "--root", str(tmp_path), "--for", "1")
    assert _last(err) == "signage play: cannot open the display: DISPLAY is not set"
