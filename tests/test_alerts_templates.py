"""Alert templates: the bundled ones validate and render; each kind of mistake is named."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from signage.alerts.templates import (
    bundled_templates_dir,
    load_template_file,
    load_templates,
    render_template,
    template_schema,
)
from signage.errors import AlertError
from signage.model import AlertStatus, Severity

NOW = datetime(2026, 11, 28, 14, 41, 21, 500000, tzinfo=ZoneInfo("America/Bogota"))
EXPECTED = {
    "interrupcion-servicio",
    "ciberataque-phishing",
    "falla-sistema-critico",
    "mantenimiento-programado",
    "servicio-restablecido",
}


def test_bundled_templates_are_valid_and_bilingual() -> None:
    templates = load_templates()
    assert templates.ok, [str(p) for p in templates.problems]
    assert set(templates.templates) == EXPECTED
    for template in templates.templates.values():
        assert [t.language for t in template.texts] == ["es", "en"]
        assert template.variables, template.id


def test_render_fills_variables_in_every_language() -> None:
    alert = render_template(
        "interrupcion-servicio",
        {"sistema": "Correo institucional", "hora_retorno": "16:00"},
        now=NOW,
    )
    assert alert.severity is Severity.SEVERE
    assert alert.texts[0].headline == "Correo institucional no está disponible"
    assert "16:00" in alert.texts[0].description
    assert "ext. 4444" in alert.texts[1].instruction  # canal_soporte: the settings' help desk
    assert alert.sent == NOW.replace(microsecond=0)
    assert alert.expires == alert.sent + timedelta(hours=4)  # the template's lifetime
    assert alert.template == "interrupcion-servicio"
    assert alert.id.startswith("interrupcion-servicio-20261128-144121-")
    assert alert.tags is None
    assert alert.status is AlertStatus.ACTUAL


def test_overrides_severity_expiry_tags_and_exercise() -> None:
    alert = render_template(
        "servicio-restablecido",
        {"sistema": "SIGEP"},
        now=NOW,
        severity=Severity.MODERATE,
        expires=timedelta(minutes=30),
        tags=["lobby", "sala-capacitacion"],
        exercise=True,
    )
    assert alert.severity is Severity.MODERATE
    assert alert.expires - alert.sent == timedelta(minutes=30)
    assert alert.tags == frozenset({"lobby", "sala-capacitacion"})
    assert alert.status is AlertStatus.EXERCISE


def test_unknown_template_suggests_the_closest() -> None:
    with pytest.raises(
        AlertError,
        match=r"unknown template 'interrupcion-servicios'.*did you mean 'interrupcion-servicio'",
    ):
        render_template("interrupcion-servicios", {}, now=NOW)


def test_missing_variable_is_named_with_what_the_template_takes() -> None:
    with pytest.raises(AlertError) as info:
        render_template("interrupcion-servicio", {"sistema": "Correo"}, now=NOW)
    message = str(info.value)
    assert "needs 'hora_retorno'" in message
    assert "it takes: sistema, hora_retorno, canal_soporte (optional)" in message
    assert "--set hora_retorno='16:00'" in message


def test_unknown_variable_is_refused_with_a_hint() -> None:
    with pytest.raises(AlertError, match=r"no variable 'sistem' \(did you mean 'sistema'\?\)"):
        render_template("servicio-restablecido", {"sistema": "x", "sistem": "y"}, now=NOW)


def test_empty_variable_is_refused() -> None:
    with pytest.raises(AlertError, match="'sistema' is empty"):
        render_template("servicio-restablecido", {"sistema": "  "}, now=NOW)


@pytest.mark.parametrize("expires", [NOW - timedelta(minutes=1), NOW, timedelta(0)])
def test_expiry_in_the_past_is_refused(expires) -> None:
    with pytest.raises(AlertError, match=r"in the past|not in the future"):
        render_template("servicio-restablecido", {"sistema": "x"}, now=NOW, expires=expires)


def write(tmp_path: Path, text: str, name: str = "mala.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_template_errors_are_located_like_playlists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: Mala\n"
        "severity: Severere\n"
        "lifetme: 2h\n"
        "variables:\n"
        "  sistema: {description: El sistema}\n"
        "texts:\n"
        "  es:\n"
        '    headline: "{sistem} caído"\n'
        '    instruction: "{sistema.__class__}"\n',
    )
    template, problems = load_template_file(path, "playlists/alerts/mala.yaml")
    assert template is None
    lines = [str(p) for p in problems]
    assert (
        "playlists/alerts/mala.yaml:2:11: 'Severere' is not one of Extreme, Severe, Moderate,"
        " Minor (did you mean 'Severe'?)" in lines
    )
    assert any(
        line.startswith("playlists/alerts/mala.yaml:3:1: unknown key 'lifetme'")
        and "did you mean 'lifetime'" in line
        for line in lines
    )
    assert any(
        line.startswith("playlists/alerts/mala.yaml:8:15: '{sistem}' is not declared")
        and "did you mean '{sistema}'" in line
        for line in lines
    )
    assert any(
        line.startswith("playlists/alerts/mala.yaml:9:18:") and "is not a variable" in line
        for line in lines
    )


def test_yaml_syntax_and_missing_keys(tmp_path: Path) -> None:
    _, problems = load_template_file(write(tmp_path, "name: [sin cerrar\n"), "x.yaml")
    assert problems and problems[0].line >= 1
    _, problems = load_template_file(
        write(tmp_path, "name: Sin textos\nseverity: Minor\n"), "y.yaml"
    )
    assert [p.message for p in problems] == [
        "an alert template is missing the required key 'texts'"
    ]


def test_a_broken_template_is_reported_when_used(tmp_path: Path) -> None:
    write(tmp_path, "name: Rota\nseverity: Minor\ntexts: {es: {headline: '{x}'}}\n", "rota.yaml")
    (tmp_path / "alertmanager.yaml").write_text("not: a template\n", encoding="utf-8")
    templates = load_templates(tmp_path)
    assert not templates.ok
    assert list(templates.templates) == []
    with pytest.raises(
        AlertError, match=r"template 'rota' has errors; fix them first:\n.*rota.yaml:3:"
    ):
        templates.get("rota")


def test_unused_variable_is_only_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: Ok\nseverity: minor\nvariables: {sobra: {}}\ntexts: {es: {headline: Hola}}\n",
    )
    template, problems = load_template_file(path)
    assert template is not None
    assert [p.severity for p in problems] == ["warning"]


def test_schema_lists_the_template_keys() -> None:
    schema: dict[str, Any] = template_schema()
    assert schema["required"] == ["name", "severity", "texts"]
    assert set(schema["properties"]) >= {"variables", "lifetime", "status_url", "tags"}
    assert bundled_templates_dir().is_dir()


def test_status_url_filled_from_variables_must_be_https(tmp_path: Path) -> None:
    write(
        tmp_path,
        "name: Con QR\nseverity: Minor\nstatus_url: '{sitio}/estado'\n"
        "variables: {sitio: {}}\ntexts: {es: {headline: Estado}}\n",
        "con-qr.yaml",
    )
    good = render_template(
        "con-qr", {"sitio": "https://estado.example.gov.co"}, now=NOW, folder=tmp_path
    )
    assert good.status_url == "https://estado.example.gov.co/estado"
    with pytest.raises(AlertError, match=r"status page .* only https:// URLs"):
        render_template("con-qr", {"sitio": "http://estado"}, now=NOW, folder=tmp_path)
