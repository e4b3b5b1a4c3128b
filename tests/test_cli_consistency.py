"""The command line reads the same everywhere: help on everything, one metavar per kind of
value, --token-file wherever --hub is, the subcommand's usage on a wrong argument."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from signage.cli import build_parser, main

# one name per kind of value; a new kind needs a reason to be here
METAVARS = {
    "DIR", "FILE", "URL", "KEY", "ID", "NAME", "HOST", "DURATION", "TAGS", "SEVERITY",
    "KEY=VALUE", "WxH", "ISO-8601", "PLAYLIST", "ACTION", "COMMAND", "SECONDS", "N", "DATE",
    "USER", "LEVEL", "PERIOD",
    "ADDRS",  # serve --forwarded-allow-ips: proxy addresses, comma-separated
    "DAYS",  # serve --keep-scans/--keep-plays/--keep-screens: a number of days
    "SERVERS",  # install-kiosk --ntp: time servers, space-separated
    "MB",  # status --memory-growth: megabytes
}  # fmt: skip


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, list[argparse.Action]]]:
    actions = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"'signage {' '.join((*path, name))}' has no help line"
                yield from _parsers(sub, (*path, name))
        else:
            actions.append(action)
    yield path, parser, actions


def test_every_subcommand_and_argument_has_help_and_a_known_metavar() -> None:
    seen = 0
    for path, _parser, actions in _parsers(build_parser()):
        for action in actions:
            name = "/".join(action.option_strings) or action.dest
            if action.help == argparse.SUPPRESS:
                continue
            seen += 1
            assert action.help, f"signage {' '.join(path)} {name}: no help line"
            if isinstance(action.metavar, str):
                assert action.metavar in METAVARS, (
                    f"signage {' '.join(path)} {name}: metavar {action.metavar!r}"
                )
    assert seen > 60


def test_token_file_wherever_hub_is_accepted() -> None:
    hubs = 0
    for path, _parser, actions in _parsers(build_parser()):
        options = {o for a in actions for o in a.option_strings}
        if "--hub" in options:
            hubs += 1
            assert "--token-file" in options, f"signage {' '.join(path)} takes --hub only"
            token = next(a for a in actions if "--token-file" in a.option_strings)
            assert token.metavar == "FILE"
    assert hubs >= 7  # alert raise/clear/list/import-cap/export-cap, status, report
    args = build_parser().parse_args(
        ["alert", "list", "--hub", "http://127.0.0.1:1", "--token-file", "t"]
    )
    assert str(args.token_file) == "t"


def test_a_wrong_argument_shows_the_subcommands_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["alert", "list", "--root", ".", "--bogus"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: signage alert list"), err
    assert err.rstrip().endswith("signage alert list: error: unrecognized arguments: --bogus")
    with pytest.raises(SystemExit):
        main(["preview", "lobby", "--out", "x", "--colour", "red"])
    assert capsys.readouterr().err.startswith("usage: signage preview")


def _texts(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Every text the help shows, keyed by where: descriptions, help lines, argument help."""
    found: dict[str, str] = {}
    for path, sub, actions in _parsers(parser):
        where = " ".join(("signage", *path))
        if sub.description:
            found[f"{where} (description)"] = sub.description
        for action in actions:
            if action.help and action.help != argparse.SUPPRESS:
                name = "/".join(action.option_strings) or action.dest
                found[f"{where} {name}"] = action.help
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    found[f"{where} {choice.dest} (help line)"] = str(choice.help)
    return found


def test_every_help_text_is_in_the_catalogs_and_spoken_in_spanish(
    language: Callable[[str], None],
) -> None:
    """Walks the whole parser in English and in Spanish: a help text left out of the
    catalogs (a plain string, an f-string, a piece glued on) reads the same in both."""
    from babel.messages.pofile import read_po

    from signage.i18n import translate_argparse

    translate_argparse()
    language("en")
    english = _texts(build_parser())
    language("es")
    spanish = _texts(build_parser())
    assert english.keys() == spanish.keys()
    assert len(english) > 250  # every command, its subcommands and their arguments
    same = sorted(k for k in english if english[k] == spanish[k])
    assert not same, f"help texts not translated into Spanish: {same}"
    locale = Path(__file__).resolve().parents[1] / "signage" / "locale"
    with (locale / "es" / "LC_MESSAGES" / "signage.po").open("rb") as fh:
        catalog = {m.id for m in read_po(fh, locale="es") if isinstance(m.id, str)}
    # the English text shown is a msgid as written (or a msgid formatted with a name)
    loose = sorted(
        k
        for k, text in english.items()
        if text not in catalog and not any(_fits(msgid, text) for msgid in catalog)
    )
    assert not loose, f"help texts that are no msgid of the catalog: {loose}"
    text = spanish["signage play --window"]
    assert text == "una ventana de este tamaño en vez de pantalla completa"
    assert spanish["signage serve --keep-scans"] == (
        "días que el hub guarda los escaneos de QR (por defecto %(default)s)"
    )
    assert spanish["signage user add (help line)"] == (
        "crea una cuenta (la contraseña, desde la terminal o stdin)"
    )


def _fits(msgid: str, text: str) -> bool:
    """Whether ``text`` is ``msgid`` with its ``{fields}`` filled in."""
    import re

    if "{" not in msgid:
        return False
    pattern = re.escape(msgid)
    pattern = re.sub(r"\\\{[a-z_]+\\\}", ".+", pattern)
    return re.fullmatch(pattern, text, re.DOTALL) is not None


def test_spanish_help_and_usage_error_of_a_converted_command(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    language: Callable[[str], None],  # speaks English again after the test
) -> None:
    monkeypatch.setenv("SIGNAGE_LANGUAGE", "es")
    monkeypatch.setenv("COLUMNS", "250")  # one line per argument
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("uso: signage serve [-h]")
    port = next(line for line in out.splitlines() if line.startswith("  --port N "))
    # argparse still fills %(default)s into the Spanish text
    assert (
        port.split(None, 2)[2]
        == "el puerto en el que escucha; 0 elige uno libre (por defecto 8750)"
    )
    assert "\nopciones:\n" in out
    with pytest.raises(SystemExit):
        main(["sync", "--once"])
    err = capsys.readouterr().err
    assert err.startswith("uso: signage sync")
    assert err.rstrip().endswith(
        "signage sync: error: faltan estos argumentos obligatorios: --feed, --cache, --pubkey"
    )
