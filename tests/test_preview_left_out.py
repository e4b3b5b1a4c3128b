"""signage preview says which slides the schedule leaves out, and why; --all renders them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from signage.commands.preview import inactive_reason, left_out
from signage.model import HourWindow, Schedule, Weekday
from signage.playlist import load_playlist_file
from tests.test_preview import make_root, preview

SAT_8PM = datetime(2026, 12, 5, 20, 0)  # a Saturday


def test_each_reason_in_plain_words() -> None:
    assert inactive_reason(None, SAT_8PM) is None
    assert inactive_reason(Schedule(start=date(2027, 1, 4)), SAT_8PM) == "starts on 2027-01-04"
    assert inactive_reason(Schedule(until=date(2026, 11, 30)), SAT_8PM) == "ended on 2026-11-30"
    weekdays = frozenset(Weekday(i) for i in range(5))
    assert inactive_reason(Schedule(days=weekdays), SAT_8PM) == (
        "plays only on mon tue wed thu fri; that moment is a sat"
    )
    office = Schedule(hours=(HourWindow(7 * 60, 18 * 60),))
    assert inactive_reason(office, SAT_8PM) == "plays only 07:00-18:00; that moment is 20:00"
    assert inactive_reason(office, SAT_8PM.replace(hour=9)) is None


def test_spanish_reasons(language: Callable[[str], None]) -> None:
    language("es")
    assert inactive_reason(Schedule(start=date(2027, 1, 4)), SAT_8PM) == "empieza el 2027-01-04"
    office = Schedule(hours=(HourWindow(7 * 60, 18 * 60),))
    assert inactive_reason(office, SAT_8PM) == ("se muestra solo 07:00-18:00; ese momento es 20:00")


def test_the_bundled_lobby_names_what_a_saturday_night_leaves_out() -> None:
    repo = Path(__file__).resolve().parents[1]
    lobby, problems = load_playlist_file(repo / "playlists" / "lobby.yaml", repo)
    assert lobby is not None, problems
    skipped = dict(left_out(lobby, SAT_8PM))
    assert skipped, "the lobby has slides scheduled for working days"
    assert all("mon tue wed thu fri" in r or "07:00" in r for r in skipped.values()), skipped


@pytest.mark.qt
def test_preview_lists_the_left_out_and_all_renders_them(tmp_path: Path) -> None:
    root = make_root(tmp_path, video=False)
    out = tmp_path / "out"
    args = ("--root", str(root), "vista", "--at", "2026-12-01T09:00", "--size", "640x360")
    done = preview(*args, "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        "not active at 2026-12-01 09:00: slide 'enero': starts on 2027-01-04 (--all renders it)"
        in done.stdout.splitlines()
    )
    assert not list(out.glob("*enero*"))
    every = tmp_path / "every"
    done = preview(*args, "--all", "--out", str(every), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        "rendered although not active at 2026-12-01 09:00: slide 'enero': starts on 2027-01-04"
        in done.stdout.splitlines()
    )
    assert sorted(p.name for p in every.glob("0*.png")) == [
        "01-vista-rojo.png", "02-vista-enero.png", "03-vista-aviso.png",
    ]  # fmt: skip
