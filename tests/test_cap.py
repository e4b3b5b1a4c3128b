"""CAP 1.2 import (hardened parser, Alert/Update/Cancel, statuses, languages, expiry) and export."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import xmlschema

from signage.alerts.actions import apply_cap
from signage.alerts.cap import cap_alert_id, export_cap, parse_cap
from signage.alerts.select import next_change, visible
from signage.alerts.store import AlertStore
from signage.errors import AlertError
from signage.model import AlertStatus, AlertText, Screen, Severity
from tests.helpers_alerts import make_alert

DATA = Path(__file__).parent / "data" / "cap"
BOGOTA = ZoneInfo("America/Bogota")
NOW = datetime(2026, 11, 28, 14, 45, tzinfo=BOGOTA)
LOBBY = Screen(id="lobby-1", tags=frozenset({"lobby"}))
SENDER = "oai@alcaldia.example.gov.co"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture(scope="module")
def cap_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(DATA / "CAP-v1.2.xsd"))


def test_multilingual_alert_becomes_one_alert_with_a_text_per_language() -> None:
    message = parse_cap(sample("alerta-es-en.xml"), now=NOW)
    alert = message.alert
    assert alert is not None
    assert message.msg_type == "Alert"
    assert alert.id == cap_alert_id(SENDER, "OAI-2026-0042")
    assert alert.severity is Severity.SEVERE
    assert [t.language for t in alert.texts] == ["es-CO", "en-US"]
    assert alert.text_for("es-CO").headline == "Correo institucional fuera de servicio"
    assert alert.text_for("en").headline == "Institutional e-mail is down"
    assert alert.text_for("fr").headline == "Correo institucional fuera de servicio"  # first
    assert alert.tags == frozenset({"lobby", "atencion"})
    assert alert.status_url == "https://estado.example.gov.co/correo"
    assert alert.expires == datetime(2026, 11, 28, 18, 0, tzinfo=BOGOTA)
    assert "extensión 4455" in alert.texts[0].instruction


def test_expires_is_honoured_with_the_injected_clock() -> None:
    alert = parse_cap(sample("alerta-es-en.xml"), now=NOW).alert
    assert alert is not None
    assert visible([alert], LOBBY, NOW, exercise=False) == (alert,)
    after = datetime(2026, 11, 28, 18, 0, 1, tzinfo=BOGOTA)
    assert visible([alert], LOBBY, after, exercise=False) == ()
    with pytest.raises(AlertError, match="expired at 2026-11-28T18:00:00-05:00"):
        parse_cap(sample("alerta-es-en.xml"), now=after)


def test_missing_expires_gets_four_hours_from_sent() -> None:
    xml = sample("actualizacion.xml").replace(b"<expires>2026-11-28T18:00:00-05:00</expires>", b"")
    alert = parse_cap(xml, now=NOW).alert
    assert alert is not None
    assert alert.expires == datetime(2026, 11, 28, 19, 10, tzinfo=BOGOTA)


def test_update_replaces_and_cancel_clears_by_references(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    first = apply_cap(parse_cap(sample("alerta-es-en.xml"), now=NOW), store)
    assert first.action == "raised"
    update = apply_cap(parse_cap(sample("actualizacion.xml"), now=NOW), store)
    assert update.action == "updated"
    assert update.cleared == (first.raised,)
    active = store.active(NOW)
    assert [a.id for a in active] == [cap_alert_id(SENDER, "OAI-2026-0043")]
    assert active[0].severity is Severity.MODERATE
    cancel = apply_cap(parse_cap(sample("cancelacion.xml"), now=NOW), store)
    assert cancel.action == "cancelled"
    assert cancel.cleared == (cap_alert_id(SENDER, "OAI-2026-0043"),)
    assert store.active(NOW) == ()


def test_cancel_for_an_alert_we_never_had_is_refused(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    store.raise_alert(make_alert("otra"))
    message = parse_cap(sample("cancelacion-desconocida.xml"), now=NOW)
    with pytest.raises(AlertError, match=r"otro@example.org,OTRO-1, which was never raised"):
        apply_cap(message, store)
    assert [a.id for a in store.active(NOW)] == ["otra"]


@pytest.mark.parametrize("status", ["Test", "Draft", "System"])
def test_test_draft_and_system_messages_are_never_shown(tmp_path: Path, status: str) -> None:
    xml = sample("alerta-es-en.xml").replace(
        b"<status>Actual</status>", f"<status>{status}</status>".encode()
    )
    message = parse_cap(xml, now=NOW)
    assert message.alert is None
    assert status in message.ignored
    outcome = apply_cap(message, AlertStore(tmp_path))
    assert outcome.action == "ignored"
    assert AlertStore(tmp_path).all() == ()


def test_restricted_shows_on_internal_screens_only_and_private_never(
    cap_schema: xmlschema.XMLSchema,
) -> None:
    xml = sample("alerta-es-en.xml").replace(
        b"<scope>Public</scope>",
        "<scope>Restricted</scope><restriction>Funcionarios de la alcaldía</restriction>".encode(),
    )
    alert = parse_cap(xml, now=NOW).alert
    assert alert is not None
    assert alert.restriction == "Funcionarios de la alcaldía"
    office = Screen(id="oficina-1", tags=frozenset({"lobby"}), audience="internal")
    assert visible([alert], office, NOW, exercise=False) == (alert,)
    assert visible([alert], LOBBY, NOW, exercise=False) == ()  # public is the default
    exported = export_cap(alert)
    cap_schema.validate(exported)
    assert b"<scope>Restricted</scope>" in exported
    again = parse_cap(exported, now=NOW).alert
    assert again is not None and again.restriction == alert.restriction
    bare = sample("alerta-es-en.xml").replace(
        b"<scope>Public</scope>", b"<scope>Restricted</scope>"
    )
    unnamed = parse_cap(bare, now=NOW).alert
    assert unnamed is not None and unnamed.restriction == "Restricted"
    private = sample("alerta-es-en.xml").replace(
        b"<scope>Public</scope>", b"<scope>Private</scope>"
    )
    message = parse_cap(private, now=NOW)
    assert message.alert is None and "scope Private" in message.ignored


def test_effective_in_the_future_shows_when_due(
    tmp_path: Path, cap_schema: xmlschema.XMLSchema
) -> None:
    tomorrow = "2026-11-29T08:00:00-05:00"
    xml = (
        sample("alerta-es-en.xml")
        .replace(b"<expires>", f"<effective>{tomorrow}</effective><expires>".encode())
        .replace(b"2026-11-28T18:00:00-05:00", b"2026-11-29T18:00:00-05:00")
    )
    alert = parse_cap(xml, now=NOW).alert
    assert alert is not None
    assert alert.onset == datetime(2026, 11, 29, 8, 0, tzinfo=BOGOTA)
    assert visible([alert], LOBBY, NOW, exercise=False) == ()  # stored, not yet shown
    due = datetime(2026, 11, 29, 8, 0, tzinfo=BOGOTA)
    assert next_change([alert], NOW) == due  # the player re-decides then
    assert visible([alert], LOBBY, due, exercise=False) == (alert,)
    store = AlertStore(tmp_path)
    assert apply_cap(parse_cap(xml, now=NOW), store).action == "raised"
    assert store.active(NOW)[0].onset == alert.onset  # kept through the store's JSON
    cap_schema.validate(export_cap(alert))
    # onset after effective: the later one counts; starting after expiry is refused.
    both = xml.replace(b"<expires>", b"<onset>2026-11-29T09:30:00-05:00</onset><expires>")
    later = parse_cap(both, now=NOW).alert
    assert later is not None and later.onset == datetime(2026, 11, 29, 9, 30, tzinfo=BOGOTA)
    never = xml.replace(tomorrow.encode(), b"2026-11-30T08:00:00-05:00")
    with pytest.raises(AlertError, match="nothing would ever show"):
        parse_cap(never, now=NOW)


def test_exercise_shows_only_on_exercise_screens() -> None:
    xml = sample("alerta-es-en.xml").replace(
        b"<status>Actual</status>", b"<status>Exercise</status>"
    )
    alert = parse_cap(xml, now=NOW).alert
    assert alert is not None
    assert alert.status is AlertStatus.EXERCISE
    assert visible([alert], LOBBY, NOW, exercise=False) == ()
    assert visible([alert], LOBBY, NOW, exercise=True) == (alert,)


@pytest.mark.parametrize("name", ["billion-laughs.xml", "xxe.xml"])
def test_entity_expansion_and_external_entities_are_refused(name: str) -> None:
    with pytest.raises(AlertError, match="declares a DTD or entities"):
        parse_cap(sample(name), now=NOW)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b"<severity>Severe</severity>",
            b"<severity>Terrible</severity>",
            "<severity> is 'Terrible'",
        ),
        (b"<msgType>Alert</msgType>", b"", "<msgType> is required"),
        (b"<sent>2026-11-28T14:41:00-05:00</sent>", b"<sent>ayer</sent>", "not a CAP time"),
        (
            b"<sent>2026-11-28T14:41:00-05:00</sent>",
            b"<sent>2026-11-28T14:41:00</sent>",
            "needs a UTC offset",
        ),
        (
            b"<identifier>OAI-2026-0042</identifier>",
            b"<identifier>OAI 42</identifier>",
            "may not hold spaces",
        ),
        (
            b"urn:oasis:names:tc:emergency:cap:1.2",
            b"urn:oasis:names:tc:emergency:cap:1.1",
            "expected <alert> in the CAP 1.2 namespace",
        ),
        (b"</alert>", b"", "not well-formed XML"),
    ],
)
def test_invalid_messages_are_refused_with_the_reason(old: bytes, new: bytes, message: str) -> None:
    xml = sample("alerta-es-en.xml").replace(old, new)
    with pytest.raises(AlertError, match=message):
        parse_cap(xml, now=NOW)


def test_alert_without_info_is_refused() -> None:
    xml = sample("cancelacion.xml").replace(
        b"<msgType>Cancel</msgType>", b"<msgType>Alert</msgType>"
    )
    with pytest.raises(AlertError, match="no <info> block"):
        parse_cap(xml, now=NOW)


def test_export_validates_against_the_oasis_schema_and_round_trips(cap_schema) -> None:
    alert = make_alert(
        "a-20261128-1441",
        severity=Severity.EXTREME,
        tags=frozenset({"lobby"}),
        status_url="https://estado.example.gov.co",
        status=AlertStatus.EXERCISE,
        texts=(
            AlertText(
                "es-CO",
                "Campaña de phishing en curso",
                "No abra adjuntos & enlaces",
                "Llame a la 4455",
            ),
            AlertText("en-US", "Phishing campaign under way"),
        ),
    )
    xml = export_cap(alert, category="Security")
    cap_schema.validate(xml.decode("utf-8"))
    again = parse_cap(xml, now=alert.sent + timedelta(minutes=1)).alert
    assert again is not None
    assert again.texts == alert.texts
    assert (again.severity, again.status, again.tags) == (alert.severity, alert.status, alert.tags)
    assert again.expires == alert.expires
    assert again.status_url == alert.status_url


def test_export_of_a_utc_alert_uses_the_cap_offset_form(cap_schema) -> None:
    xml = export_cap(make_alert())
    cap_schema.validate(xml.decode("utf-8"))
    assert b"<sent>2026-11-28T19:41:00-00:00</sent>" in xml


def test_a_schema_invalid_document_is_caught_by_the_schema(cap_schema) -> None:
    # guards the guard: the XSD really rejects a message missing <scope>
    xml = export_cap(make_alert()).replace(b"<scope>Public</scope>", b"")
    assert not cap_schema.is_valid(xml.decode("utf-8"))
