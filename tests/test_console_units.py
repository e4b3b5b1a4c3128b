"""The console's decisions without a server: throttling, roles, the validator's messages in
the console's language, 24-hour times, the editor's round-trip YAML, upload checks by
content, and "what plays now"."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from signage.console import forms
from signage.console.accounts import (
    LOCK_AFTER,
    LOCK_S,
    AccountError,
    AccountStore,
    Role,
    login_gate,
    role_allows,
)
from signage.console.files import inside, safe_stem
from signage.console.messages import fecha, hora, numero, tamano
from signage.console.now import explain
from signage.console.uploads import UploadRefused, check_file, store
from signage.playlist import load_playlist_file

YAML = """\
# Lobby: comments must survive a console save
name: Lobby  # the title
tags: [lobby]
defaults:
  duration: 10s
slides:
  # the welcome
  - id: hola
    text:
      title: "Hola"
  - id: foto
    image: assets/a.png
    duration: 15s  # longer
"""


def test_login_gate_throttles_then_locks_then_opens_again() -> None:
    assert login_gate(0, None, 100.0).allowed
    assert login_gate(2, 100.0, 100.0).allowed
    throttled = login_gate(3, 100.0, 100.5)
    assert not throttled.allowed and not throttled.locked and throttled.wait_s > 0
    assert login_gate(3, 100.0, 103.0).allowed
    locked = login_gate(LOCK_AFTER, 100.0, 101.0)
    assert locked.locked and not locked.allowed
    assert login_gate(LOCK_AFTER, 100.0, 100.0 + LOCK_S + 1).allowed


def test_roles_are_ordered() -> None:
    assert role_allows(Role.ADMIN, Role.EDITOR)
    assert role_allows(Role.EDITOR, Role.EDITOR)
    assert not role_allows(Role.VIEWER, Role.EDITOR)
    assert not role_allows(Role.OPERATOR, Role.ADMIN)
    assert Role.parse("Operator") is Role.OPERATOR
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("root")


def test_account_store_locks_after_repeated_failures(tmp_path: Path) -> None:
    now = [1000.0]
    store_ = AccountStore(tmp_path, clock=lambda: now[0])
    store_.add("ana", Role.EDITOR, "correcta-123")
    with pytest.raises(AccountError, match="already"):
        store_.add("ana", Role.EDITOR, "correcta-123")
    with pytest.raises(AccountError, match="at least"):
        store_.add("bob", Role.EDITOR, "corta")
    account, _ = store_.authenticate("ana", "correcta-123")
    assert account is not None and account.role is Role.EDITOR
    for _ in range(LOCK_AFTER):
        now[0] += 100  # past every throttle delay, so each attempt is checked and counted
        account, gate = store_.authenticate("ana", "mala")
        assert account is None
    assert gate.locked
    now[0] += 1
    account, gate = store_.authenticate("ana", "correcta-123")  # right password, still locked
    assert account is None and gate.locked
    assert store_.accounts()[0].locked_until(now[0]) is not None
    assert any(e.action == "lock" for e in store_.audit_log())
    store_.unlock("ana")
    account, _ = store_.authenticate("ana", "correcta-123")
    assert account is not None
    # The stored file holds hashes, never the password.
    assert b"correcta-123" not in (tmp_path / "console.sqlite3").read_bytes()


def test_sessions_are_stored_as_hashes_and_expire(tmp_path: Path) -> None:
    now = [1000.0]
    store_ = AccountStore(tmp_path, clock=lambda: now[0])
    store_.add("ana", Role.VIEWER, "correcta-123")
    account, _ = store_.authenticate("ana", "correcta-123")
    assert account is not None
    token, session = store_.open_session(account)
    assert store_.session(token) == session or store_.session(token) is not None
    assert store_.session(token + "x") is None
    assert token.encode() not in (tmp_path / "console.sqlite3").read_bytes()
    now[0] += 3 * 3600  # idle past the limit
    assert store_.session(token) is None


# (a slide's YAML, what the console shows in Spanish, in English): the validator's own words
# (signage.i18n), the regex layer that rewrote its English is gone
SLIDE_PROBLEMS = [
    ("text: {title: A}\n    duration: 12 segundos", "no es una duración", "is not a duration"),
    ("image: assets/x.png", "no existe en", "does not exist under"),
    ("web: 'http://a.b'", "solo se muestran URL https://", "only https:// URLs"),
    ("text: {title: A}\n    schedule: {from: 31/02/2027}", "no es una fecha", "is not a date"),
    (
        "text: {title: A}\n    schedule: {from: 2027-02-01, until: 2027-01-01}",
        "es anterior a 'from'",
        "is before 'from'",
    ),
    (
        "text: {title: A}\n    transition: fadee",
        "(¿quisiste decir 'fade'?)",
        "(did you mean 'fade'?)",
    ),
]


@pytest.mark.parametrize(("slide", "spanish", "english"), SLIDE_PROBLEMS)
def test_validator_messages_speak_the_consoles_language(
    tmp_path: Path, language: Callable[[str], None], slide: str, spanish: str, english: str
) -> None:
    (tmp_path / "playlists").mkdir()
    path = tmp_path / "playlists" / "l.yaml"
    path.write_text(f"name: L\nslides:\n  - {slide}\n", encoding="utf-8")
    for code, part in (("es", spanish), ("en", english)):
        language(code)
        _playlist, problems = load_playlist_file(path, tmp_path)
        assert any(part in p.message for p in problems), (code, [p.message for p in problems])


def test_dates_are_written_as_the_screens_write_them() -> None:
    moment = datetime(2027, 1, 4, 15, 5, tzinfo=ZoneInfo("America/Bogota"))
    assert fecha(moment) == "04/01/2027 15:05"


def test_times_are_24_hour_in_the_hubs_zone_whatever_the_machine_says() -> None:
    # 09:55:14 UTC is 04:55:14 in Bogotá: the fleet page once showed it as "4:55:14 a. m."
    morning = datetime(2026, 11, 29, 9, 55, 14, tzinfo=UTC)
    assert hora(morning) == "04:55:14"
    assert hora(morning.timestamp()) == "04:55:14"
    evening = datetime(2026, 11, 29, 21, 5, 0, tzinfo=UTC)
    assert hora(evening) == "16:05:00" and fecha(evening.timestamp()) == "29/11/2026 16:05"
    assert "m." not in hora(evening) and "M" not in fecha(evening)


def test_numbers_use_the_languages_separators() -> None:
    assert numero(1234567, language="es") == "1.234.567"
    assert numero(1234567, language="en") == "1,234,567"
    assert numero(3.45, 1, language="es") == "3,5" or numero(3.45, 1, language="es") == "3,4"
    assert numero(12.25, 1, language="en") in ("12.2", "12.3")
    assert tamano(int(3.4 * 1024 * 1024), "es") == "3,4 MB"
    assert tamano(int(3.4 * 1024 * 1024), "en") == "3.4 MB"


def test_report_periods_accept_day_first_and_iso_dates(language: Callable[[str], None]) -> None:
    from signage.console.report_page import parse_period

    today = date(2026, 11, 29)
    language("es")
    period = parse_period("01/07/2026", "30/09/2026", today)
    assert (period.since, period.until) == (date(2026, 7, 1), date(2026, 9, 30))
    assert period.label == "01/07/2026 a 30/09/2026"
    assert parse_period("2026-07-01", "2026-09-30", today) == period  # ISO still accepted
    with pytest.raises(ValueError, match="dd/mm/aaaa"):
        parse_period("31/02/2026", "30/09/2026", today)
    with pytest.raises(ValueError, match="posterior a la inicial"):
        parse_period("30/09/2026", "01/07/2026", today)
    language("en")
    assert parse_period("1/7/2026", "30/09/2026", today).label == "01/07/2026 to 30/09/2026"
    with pytest.raises(ValueError, match="dd/mm/yyyy"):
        parse_period("2026-13-01", "30/09/2026", today)


def test_form_round_trip_keeps_comments_and_untouched_values() -> None:
    doc = forms.load_doc(YAML)
    form = forms.playlist_form(doc)
    assert [s.id for s in form.slides] == ["hola", "foto"]
    assert form.slides[1].duration == "15s"
    form.slides[0].title = "Hola a todos"
    out = forms.dump_doc(forms.apply_form(doc, form))
    assert "# Lobby: comments must survive a console save" in out
    assert "# the title" in out
    assert "duration: 15s  # longer" in out
    assert 'title: "Hola a todos"' in out or "title: Hola a todos" in out
    assert "tags: [lobby]" in out


def test_form_structural_actions_and_order() -> None:
    form = forms.playlist_form(forms.load_doc(YAML))
    form = forms.structural(form, "add:image")
    assert [s.kind for s in form.slides] == ["text", "image", "image"]
    form = forms.structural(form, "up:1")
    assert [s.id for s in form.slides][:2] == ["foto", "hola"]
    form = forms.structural(form, "dup:0")
    assert form.slides[1].id == "foto-copia" and form.slides[1].key == "dup1"
    form = forms.structural(form, "del:3")
    out = forms.dump_doc(forms.apply_form(forms.load_doc(YAML), form))
    doc = forms.load_doc(out)
    assert [s.get("id") for s in doc["slides"]] == ["foto", "foto-copia", "hola"]
    assert doc["slides"][1]["duration"] == "15s"  # the copy keeps the original's values


def test_posted_positions_decide_the_order() -> None:
    post = {
        "name": "L",
        "s0.kind": "text",
        "s0.key": "0",
        "s0.title": "A",
        "s0.pos": "1",
        "s1.kind": "text",
        "s1.key": "1",
        "s1.title": "B",
        "s1.pos": "0",
    }
    form = forms.form_from_post(post, lambda name: [])
    assert [s.title for s in form.slides] == ["B", "A"]


def test_a_problem_is_located_to_its_form_field(tmp_path: Path) -> None:
    root = tmp_path
    (root / "playlists").mkdir()
    text = YAML.replace("duration: 15s", "duration: quince").replace(
        "image: assets/a.png", "text: {title: x}"
    )
    (root / "playlists" / "l.yaml").write_text(text)
    _, problems = load_playlist_file(root / "playlists" / "l.yaml", root)
    errors = [p for p in problems if p.severity == "error"]
    assert errors
    where = forms.field_locations(text)
    assert forms.locate(where, errors[0].line, errors[0].col) == "s1.duration"


def test_dates_in_the_form_become_yaml_dates() -> None:
    form = forms.playlist_form(forms.load_doc(YAML))
    form.slides[0].date_from = "04/01/2027"
    form.slides[0].days = ("mon", "tue")
    out = forms.dump_doc(forms.apply_form(forms.load_doc(YAML), form))
    assert "from: 2027-01-04" in out
    assert "days: [mon, tue]" in out


def _png_bomb(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height; the data is a tiny zlib stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1000)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def test_uploads_are_checked_by_content(tmp_path: Path, language: Callable[[str], None]) -> None:
    language("es")  # the refusals' Spanish wording
    good = tmp_path / "foto.bin"
    Image.new("RGB", (64, 32), (200, 10, 10)).save(good, format="PNG")
    assert check_file(good).media == "png"
    liar = tmp_path / "virus.png"
    liar.write_bytes(b"MZ\x90\x00 this is not a picture")
    with pytest.raises(UploadRefused, match="no es una imagen"):
        check_file(liar)
    with pytest.raises(UploadRefused, match=r"megapíxeles|descomprimir"):
        check_file(_png_bomb(tmp_path / "bomba.png", 50_000, 50_000))
    truncated = tmp_path / "cortada.png"
    truncated.write_bytes(good.read_bytes()[:60])
    with pytest.raises(UploadRefused):
        check_file(truncated)


def test_stored_names_never_leave_assets(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "assets").mkdir(parents=True)
    received = root / "assets" / ".upload-1"
    Image.new("RGB", (8, 8)).save(received, format="JPEG")
    path, _ = store(root, received, "../../etc/<script>alert(1)</script>.png")
    assert path.startswith("assets/") and "/" not in path[len("assets/") :]
    assert path.endswith(".jpg")  # the extension of what the file is, not what it says
    assert (root / path).is_file()
    assert safe_stem("..\\..\\Año Nuevo!!.PNG") == "ano-nuevo"
    assert inside(root, "../x") is None
    assert inside(root, "assets/a.png") == (root / "assets" / "a.png").resolve()


def test_what_plays_now_says_why_a_slide_is_left_out(
    tmp_path: Path, language: Callable[[str], None]
) -> None:
    language("es")
    root = tmp_path
    (root / "playlists").mkdir()
    (root / "playlists" / "l.yaml").write_text(
        "name: Lobby\ntags: [lobby]\nslides:\n"
        "  - id: siempre\n    text: {title: A}\n"
        "  - id: webinar\n    text: {title: B}\n"
        "    schedule: {from: 2027-01-04, until: 2027-01-14}\n"
        "  - id: mananas\n    text: {title: C}\n    schedule: {hours: '07:00-12:00'}\n"
    )
    playlist, problems = load_playlist_file(root / "playlists" / "l.yaml", root)
    assert playlist is not None, problems
    moment = datetime(2027, 1, 20, 15, 0, tzinfo=ZoneInfo("America/Bogota"))
    report = explain((playlist,), "lobby", moment)
    assert [line.slide for line in report.playing] == ["siempre"]
    why = {line.slide: line.why for line in report.left_out}
    assert "terminó el 14/01/2027" in why["webinar"]
    assert "07:00-12:00" in why["mananas"]
    other = explain((playlist,), "sala", moment)
    assert not other.playing
    assert all("etiqueta lobby" in line.why for line in other.left_out)


def test_the_playlist_schedule_round_trips_and_locates_its_problems(tmp_path: Path) -> None:
    form = forms.playlist_form(forms.load_doc(YAML))
    form.date_from = "01/02/2027"
    form.date_until = "01/01/2027"  # before 'from': the validator refuses it
    form.days = ("mon", "tue", "wed", "thu", "fri")
    form.hours = "07:00-18:00"
    text = forms.dump_doc(forms.apply_form(forms.load_doc(YAML), form))
    assert "days: [mon, tue, wed, thu, fri]" in text and "hours: 07:00-18:00" in text
    again = forms.playlist_form(forms.load_doc(text))
    assert again.date_from == "01/02/2027" and again.days == form.days
    (tmp_path / "playlists").mkdir()
    (tmp_path / "playlists" / "l.yaml").write_text(text)
    _, problems = load_playlist_file(tmp_path / "playlists" / "l.yaml", tmp_path)
    until = next(p for p in problems if "'until'" in p.message)
    field = forms.locate(forms.field_locations(text), until.line, until.col)
    assert field == "p.until"
    assert "until" in until.message and "from" in until.message  # the validator's English
    assert text.index("schedule:") < text.index("slides:")
    cleared = forms.playlist_form(forms.load_doc(text))
    cleared.date_from = cleared.date_until = cleared.hours = ""
    cleared.days = ()
    assert "schedule" not in forms.dump_doc(forms.apply_form(forms.load_doc(text), cleared))


def test_the_preview_cache_keeps_the_newest(tmp_path: Path) -> None:
    import os

    from signage.console.previews import Previews

    previews = Previews(tmp_path)
    for i in range(5):
        png = tmp_path / f"{i}.png"
        png.write_bytes(b"x")
        os.utime(png, (1000 + i, 1000 + i))
    assert previews.prune(keep=2) == 3
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["3.png", "4.png"]


def test_focus_follows_the_slide_a_button_changed() -> None:
    form = forms.playlist_form(forms.load_doc(YAML))
    added = forms.structural(form, "add:text")
    assert forms.focus_after(added, "add:text") == "s2.title"
    assert forms.focus_after(forms.structural(form, "down:0"), "down:0") == "s1.up"
    assert forms.focus_after(forms.structural(added, "down:0"), "down:0") == "s1.down"
    assert forms.focus_after(forms.structural(form, "dup:0"), "dup:0") == "s1.id"
    assert forms.focus_after(form, "del:0") == ""


def test_a_preview_speaks_the_readers_language_not_the_workers_environment(
    tmp_path: Path,
) -> None:
    """The worker is a spawned process (English here: the suite sets SIGNAGE_LANGUAGE=en,
    as systemd's LANG=C would on a hub); a Spanish reader's preview still says "Texto:"."""
    import asyncio
    import io

    from signage.console.previews import Previews
    from signage.i18n import speaking

    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    playlist = root / "playlists" / "l.yaml"
    (root / "assets").mkdir()
    (root / "assets" / "rota.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    playlist.write_text(
        "name: l\nslides:\n  - id: bienvenida-larga\n    duration: 10s\n"
        "    image: assets/rota.png\n",
        encoding="utf-8",
    )
    previews = Previews(tmp_path / "cache")

    def label_width(language: str) -> int:
        with speaking(language):
            png = asyncio.run(previews.render(root, playlist, "bienvenida-larga"))
        image = Image.open(io.BytesIO(png)).convert("L")
        w, h = image.size
        band = image.crop(
            (round(w * 0.11), round(h * 0.61), round(w * 0.89), round(h * 0.67))
        )  # "(no preview: …)" inside the frame
        ink = band.point(lambda v: 255 if v > 90 else 0).getbbox()  # the muted grey text
        assert ink is not None, "no label drawn"
        return ink[2] - ink[0]

    try:
        spanish, english = label_width("es"), label_width("en")
    finally:
        previews.close()
    assert spanish > english + 20  # "(sin vista previa: …" is wider than "(no preview: …"
    assert {p.name.rsplit("-", 1)[1] for p in (tmp_path / "cache").glob("*.png")} == {
        "es.png",
        "en.png",
    }
