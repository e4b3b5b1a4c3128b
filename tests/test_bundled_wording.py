"""The bundled content as it goes on a wall: real contacts, one register (tú), whole sentences."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from signage.alerts.templates import apply_settings, load_template_file, load_templates, render
from signage.model import Contacts, Settings
from signage.playlist import load_settings

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
# usted forms the templates used to have; the product speaks tú (docs/authoring.md)
USTED = re.compile(
    r"\b(comuníquese|contacte|guarde|atienda|repórtelo|abra|entregue|presenta|le informaremos"
    r"|su paciencia|su trabajo|sus trámites|actualice)\b",
    re.IGNORECASE,
)


def _bundled_texts() -> list[Path]:
    return sorted((REPO / "playlists").rglob("*.yaml"))


def test_no_bundled_template_or_slide_has_a_placeholder_domain() -> None:
    files = _bundled_texts()
    assert len(files) >= 10
    for path in files:
        text = path.read_text("utf-8")
        assert "example." not in text, f"{path.relative_to(REPO)} has a placeholder domain"
        assert "4455" not in text, f"{path.relative_to(REPO)}: the help desk is ext. 4444"


def test_every_template_renders_whole_sentences_with_the_settings_contacts() -> None:
    settings, problems = load_settings(REPO)
    assert problems == []
    templates = load_templates(REPO / "playlists" / "alerts").templates
    assert len(templates) == 5
    for template in templates.values():
        values = {v.name: v.example for v in template.variables if v.required}
        alert = render(template, values, now=NOW, expires=timedelta(hours=1))
        assert alert.status_url == settings.contacts.status_page, template.id
        assert alert.sender == "oai@cartagena.gov.co"
        for text in alert.texts:
            for part in (text.headline, text.description, text.instruction):
                if not part:
                    continue
                assert part[0].isupper(), (template.id, part)
                assert "{" not in part and "}" not in part, (template.id, part)
            if text.language == "es":
                words = " ".join((text.headline, text.description, text.instruction))
                assert not USTED.search(words), (template.id, USTED.findall(words))
        if "canal_soporte" in template.variable_names():
            es = next(t for t in alert.texts if t.language == "es")
            assert "mesadeayuda@cartagena.gov.co, ext. 4444" in es.instruction, template.id


def test_the_article_the_issue_asked_for() -> None:
    template = load_templates(REPO / "playlists" / "alerts").get("interrupcion-servicio")
    alert = render(
        template,
        {"sistema": "el correo institucional", "hora_retorno": "16:00"},
        now=NOW,
    )
    es = next(t for t in alert.texts if t.language == "es")
    assert es.headline == "El correo institucional no está disponible"
    assert es.instruction == (
        "Si necesitas ayuda, escribe a la mesa de ayuda: mesadeayuda@cartagena.gov.co, ext. 4444."
    )


def test_a_default_naming_a_missing_contact_makes_the_variable_required() -> None:
    template, problems = load_template_file(
        REPO / "playlists" / "alerts" / "interrupcion-servicio.yaml"
    )
    assert template is not None, problems
    bare = apply_settings(template, Settings(contacts=Contacts(help_desk_email="a@b.co")))
    assert "canal_soporte" in [v.name for v in bare.variables if v.required]


def test_templates_copied_into_a_root_without_settings_keep_the_bundled_contacts(
    tmp_path: Path,
) -> None:
    import shutil

    folder = tmp_path / "playlists" / "alerts"
    shutil.copytree(REPO / "playlists" / "alerts", folder)
    template = load_templates(folder).get("interrupcion-servicio")
    alert = render(template, {"sistema": "la intranet", "hora_retorno": "16:00"}, now=NOW)
    assert "mesadeayuda@cartagena.gov.co, ext. 4444" in alert.texts[0].instruction
    # a root with settings of its own that lack the help desk: the value must be given
    (tmp_path / "playlists" / "settings.yaml").write_text("language: es\n", encoding="utf-8")
    bare = load_templates(folder).get("interrupcion-servicio")
    assert "canal_soporte" in [v.name for v in bare.variables if v.required]
