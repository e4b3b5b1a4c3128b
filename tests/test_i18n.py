"""Messages in the user's language: catalogs complete and compiled, the hard cases' exact words."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from signage import i18n
from signage.i18n import choose_language
from signage.playlist import load_playlist_file
from tests.helpers_playlist import ContentRoot

REPO = Path(__file__).resolve().parents[1]
LOCALE = REPO / "signage" / "locale"
PERCENT = re.compile(r"%\([a-z_]+\)[sdr]|%[sdr]")


def _placeholders(text: str) -> list[str]:
    """The ``{name:spec}`` fields (``{{`` is a literal brace) and ``%(name)s`` of a text."""
    fields = [
        f"{name}:{spec}" for _t, name, spec, _c in Formatter().parse(text) if name is not None
    ]
    return sorted(set(fields) | set(PERCENT.findall(text)))


def _catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "signage.po").open("rb") as fh:
        return read_po(fh, locale=language)


def _source_messages() -> set[str | tuple[str, ...]]:
    """Every message the package marks with _(), N_() or ngettext(), extracted by Babel."""
    found: set[str | tuple[str, ...]] = set()
    method_map = [("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO / "signage"), method_map
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_message_has_a_translation(language: str) -> None:
    catalog = _catalog(language)
    entries = {(m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalog if m.id}
    missing = sorted(map(str, _source_messages() - set(entries)))
    assert not missing, f"messages not in the {language} catalog (run scripts/i18n.sh): {missing}"
    for key, message in entries.items():
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings), f"{language}: no translation for {key!r}"
        assert "fuzzy" not in message.flags, f"{language}: fuzzy translation of {key!r}"
        ids = [key] if isinstance(key, str) else list(key)
        wanted = _placeholders(ids[0])
        for text in strings:
            assert _placeholders(text) == wanted, (
                f"{language}: {key!r} -> {text!r} changes the placeholders"
            )


@pytest.mark.parametrize("language", ["es", "en"])
def test_compiled_catalogs_are_not_stale(language: str) -> None:
    """The committed .mo holds exactly the .po's texts (scripts/i18n.sh compile)."""
    with (LOCALE / language / "LC_MESSAGES" / "signage.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for message in _catalog(language):
        if not message.id:
            continue
        if isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, (
                f"{language}: signage.mo is stale for {message.id!r}; run scripts/i18n.sh compile"
            )
        else:
            assert compiled.ngettext(message.id[0], message.id[1], 1) == message.string[0]
            assert compiled.ngettext(message.id[0], message.id[1], 5) == message.string[1]


def test_the_language_is_chosen_override_settings_environment_then_spanish() -> None:
    assert choose_language(None, {}) == "es"
    assert choose_language(None, {"LANG": "C.UTF-8"}) == "en"
    assert choose_language(None, {"LANG": "POSIX"}) == "en"
    assert choose_language(None, {"LANG": "es_CO.UTF-8"}) == "es"
    assert choose_language(None, {"LANG": "fr_FR.UTF-8"}) == "es", "unknown: the default"
    assert choose_language(None, {"LANGUAGE": "en_GB:es", "LANG": "es_CO.UTF-8"}) == "en"
    assert choose_language(None, {"LC_ALL": "en_US.UTF-8", "LANG": "es_CO.UTF-8"}) == "en"
    assert choose_language("es", {"LANG": "C.UTF-8"}) == "es", "the settings beat LANG"
    assert choose_language("en", {"LANG": "es_CO.UTF-8"}) == "en"
    assert choose_language("es", {"SIGNAGE_LANGUAGE": "en", "LANG": "es_CO.UTF-8"}) == "en"


# (playlist text, Spanish, English): the hard cases, word for word
HEAD = "name: Lobby\nslides:\n"
HARD_CASES = [
    (
        HEAD + "  - text:\n      title: Hola\n  - text:\n\t  title: x\n",
        "6:1: usa espacios, no tabuladores, para sangrar: línea 6",
        "6:1: use spaces, not tabs, to indent: line 6",
    ),
    (
        HEAD + "  - text:\n      title: Hola\n    schedule:\n      from: 2026-12-32\n",
        "6:13: el 32 de diciembre no existe",
        "6:13: December 32 does not exist",
    ),
    (
        HEAD + "  - text:\n      title: Hola\n    schedule:\n      until: 2027-02-29\n",
        "6:14: el 29 de febrero de 2027 no existe (2027 no es bisiesto)",
        "6:14: February 29, 2027 does not exist (2027 is not a leap year)",
    ),
    (
        HEAD + "  - text:\n      title: Horario: lunes a viernes\n",
        "4:21: dos puntos seguidos de un espacio dentro de un valor empiezan una clave nueva; "
        'pon todo el valor entre comillas: title: "Horario: lunes a viernes"',
        "4:21: a ':' followed by a space inside a value starts a new key; "
        'put the whole value in quotes: title: "Horario: lunes a viernes"',
    ),
    (
        HEAD + "  - text:\n      title: Hola\n    duraton: 5s\n",
        "5:5: clave desconocida 'duraton' en una diapositiva (¿quisiste decir 'duration'?)",
        "5:5: unknown key 'duraton' in a slide (did you mean 'duration'?)",
    ),
    (
        "nmae: Lobby\nslides:\n  - text:\n      title: Hola\n",
        "1:1: clave desconocida 'nmae' en la lista de reproducción (¿quisiste decir 'name'?)",
        "1:1: unknown key 'nmae' in the playlist (did you mean 'name'?)",
    ),
]


@pytest.mark.parametrize(("text", "spanish", "english"), HARD_CASES)
def test_hard_cases_in_plain_words(
    tmp_path: Path, language: Callable[[str], None], text: str, spanish: str, english: str
) -> None:
    root = ContentRoot(tmp_path)
    path = root.playlist("p.yaml", text)
    for code, expected in (("es", spanish), ("en", english)):
        language(code)
        playlist, problems = load_playlist_file(path, tmp_path)
        assert playlist is None
        shown = [f"{p.line}:{p.col}: {p.message}" for p in problems]
        assert shown[0] == expected, code


def _signage(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", **env},
        check=False,
    )


def test_the_settings_language_speaks_spanish_over_lang_c(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.playlist("p.yaml", HARD_CASES[1][0])
    settings = tmp_path / "playlists" / "settings.yaml"
    settings.write_text("language: es\n", encoding="utf-8")
    done = _signage("validate", cwd=tmp_path, LANG="C.UTF-8")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == "playlists/p.yaml:6:13: el 32 de diciembre no existe"
    assert done.stdout.splitlines()[-1] == (
        "2 archivos revisados; válidas: 0 listas; 1 archivo rechazado; 1 error, 0 avisos"
    )
    settings.write_text("language: en\n", encoding="utf-8")
    english = _signage("validate", cwd=tmp_path, LANG="es_CO.UTF-8")
    assert english.stdout.splitlines()[0] == "playlists/p.yaml:6:13: December 32 does not exist"
    assert english.stdout.splitlines()[-1] == (
        "2 files checked, valid: 0 playlists; 1 file refused; 1 error, 0 warnings"
    )
    settings.unlink()
    by_lang = _signage("validate", cwd=tmp_path, LANG="es_CO.UTF-8")
    assert "el 32 de diciembre no existe" in by_lang.stdout
    default = _signage("validate", cwd=tmp_path)
    assert "el 32 de diciembre no existe" in default.stdout, "Spanish when nothing says"


def test_argparse_speaks_the_language_and_shows_the_subcommands_usage(tmp_path: Path) -> None:
    done = _signage("validate", "--bogus", cwd=tmp_path, LANG="es_CO.UTF-8")
    assert done.returncode == 2
    assert done.stderr.startswith("uso: signage validate [-h]"), done.stderr
    assert (
        done.stderr.splitlines()[-1] == "signage validate: error: argumentos desconocidos: --bogus"
    )
    helped = _signage("publish", "--help", cwd=tmp_path, LANG="es_CO.UTF-8")
    assert helped.returncode == 0
    assert "opciones:" in helped.stdout
    assert "valida una carpeta de contenido y escribe un feed estático firmado" in helped.stdout
    english = _signage("validate", "--bogus", cwd=tmp_path, LANG="C.UTF-8")
    assert english.stderr.startswith("usage: signage validate [-h]")
    assert (
        english.stderr.splitlines()[-1]
        == "signage validate: error: unrecognized arguments: --bogus"
    )


def test_messages_fall_back_to_english_text_for_an_unknown_msgid(
    language: Callable[[str], None],
) -> None:
    language("es")
    assert i18n._("use spaces, not tabs, to indent: line {line}").format(line=12) == (
        "usa espacios, no tabuladores, para sangrar: línea 12"
    )
    assert i18n._("no such message, kept as written") == "no such message, kept as written"
    assert i18n.ngettext("{count} slide", "{count} slides", 1) == "{count} diapositiva"
    assert i18n.current_language() == "es"


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_catalog_is_read_in_place_and_answers_as_gnu_translations(language: str) -> None:
    """A start looks a catalog up where it lies (``i18n.CompiledCatalog``, issue 17.2):
    every message, singular and plural, and an unknown one, as ``GNUTranslations`` says."""
    loaded = i18n._load(language)
    assert isinstance(loaded, i18n.CompiledCatalog)  # not the whole catalog decoded first
    with (LOCALE / language / "LC_MESSAGES" / "signage.mo").open("rb") as fh:
        gnu = gettext.GNUTranslations(fh)
    checked = 0
    for message in _catalog(language):
        if not message.id:
            continue
        if isinstance(message.id, str):
            assert loaded.gettext(message.id) == gnu.gettext(message.id), message.id
        else:
            one, many = message.id[0], message.id[1]
            for n in (0, 1, 2, 5):
                assert loaded.ngettext(one, many, n) == gnu.ngettext(one, many, n), (one, n)
            assert loaded.gettext(one) == gnu.gettext(one), one
        checked += 1
    assert checked > 1000
    for unknown in ("no such message", "", "zzz", "\x00"):
        assert loaded.gettext(unknown) == gnu.gettext(unknown), repr(unknown)
    assert loaded.ngettext("one thing", "{n} things", 3) == "{n} things"
    kept = len(loaded._said)
    for i in range(2000):  # texts already made (a server's words) are not kept
        assert loaded.gettext(f"a server said {i}") == f"a server said {i}"
    assert len(loaded._said) == kept <= checked + 1


def test_a_catalog_it_cannot_search_is_refused_for_gnu_translations() -> None:
    from io import BytesIO

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    def compiled(catalog: Catalog) -> bytes:
        out = BytesIO()
        write_mo(out, catalog)
        return out.getvalue()

    plain = Catalog(locale="en")  # nplurals=2; plural=(n != 1), as ours
    plain.add("apple", "manzana")
    plain.add("pear", "pera")
    data = compiled(plain)
    assert i18n.CompiledCatalog(data).gettext("pear") == "pera"
    with_context = Catalog(locale="en")
    with_context.add("apple", "manzana", context="fruit")
    with pytest.raises(ValueError):
        i18n.CompiledCatalog(compiled(with_context))
    three_forms = Catalog(locale="es")  # Babel's CLDR rule for es has three forms
    three_forms.add("apple", "manzana")
    with pytest.raises(ValueError):
        i18n.CompiledCatalog(compiled(three_forms))
    # The index out of order (its first two entries swapped): a search would miss texts.
    count, ids_at = int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little")
    assert count == 3  # the header, apple, pear
    swapped = data[: ids_at + 8] + data[ids_at + 16 : ids_at + 24] + data[ids_at + 8 : ids_at + 16]
    swapped += data[ids_at + 24 :]
    with pytest.raises(ValueError):
        i18n.CompiledCatalog(swapped)
    with pytest.raises(ValueError):
        i18n.CompiledCatalog(data[:20])
    with pytest.raises(ValueError):
        i18n.CompiledCatalog(data[: ids_at + 4])  # the index runs past the end
