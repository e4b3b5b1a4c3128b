"""``signage schema``: prints the JSON Schema of the playlist format.

The schema comes from the same field tables the validator uses, so editors that read it
(``# yaml-language-server: $schema=...``) complete and check exactly what ``validate`` does.
``--theme`` prints the schema of ``playlists/theme.yaml``, ``--settings`` that of
``playlists/settings.yaml``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from signage.i18n import N_, _

HELP = N_("print the JSON Schema of the playlist format (the validator's own definition)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--theme",
        action="store_true",
        help=_("the schema of playlists/theme.yaml instead of a playlist's"),
    )
    parser.add_argument(
        "--settings",
        action="store_true",
        help=_("the schema of playlists/settings.yaml instead of a playlist's"),
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help=_("write it to FILE (atomically) instead of printing it"),
    )


def schema_text(*, theme: bool = False, settings: bool = False) -> str:
    """The schema as committed in ``signage/schema/playlist.schema.json`` (or theme's...)."""
    import json

    from signage.playlist import json_schema, settings_json_schema, theme_json_schema

    schema = settings_json_schema() if settings else theme_json_schema() if theme else json_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def run(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from signage.errors import SignageError

    text = schema_text(theme=args.theme, settings=args.settings)
    if args.out is None:
        print(text, end="")
        return 0
    target: Path = args.out
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or Path(), prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(target)
    except OSError as exc:
        raise SignageError(
            _("cannot write {target}: {value}").format(target=target, value=exc.strerror or exc)
        ) from None
    return 0
