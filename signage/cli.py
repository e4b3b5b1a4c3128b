"""The ``signage`` command line: builds the parser from ``signage.commands.*`` and dispatches.

Each subcommand lives in its own module under ``signage/commands/`` with three names:
``HELP`` (one line), ``configure(parser)`` (adds its arguments; must import nothing heavy)
and ``run(args) -> int`` (does the work; imports what it needs inside). Exit codes follow the
contract: 0 success, 1 input or remote side refused, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence
from types import ModuleType

from signage import __version__
from signage.errors import SignageError
from signage.i18n import _, translate_argparse, use_settings

# Subcommand name -> module under signage.commands. Order is the order of ``--help``.
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "schema": "schema",
    "preview": "preview",
    "play": "play",
    "keygen": "keygen",
    "publish": "publish",
    "serve": "serve",
    "sync": "sync",
    "mirror": "mirror",
    "alert": "alert",
    "status": "status",
    "screen": "screen",
    "report": "report",
    "install-kiosk": "install_kiosk",
    "user": "user",
}


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"signage.commands.{module}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI; with ``only`` (a command name), just that command's part.

    Loading every command module costs ~30 ms, which ``signage play`` spends before its
    first slide; ``main`` loads only the command it was given.
    """
    parser = argparse.ArgumentParser(
        prog="signage",
        description=_("Digital signage: playlists, a fullscreen player, a signed feed and alerts."),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"signage {__version__}",
        # given here: this Python's argparse writes its default help untranslated
        help=_("show program's version number and exit"),
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help=_("more log output (repeatable)")
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = _load(module_name)
        p = sub.add_parser(name, help=_(module.HELP), description=_(module.HELP))
        module.configure(p)
        p.set_defaults(_module=module, _parser=p)
    return parser


def _deepest(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand parser ``args`` went through (``alert list``, not ``alert``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and action.dest:
            chosen = getattr(args, action.dest, None)
            if isinstance(chosen, str) and chosen in action.choices:
                return _deepest(action.choices[chosen], args)
    return parser


_SETTINGS_LANGUAGE = re.compile(rb"^language:[ \t]*[\"']?([A-Za-z]{2})\b", re.MULTILINE)


def settings_language(given: Sequence[str]) -> str | None:
    """The ``language:`` of the content root's settings the command line points at.

    The root is ``--root DIR`` when given, else the working folder. Read with a pattern,
    not the YAML reader: the language must be known before the parser prints any help
    and ``signage play`` must not pay for the validation kit; the file is checked fully
    by ``validate``/``publish``.
    """
    root = "."
    for i, arg in enumerate(given):
        if arg == "--root" and i + 1 < len(given):
            root = given[i + 1]
        elif arg.startswith("--root="):
            root = arg.split("=", 1)[1]
    try:
        with open(f"{root}/playlists/settings.yaml", "rb") as fh:  # noqa: PTH123 - one bounded read
            head = fh.read(65536)
    except OSError:
        return None
    found = _SETTINGS_LANGUAGE.search(head)
    return found.group(1).decode("ascii").lower() if found else None


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    from signage.logs import PrintableFormatter  # log lines quote remote text

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in given if not a.startswith("-")), None)
    use_settings(settings_language(given))
    translate_argparse()
    parser = build_parser(only=named if named in COMMANDS else None)
    args, extra = parser.parse_known_args(given)
    if extra:
        # a subcommand's unknown argument: its own usage, not the whole CLI's
        _deepest(getattr(args, "_parser", None) or parser, args).error(
            _("unrecognized arguments: %s") % " ".join(extra)
        )
    if getattr(args, "_module", None) is None:
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args.verbose)
    try:
        result: int = args._module.run(args)
    except SignageError as exc:
        from signage.printable import printable  # error texts may carry a server's words

        print(f"signage {args.command}: {printable(exc, multiline=True)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`signage validate | head`): not an error worth a traceback.
        _silence_stdout()
        return 0
    return result


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
