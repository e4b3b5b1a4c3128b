"""``signage install-kiosk``: make this machine a lobby screen (user, config, cache, unit).

Creates the unprivileged user, writes ``/etc/signage/player.yaml`` from a template (an
existing one is kept), installs the hub's screen token (``--screen-token``), creates the
cache folder, installs ``signage-kiosk.service`` (from
``kiosk.service``) and enables it, and turns on time sync (systemd-timesyncd, with
``--ntp`` servers when given). ``--dry-run`` prints every step and changes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from signage.i18n import N_, _

HELP = N_("install this machine as an unattended screen (systemd unit on cage)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        default="signage",
        metavar="USER",
        help=_("the unprivileged user the player runs as (default %(default)s)"),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("/etc/signage/player.yaml"),
        metavar="FILE",
        help=_("where the player's configuration lives (default %(default)s)"),
    )
    parser.add_argument(
        "--dry-run", action="store_true", help=_("print the steps and change nothing")
    )
    parser.add_argument(
        "--screen",
        metavar="ID",
        help=_("the screen id written into a new configuration (default: the host name)"),
    )
    parser.add_argument(
        "--destdir",
        type=Path,
        metavar="DIR",
        help=_(
            "write the files under this folder instead of / (image builds); "
            "no user is created and systemctl is not run"
        ),
    )
    parser.add_argument(
        "--unit",
        type=Path,
        metavar="FILE",
        help=_("the kiosk.service to install (default: the bundled one)"),
    )
    parser.add_argument(
        "--no-enable",
        action="store_true",
        help=_("install the unit but do not start it at boot"),
    )
    parser.add_argument(
        "--screen-token",
        type=Path,
        metavar="FILE",
        help=_(
            "the hub's screen token (the file given to 'signage serve --screen-token-file', "
            "never its --token-file): installed beside the config as screen.token, mode 0640 "
            "root:USER, and named by hub_token_file in a new config"
        ),
    )
    parser.add_argument(
        "--ntp",
        metavar="SERVERS",
        help=_(
            "NTP servers for systemd-timesyncd (space-separated), e.g. the hub's host "
            "where the network blocks public time servers"
        ),
    )


def run(args: argparse.Namespace) -> int:
    import os

    from signage.errors import SignageError, UsageError
    from signage.kiosk.install import plan_install, signage_command, unit_template

    unit = args.unit or unit_template()
    try:
        template = unit.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            _("cannot read the unit {path}: {reason}; pass --unit PATH/TO/kiosk.service").format(
                path=unit, reason=exc.strerror
            )
        ) from None
    if not args.config.is_absolute():
        raise UsageError(
            _("--config {path}: give an absolute path (systemd needs one)").format(path=args.config)
        )
    screen_token = None
    if args.screen_token is not None:
        from signage.hub.auth import read_token_file

        screen_token = read_token_file(args.screen_token, "--screen-token")
    steps = plan_install(
        user=args.user,
        config=args.config,
        destdir=args.destdir,
        template=template,
        command=signage_command(),
        screen=args.screen,
        enable=not args.no_enable,
        screen_token=screen_token,
        ntp=args.ntp,
    )
    if args.dry_run:
        print(_("signage install-kiosk would:"))
        for n, step in enumerate(steps, 1):
            print(f"  {n}. {step.says}")
        return 0
    if args.destdir is None and os.geteuid() != 0:
        raise UsageError(
            _(
                "installing a kiosk changes the system: run it as root (sudo), "
                "or see what it would do with --dry-run"
            )
        )
    for n, step in enumerate(steps, 1):
        print(f"{n}. {step.says}")
        try:
            step.run()
        except OSError as exc:
            raise SignageError(
                _("step {number} failed: {error}").format(number=n, error=exc)
            ) from None
    print(
        _(
            "done. Fill in feed and pubkey in the config, then reboot or run "
            "`systemctl start signage-kiosk`."
        )
    )
    return 0
