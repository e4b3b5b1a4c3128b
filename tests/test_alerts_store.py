"""The alert store, the JSON codec and the pure selection rules."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from signage.alerts.codec import alert_from_json, alert_to_json
from signage.alerts.select import next_expiry, top_group, visible
from signage.alerts.store import AlertStore
from signage.errors import AlertError
from signage.model import AlertStatus, AlertText, Screen, Severity
from tests.helpers_alerts import NOW, make_alert

LOBBY = Screen(id="lobby-1", tags=frozenset({"lobby"}))


def test_codec_round_trip_keeps_every_field() -> None:
    alert = make_alert(
        tags=frozenset({"lobby", "piso-1"}),
        status_url="https://estado.example.gov.co",
        status=AlertStatus.EXERCISE,
        texts=(AlertText("es", "Titular", "Desc", "Instr"), AlertText("en", "Headline")),
    )
    again = alert_from_json(json.loads(json.dumps(alert_to_json(alert))))
    assert again == alert


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "Huge"}, r"alerts\[0\]\.severity: 'Huge' is not one of Extreme"),
        ({"texts": []}, r"alerts\[0\]\.texts: an alert needs at least one text"),
        ({"sent": "2026-11-28T10:00:00"}, r"alerts\[0\]\.sent: .* has no UTC offset"),
        ({"expires": "2026-11-28T00:00:00+00:00"}, "'expires' must be after 'sent'"),
        ({"tags": "lobby"}, r"alerts\[0\]\.tags"),
    ],
)
def test_codec_refuses_bad_fields_by_name(change: dict[str, object], message: str) -> None:
    data = {**alert_to_json(make_alert()), **change}
    with pytest.raises(AlertError, match=message):
        alert_from_json(data, where="feed.json: alerts[0]")


def test_store_raise_clear_and_expiry(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts")
    assert store.active(NOW) == ()
    short = make_alert("corto", lifetime=timedelta(minutes=5))
    long = make_alert("largo")
    store.raise_alert(short)
    store.raise_alert(long)
    assert [a.id for a in store.active(NOW)] == ["corto", "largo"]
    assert [a.id for a in store.active(NOW + timedelta(minutes=6))] == ["largo"]
    assert not list((tmp_path / "alerts").glob(".*.tmp"))  # no temp file left behind
    assert store.clear("largo") is True
    assert store.clear("largo") is False
    assert store.prune(NOW + timedelta(minutes=6)) == 1
    assert store.all() == ()


def test_store_clear_all_and_corrupt_file_skipped(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    store.raise_alert(make_alert("uno"))
    (tmp_path / "roto.json").write_text("{not json", encoding="utf-8")
    assert [a.id for a in store.active(NOW)] == ["uno"]
    assert store.clear_all() == 2


def test_store_refuses_ids_that_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(AlertError, match="not valid"):
        AlertStore(tmp_path).raise_alert(make_alert("../fuera"))


def test_visible_filters_tags_status_and_expiry_and_orders() -> None:
    minor_new = make_alert("m", severity=Severity.MINOR, sent=NOW)
    severe_old = make_alert("s-old", sent=NOW - timedelta(hours=1))
    severe_new = make_alert("s-new", sent=NOW - timedelta(minutes=1))
    extreme_other = make_alert("x", severity=Severity.EXTREME, tags=frozenset({"sala"}))
    exercise = make_alert("e", severity=Severity.EXTREME, status=AlertStatus.EXERCISE)
    test = make_alert("t", severity=Severity.EXTREME, status=AlertStatus.TEST)
    expired = make_alert("old", sent=NOW - timedelta(hours=5))
    alerts = [minor_new, severe_old, severe_new, extreme_other, exercise, test, expired]
    shown = visible(alerts, LOBBY, NOW, exercise=False)
    assert [a.id for a in shown] == ["s-new", "s-old", "m"]
    assert [a.id for a in top_group(shown)] == ["s-new", "s-old"]
    on_drill = visible(alerts, LOBBY, NOW, exercise=True)
    assert [a.id for a in on_drill] == ["e", "s-new", "s-old", "m"]
    in_room = visible(alerts, Screen(id="sala", tags=frozenset({"sala"})), NOW, exercise=False)
    assert in_room[0].id == "x"


def test_next_expiry_is_the_earliest_future_one() -> None:
    a = make_alert("a", lifetime=timedelta(minutes=30))
    b = make_alert("b", lifetime=timedelta(minutes=10))
    assert next_expiry([a, b], NOW) == NOW + timedelta(minutes=10)
    assert next_expiry([a, b], NOW + timedelta(minutes=10)) == NOW + timedelta(minutes=30)
    assert next_expiry([a, b], NOW + timedelta(hours=1)) is None


def test_an_alert_file_linked_from_outside_the_folder_is_skipped(tmp_path: Path) -> None:
    folder, outside = tmp_path / "alerts", tmp_path / "fuera"
    store = AlertStore(folder)
    store.raise_alert(make_alert("propia"))
    AlertStore(outside).raise_alert(make_alert("ajena"))
    (folder / "ajena.json").symlink_to(outside / "ajena.json")  # a valid alert, elsewhere
    (folder / "otra.json").symlink_to(folder / "propia.json")  # a link inside: fine
    assert sorted(a.id for a in store.all()) == ["propia", "propia"]
