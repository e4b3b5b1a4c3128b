"""The bundled alert templates read correctly in English too, whatever the value.

Values are written once, in Spanish, with their article ("el correo institucional"), so an
English text that opened with one read "El correo institucional is not available". In the
English texts each value now sits where an article does not matter (after a colon, in
quotes or brackets), and a value may be given per language (``sistema.en``). Each template
is rendered in both languages and compared word for word with what was read aloud.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signage.alerts.raising import RaiseRequest
from signage.alerts.templates import load_templates, render
from signage.errors import AlertError

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
DESK = "mesadeayuda@cartagena.gov.co, ext. 4444"

# template -> {language: (headline, description, instruction)}, rendered with the examples
READ_ALOUD = {
    "ciberataque-phishing": {
        "es": (
            "Alerta de seguridad: correos fraudulentos en circulación",
            "Circulan correos con el asunto «Actualiza tu contraseña de nómina». No abras sus "
            "enlaces ni sus adjuntos, y nunca entregues tus contraseñas.",
            f"Si lo recibiste, no respondas. Repórtalo a la mesa de ayuda ({DESK}) y luego "
            "bórralo.",
        ),
        "en": (
            "Security alert: phishing e-mails in circulation",
            'E-mails with the subject "Actualiza tu contraseña de nómina" are circulating. Do '
            "not open their links or attachments, and never give out your passwords.",
            f"If you received one, do not reply. Report it to the help desk ({DESK}) and then "
            "delete it.",
        ),
    },
    "falla-sistema-critico": {
        "es": (
            "Falla crítica: el sistema de radicación",
            "Por una falla en el sistema de radicación, no se pueden radicar documentos ni "
            "asignar citas.",
            "Informa a la ciudadanía y toma sus datos para contactarla. Reporta novedades a la "
            f"mesa de ayuda: {DESK}.",
        ),
        "en": (
            "Critical failure: el sistema de radicación",
            "A critical system has failed and service to citizens is affected. Impact: no se "
            "pueden radicar documentos ni asignar citas.",
            "Tell citizens and take their details to contact them. Report any updates to the "
            f"help desk: {DESK}.",
        ),
    },
    "interrupcion-servicio": {
        "es": (
            "El correo institucional no está disponible",
            "Estamos trabajando para restablecer el servicio. Hora estimada de retorno: 16:00.",
            f"Si necesitas ayuda, escribe a la mesa de ayuda: {DESK}.",
        ),
        "en": (
            "Service unavailable: el correo institucional",
            "We are working to restore the service. Expected return time: 16:00.",
            f"If you need help, write to the help desk: {DESK}.",
        ),
    },
    "mantenimiento-programado": {
        "es": (
            "Mantenimiento programado: la intranet",
            "La intranet no estará disponible el sábado 5 de diciembre, de 18:00 a 22:00.",
            "Guarda tu trabajo y planea tus trámites antes de esa hora.",
        ),
        "en": (
            "Scheduled maintenance: la intranet",
            "The service will be unavailable during the maintenance window. Date: sábado 5 de "
            "diciembre. Start: 18:00. Expected end: 22:00.",
            "Save your work and plan your tasks ahead of that time.",
        ),
    },
    "servicio-restablecido": {
        "es": (
            "El correo institucional funciona de nuevo",
            "El servicio ya está restablecido. Gracias por tu paciencia.",
            f"Si algo sigue fallando, escribe a la mesa de ayuda: {DESK}.",
        ),
        "en": (
            "Service restored: el correo institucional",
            "The service has been restored. Thank you for your patience.",
            f"If something still fails, write to the help desk: {DESK}.",
        ),
    },
}


def _templates():
    return load_templates(REPO / "playlists" / "alerts")


def _texts(alert) -> dict[str, tuple[str, str, str]]:
    return {t.language: (t.headline, t.description, t.instruction) for t in alert.texts}


@pytest.mark.parametrize("template_id", sorted(READ_ALOUD))
def test_each_template_in_both_languages_word_for_word(template_id: str) -> None:
    template = _templates().get(template_id)
    values = {v.name: v.example for v in template.variables if v.required}
    alert = render(template, values, now=NOW, expires=timedelta(hours=1))
    assert _texts(alert) == READ_ALOUD[template_id]


def test_english_texts_put_every_value_where_an_article_does_not_matter() -> None:
    """After ': ', or inside quotes or brackets: never as the subject of an English sentence
    (where 'el correo institucional' would have to be 'the institutional e-mail')."""
    templates = _templates().templates
    assert len(templates) == 5
    for template in templates.values():
        english = next(b for b in template.texts if b.language == "en")
        for part in (english.headline, english.description, english.instruction):
            for literal, name, _spec, _conv in string.Formatter().parse(part):
                if name is None:
                    continue
                assert literal.endswith((": ", '"', "(")), (template.id, name, part)


@pytest.mark.parametrize("value", ["el correo institucional", "la intranet", "SIGA", "los pagos"])
def test_interruption_reads_in_english_whatever_the_value(value: str) -> None:
    template = _templates().get("interrupcion-servicio")
    alert = render(template, {"sistema": value, "hora_retorno": "por confirmar"}, now=NOW)
    texts = _texts(alert)
    assert texts["en"][0] == f"Service unavailable: {value}"
    assert texts["en"][1] == (
        "We are working to restore the service. Expected return time: por confirmar."
    )
    assert texts["es"][0] == value[:1].upper() + value[1:] + " no está disponible"


def test_a_value_per_language() -> None:
    template = _templates().get("interrupcion-servicio")
    alert = render(
        template,
        {
            "sistema": "el correo institucional",
            "sistema.en": "institutional e-mail",
            "hora_retorno": "16:00",
            "hora_retorno.en": "4 pm",
        },
        now=NOW,
    )
    texts = _texts(alert)
    assert texts["es"][:2] == (
        "El correo institucional no está disponible",
        "Estamos trabajando para restablecer el servicio. Hora estimada de retorno: 16:00.",
    )
    assert texts["en"][:2] == (
        "Service unavailable: institutional e-mail",
        "We are working to restore the service. Expected return time: 4 pm.",
    )
    # the same through a raise request (the hub's POST /api/v1/alerts, the CLI's --set)
    request = RaiseRequest.from_json(
        {
            "template": "interrupcion-servicio",
            "variables": {
                "sistema": "la intranet",
                "sistema.en": "the intranet",
                "hora_retorno": "16:00",
            },
        }
    )
    raised = _texts(request.build(_templates(), NOW))
    assert raised["es"][0] == "La intranet no está disponible"
    assert raised["en"][0] == "Service unavailable: the intranet"


def test_per_language_values_are_checked() -> None:
    template = _templates().get("interrupcion-servicio")
    base = {"sistema": "la intranet", "hora_retorno": "16:00"}
    with pytest.raises(AlertError) as unknown:
        render(template, {**base, "sistema.fr": "l'intranet"}, now=NOW)
    assert str(unknown.value).startswith(
        "template 'interrupcion-servicio' has no variable 'sistema.fr'"
    )
    with pytest.raises(AlertError) as empty:
        render(template, {**base, "sistema.en": "  "}, now=NOW)
    assert str(empty.value) == ("variable 'sistema.en' is empty; give it a value or leave it out")
    with pytest.raises(AlertError) as alone:
        render(template, {"sistema.en": "the intranet", "hora_retorno": "16:00"}, now=NOW)
    assert "needs 'sistema'" in str(alone.value)


def test_spanish_messages_for_per_language_values(language) -> None:
    language("es")
    template = _templates().get("interrupcion-servicio")
    with pytest.raises(AlertError) as empty:
        render(template, {"sistema": "x", "hora_retorno": "1", "sistema.en": ""}, now=NOW)
    assert str(empty.value) == ("la variable 'sistema.en' está vacía; dale un valor o no la pongas")
