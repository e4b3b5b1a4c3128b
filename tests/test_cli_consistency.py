"""The command line reads the same everywhere: help on everything, one metavar per kind of
value, --token-file wherever --hub is, the subcommand's usage on a wrong argument."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

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
