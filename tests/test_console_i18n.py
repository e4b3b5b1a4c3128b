"""The console speaks through the catalogs: no template text outside ``_()``/``{% trans %}``,
every template message translated, the language choice, and the scripts' words from the page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import nodes

from signage.console import language as console_language

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "signage" / "console" / "templates"
LOCALE = REPO / "signage" / "locale"
# attributes people read (or hear: screen readers; data-label heads a table cell on phones)
SHOWN_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "label", "data-label"}
# words that are the same in every language: units and symbols
UNITS = {"MiB", "GiB", "KB", "MB", "s"}
GETTEXT = {"_", "gettext", "ngettext"}
# code strings of the templates that are not texts (diff parsing, separators)
CODE_STRINGS = {"diff --git", "index ", " b/", "<code>exercise: true</code>"}  # + a config line
SENTENCE = re.compile(r"[^\W\d_]{2,}[^\w]*\s[^\w]*[^\W\d_]{2,}")  # two words
NON_ASCII_LETTER = re.compile(r"[^\x00-\x7f]")
HOLE = "\x00"  # where an expression's output goes


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        extensions=["jinja2.ext.i18n"], autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.policies["ext.i18n.trimmed"] = True
    return env


class _Texts(HTMLParser):
    """Collects the text nodes and the people-facing attribute values of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.found.append(data)


ATTRIBUTE_MARKUP = re.compile(r'^\s*[\w-]+="')  # a macro that writes attributes, not text
AMOUNT = re.compile(r"^\d+[a-z]{1,3}$")  # 10s, 2h: a duration as typed, the same everywhere


def _is_text(piece: str) -> bool:
    if ATTRIBUTE_MARKUP.match(piece):
        return False
    words = [w.strip(".,;:()·—") for w in piece.replace(HOLE, " ").split()]
    return any(
        any(c.isalpha() for c in w) and w not in UNITS and not AMOUNT.match(w) and "://" not in w
        for w in words
    )


def untranslated(source: str, name: str = "template") -> list[str]:
    """Texts of a Jinja2 template people would read that do not go through the catalogs:
    literal text (and shown attributes) outside ``_()``/``{% trans %}``, and string
    constants that look like sentences or carry accented letters outside ``_()``."""
    tree = _environment().parse(source, name=name)
    pieces: list[str] = []

    def walk(node: nodes.Node) -> Iterator[nodes.Node]:
        yield node
        for child in node.iter_child_nodes():
            yield from walk(child)

    for node in walk(tree):
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                pieces.append(child.data if isinstance(child, nodes.TemplateData) else HOLE)
    parser = _Texts()
    parser.feed("".join(pieces))
    parser.close()
    flagged = [t.strip() for t in parser.found if _is_text(t)]
    translated: set[int] = set()
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in GETTEXT:
            translated.update(id(a) for a in call.args)
    for const in tree.find_all(nodes.Const):
        value = const.value
        if not isinstance(value, str) or id(const) in translated or value in CODE_STRINGS:
            continue
        if SENTENCE.search(value) or NON_ASCII_LETTER.search(value.replace("—", "")):
            flagged.append(value)
    return flagged


def test_the_checker_finds_texts_outside_the_catalogs() -> None:
    """The checker itself: texts written the way the console was before the catalogs."""
    before = (
        '{% block main %}<h1>Listas</h1><p class="muted">{{ n }} MiB</p>'
        '<img alt="Vista previa" src="x.png"><td data-label="Quién">{{ who }}</td>'
        "{{ 'SIMULACRO — ejercicio' if x else 'REAL' }}"
        "{% for v, l in [('fade', 'fundido rápido')] %}{{ l }}{% endfor %}{% endblock %}"
    )
    assert sorted(untranslated(before)) == [
        "Listas",
        "Quién",
        "SIMULACRO — ejercicio",
        "Vista previa",
        "fundido rápido",
    ]
    after = (
        '{% block main %}<h1>{{ _("Playlists") }}</h1><p>{{ n }} MiB</p>'
        "<img alt=\"{{ _('Preview') }}\"><p>{% trans %}Hello {{ who }}{% endtrans %}</p>"
        "{{ _('EXERCISE — a drill') if x else _('REAL') }}"
        "{% for v, l in [('fade', _('quick fade'))] %}{{ l }}{% endfor %}{% endblock %}"
    )
    assert untranslated(after) == []


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_every_console_template_text_goes_through_the_catalogs(template: str) -> None:
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    assert untranslated(source, template) == [], f"{template}: texts outside _()/{{% trans %}}"


def _template_messages() -> set[str | tuple[str, ...]]:
    """What Babel extracts from the templates with babel.cfg's settings (scripts/i18n.sh)."""
    options = {
        "trim_blocks": "true",
        "lstrip_blocks": "true",
        "trimmed": "true",
        "newstyle_gettext": "true",
        "silent": "false",
    }
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO / "signage"),
        [("console/templates/**.html", "jinja2")],
        options_map={"console/templates/**.html": options},
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_babel_cfg_extracts_the_templates() -> None:
    cfg = (REPO / "babel.cfg").read_text(encoding="utf-8")
    assert "[jinja2: console/templates/**.html]" in cfg and "trimmed = true" in cfg


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_template_message_is_translated(lang: str) -> None:
    with (LOCALE / lang / "LC_MESSAGES" / "signage.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    entries = {(m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalog if m.id}
    messages = _template_messages()
    assert len(messages) > 200  # the templates' texts, not an empty extraction
    missing = sorted(map(str, messages - set(entries)))
    assert not missing, f"template messages not in the {lang} catalog (scripts/i18n.sh): {missing}"
    for key in messages:
        strings = entries[key].string
        texts = [strings] if isinstance(strings, str) else list(strings or ())
        assert texts and all(texts), (lang, key)


def test_the_sign_in_labels_are_the_contracts_in_spanish(language: Callable[[str], None]) -> None:
    """CONTRACT.md: the sign-in form has fields labelled Usuario and Contraseña and a button
    Entrar; other tools find them by those words."""
    from signage.i18n import _

    language("es")
    assert (_("Username"), _("Password"), _("Sign in")) == ("Usuario", "Contraseña", "Entrar")
    language("en")
    assert (_("Username"), _("Password"), _("Sign in")) == ("Username", "Password", "Sign in")


def test_the_persons_choice_wins_over_the_hubs_language() -> None:
    assert console_language.answer_language("en", "es") == "en"
    assert console_language.answer_language("es", "en") == "es"
    assert console_language.answer_language(None, "en") == "en"
    assert console_language.answer_language("fr", "es") == "es", "unknown: the hub's"
    assert console_language.answer_language(" EN ", "es") == "en"


@pytest.mark.parametrize(
    ("asked", "went"),
    [
        ("/console/listas", "/console/listas"),
        (
            "/console/informe?desde=2026-07-01&hasta=2026-10-01",
            "/console/informe?desde=2026-07-01&hasta=2026-10-01",
        ),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/api/v1/playlists", "/console/"),
        ("/console/x\r\nSet-Cookie: a=b", "/console/"),
        (None, "/console/"),
    ],
)
def test_choosing_a_language_goes_back_only_to_a_console_page(asked: str | None, went: str) -> None:
    assert console_language.back_to(asked) == went


def test_the_scripts_words_come_from_the_catalogs(language: Callable[[str], None]) -> None:
    language("es")
    es = console_language.script_texts()
    language("en")
    en = console_language.script_texts()
    assert set(es) == set(en) == {"choose_file", "no_file", "updated_at", "reconnecting"}
    assert (
        es["updated_at"] == "Actualizada a las {time}" and en["updated_at"] == "Updated at {time}"
    )
    assert all(es[k] != en[k] for k in es)
    for script in ("console.js", "fleet.js"):
        text = (REPO / "signage" / "console" / "static" / script).read_text(encoding="utf-8")
        strings = [s for s in re.findall(r'"([^"\\]*)"', text) if s != "use strict"]
        sentences = [s for s in strings if SENTENCE.search(s) or NON_ASCII_LETTER.search(s)]
        assert sentences == [], f"{script} writes its own words: {sentences}"
        assert "toLocaleTimeString" not in text, "times come from the hub (24 h, its zone)"


def test_each_request_speaks_its_own_language_even_in_worker_threads() -> None:
    """``speaking`` is per context: two requests at once, each in its language, and the
    threads Starlette's ``run_in_threadpool`` starts inherit the caller's."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    from signage.i18n import _, current_language, speaking

    async def answer(code: str) -> tuple[str, str]:
        with speaking(code):
            await asyncio.sleep(0.01)  # the other request runs meanwhile
            here = _("Username")
            there = await run_in_threadpool(lambda: _("Password"))
            return here, there

    async def both() -> list[tuple[str, str]]:
        return list(await asyncio.gather(answer("es"), answer("en")))

    before = current_language()
    assert asyncio.run(both()) == [("Usuario", "Contraseña"), ("Username", "Password")]
    assert current_language() == before  # the process's own language is untouched
