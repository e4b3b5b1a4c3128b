"""The command line's commands: one module per subcommand (``HELP``, ``configure``, ``run``).

``signage.cli`` imports only the one it runs. A package (not a namespace) so that
import-linter sees these modules in the layer above the applications.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_token_file(parser: argparse.ArgumentParser) -> None:
    """``--token-file FILE`` beside ``--hub``: every command that talks to a hub takes it."""
    from signage.i18n import _

    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=_("file holding a hub token, sent with --hub (optional for this action)"),
    )


def hub_headers(token_file: Path | None) -> dict[str, str]:
    """The ``Authorization`` header for ``--token-file`` (none without one)."""
    if token_file is None:
        return {}
    from signage.hub.auth import read_token_file

    return {"Authorization": f"Bearer {read_token_file(token_file)}"}
