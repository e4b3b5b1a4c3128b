"""Installing a screen: the plan behind ``signage install-kiosk`` and the shell that runs it.

``plan_install`` is pure: it returns the ordered steps (create the user, write the config
template, install the hub's screen token, make the cache folder, compile the package's
bytecode, install and enable the unit, keep the clock right with systemd-timesyncd), each
with the words printed by ``--dry-run`` and the effect run otherwise. Nothing already there
is overwritten: an existing user, config or cache is kept (a re-install only refreshes the
unit, and the screen token when one is given).
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signage.errors import SignageError, UsageError
from signage.i18n import _

UNIT_NAME = "signage-kiosk.service"
UNIT_DIR = Path("/etc/systemd/system")
CONFIG_PATH = Path("/etc/signage/player.yaml")
CACHE_DIR = Path("/var/cache/signage")
STATE_DIR = Path("/var/lib/signage")
DEFAULT_USER = "signage"
TEMPLATE_EXE = "/usr/local/bin/signage"
TEMPLATE_CONFIG = "/etc/signage/player.yaml"
SCREEN_TOKEN_NAME = "screen.token"  # noqa: S105 (a file name, installed beside the config)
TIMESYNC_UNIT = "systemd-timesyncd.service"
# Another NTP client already keeping the clock is kept (two would fight over it).
OTHER_TIME_SYNC = ("chrony.service", "ntpsec.service", "ntp.service", "openntpd.service")
TIMESYNC_DROPIN = Path("/etc/systemd/timesyncd.conf.d/signage.conf")
UNIT_FOLDERS = (
    Path("/etc/systemd/system"),
    Path("/usr/lib/systemd/system"),
    Path("/lib/systemd/system"),
)


def time_sync_installed() -> str | None:
    """The time-sync unit installed here: systemd-timesyncd, another NTP client, or None."""
    for unit in (TIMESYNC_UNIT, *OTHER_TIME_SYNC):
        if any((folder / unit).exists() for folder in UNIT_FOLDERS):
            return unit
    return None


def timesyncd_dropin(ntp: str) -> str:
    """``timesyncd.conf.d/signage.conf``: the organisation's NTP servers first."""
    return (
        "# Written by signage install-kiosk: the organisation's time servers (docs/kiosk.md).\n"
        f"[Time]\nNTP={ntp}\n"
    )


def unit_template() -> Path:
    """``kiosk.service`` beside the package (a source checkout or an unpacked sdist)."""
    return Path(__file__).resolve().parents[2] / "kiosk.service"


def package_dir() -> Path:
    """The folder of the installed ``signage`` package (a checkout's for an editable install)."""
    return Path(__file__).resolve().parents[1]


def signage_command() -> str:
    """How systemd should start signage: the console script if on PATH, else python -m."""
    exe = shutil.which("signage")
    if exe:
        return str(Path(exe).resolve()) if not Path(exe).is_absolute() else exe
    return f"{sys.executable} -m signage"


def render_unit(template: str, *, user: str, config: Path, command: str) -> str:
    """The unit text for this machine: its signage command, user and config path."""
    text = template.replace(TEMPLATE_EXE, command).replace(TEMPLATE_CONFIG, str(config))
    lines = []
    for line in text.splitlines():
        if line.startswith("User="):
            lines.append(f"User={user}")
        elif line.startswith("Group="):
            lines.append(f"Group={user}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def config_template(screen: str, cache: Path, token_file: Path | None = None) -> str:
    """A ``player.yaml`` that loads as is and says what to fill in.

    ``token_file``: the installed screen token, named by ``hub_token_file`` (commented out
    without one).
    """
    token_line = (
        f"hub_token_file: {token_file}   # the hub's screen token, never its admin one"
        if token_file is not None
        else "# hub_token_file: /etc/signage/screen.token   "
        "# the hub's SCREEN token, never its admin one"
    )
    return f"""\
# signage player configuration (see docs/kiosk.md and CONTRACT.md "Player configuration").
# Fill in feed and pubkey (and hub for heartbeats), then: systemctl restart {UNIT_NAME}
screen: {screen}
tags: [lobby]
cache: {cache}
timezone: America/Bogota
locale: es-CO
# feed: https://hub.example.gov.co:8750/feed.json
# pubkey: BASE64-OF-THE-PUBLISHER-KEY   # printed by `signage serve` / `signage keygen`
# hub: https://hub.example.gov.co:8750
{token_line}
# poll: 15
# qr:
#   allowed_hosts: [encuestas.example.gov.co, intranet.example.gov.co]
# rotation: 90   # a panel mounted on its side, when cage does not turn it (docs/kiosk.md)
# ca_file: /etc/signage/ca-interna.pem   # the organisation's own CA (PEM), besides the system's
# feed: [https://hub.example.gov.co:8750/, https://espejo.example.gov.co/feed/]  # hub + mirrors
# alert_keys: [BASE64-OF-THE-ALERTS-ONLY-KEY]   # emergency alerts with the hub down
# audience: public   # or internal (offices): staff-only (CAP Restricted) alerts show too
"""


@dataclass(frozen=True, slots=True)
class Step:
    """One install action: what ``--dry-run`` prints, and the effect that performs it."""

    says: str
    run: Callable[[], None]


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _write_new(path: Path, text: str, mode: int) -> Callable[[], None]:
    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(mode)
        tmp.replace(path)

    return write


def _write_secret(path: Path, text: str, group: str | None) -> Callable[[], None]:
    """Writes ``path`` mode 0640 (owner root, ``group`` when given), never readable by others,
    not even for the instant before the rename."""

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if group is not None:
            shutil.chown(tmp, "root", group)
        tmp.chmod(0o640)
        tmp.replace(path)

    return write


def _command(argv: list[str]) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SignageError(
                _("`{command}` failed ({code}): {error}").format(
                    command=shlex.join(argv), code=done.returncode, error=done.stderr.strip()
                )
            )

    return run


def _mkdir(path: Path) -> Callable[[], None]:
    def run() -> None:
        path.mkdir(parents=True, exist_ok=True)

    return run


def _chown(path: Path, user: str) -> Callable[[], None]:
    def run() -> None:
        path.mkdir(parents=True, exist_ok=True, mode=0o750)
        shutil.chown(path, user, user)

    return run


def plan_install(
    *,
    user: str = DEFAULT_USER,
    config: Path = CONFIG_PATH,
    destdir: Path | None = None,
    template: str,
    command: str,
    screen: str | None = None,
    user_exists: Callable[[str], bool] = _user_exists,
    enable: bool = True,
    screen_token: str | None = None,
    ntp: str | None = None,
    time_sync: Callable[[], str | None] = time_sync_installed,
    package: Path | None = None,
) -> list[Step]:
    """The steps that make this machine a screen.

    Args:
        destdir: write files under this folder instead of ``/`` (image builders, tests);
            then no user is created and systemctl is not run.
        template: the text of ``kiosk.service``.
        command: how systemd starts signage (``/usr/local/bin/signage``).
        screen_token: the hub's screen token: installed as ``screen.token`` beside the
            config (0640, group ``user``) and named by a new config's ``hub_token_file``.
        ntp: NTP servers (space-separated) for systemd-timesyncd, e.g. the hub's host when
            the network blocks public time servers.
        time_sync: which time-sync unit this machine has (probed; injected by tests).
        package: the ``signage`` package folder to byte-compile (default: this one).
    """
    if ntp is not None and (not ntp.strip() or any(c in ntp for c in "\n\r[]=#;")):
        raise UsageError(
            _("--ntp {value}: give host names or addresses separated by spaces").format(
                value=repr(ntp)
            )
        )
    if not user or not user.replace("-", "").replace("_", "").isalnum() or user[0] == "-":
        raise UsageError(
            _("--user {value}: give a plain user name such as 'signage'").format(value=repr(user))
        )

    def place(path: Path) -> Path:
        return path if destdir is None else destdir / path.relative_to("/")

    steps: list[Step] = []
    real = destdir is None
    if real and not user_exists(user):
        argv = [
            "useradd", "--system", "--user-group", "--home-dir", str(STATE_DIR),
            "--no-create-home", "--shell", "/usr/sbin/nologin",
            "--comment", "signage kiosk player", user,
        ]  # fmt: skip
        says = _("create the system user {user}: {command}")
        steps.append(Step(says.format(user=user, command=shlex.join(argv)), _command(argv)))
    elif real:
        steps.append(Step(_("keep the existing user {user}").format(user=user), lambda: None))

    token_path = config.parent / SCREEN_TOKEN_NAME if screen_token is not None else None
    cfg = place(config)
    if cfg.exists():
        says = _("keep the existing config {path}").format(path=cfg)
        if token_path:
            says += _(" (it must say hub_token_file: {path})").format(path=token_path)
        steps.append(Step(says, lambda: None))
    else:
        text = config_template(screen or socket.gethostname(), CACHE_DIR, token_path)
        says = _("write the config template {path} (mode 0644)").format(path=cfg)
        steps.append(Step(says, _write_new(cfg, text, 0o644)))

    if screen_token is not None and token_path is not None:
        target = place(token_path)
        says = (
            _("install the hub's screen token as {path} (mode 0640, owner root:{user})")
            if real
            else _("install the hub's screen token as {path} (mode 0640, owned by you)")
        )
        steps.append(
            Step(
                says.format(path=target, user=user),
                _write_secret(target, screen_token + "\n", user if real else None),
            )
        )

    for folder in (CACHE_DIR, STATE_DIR):
        target = place(folder)
        if real:
            says = _("create {path} owned by {user} (mode 0750)").format(path=target, user=user)
            steps.append(Step(says, _chown(target, user)))
        else:
            steps.append(Step(_("create {path}").format(path=target), _mkdir(target)))

    if real:
        # The unit runs the player with the code read-only and PYTHONDONTWRITEBYTECODE=1:
        # without .pyc files (an editable install, a copied checkout) every start compiles
        # the ~45 modules it loads (~70 ms of a ~190 ms restart on a 2-core machine).
        # Compiled here, as root, beside the code: nothing the player can write runs.
        argv = [sys.executable, "-m", "compileall", "-q", str(package or package_dir())]
        says = _("compile the player's Python code once, so no start compiles it: {command}")
        steps.append(Step(says.format(command=shlex.join(argv)), _command(argv)))

    unit = render_unit(template, user=user, config=config, command=command)
    unit_path = place(UNIT_DIR / UNIT_NAME)
    steps.append(
        Step(
            _("install the unit {path} (cage runs `{command}`)").format(
                path=unit_path, command=f"{command} play --config {config}"
            ),
            _write_new(unit_path, unit, 0o644),
        )
    )
    steps += _time_sync_steps(real=real, ntp=ntp, found=time_sync() if real else None, place=place)
    if real:
        steps.append(
            Step(
                _("reload systemd: {command}").format(command="systemctl daemon-reload"),
                _command(["systemctl", "daemon-reload"]),
            )
        )
        if enable:
            steps.append(
                Step(
                    _("start the player at boot: {command}").format(
                        command=f"systemctl enable {UNIT_NAME}"
                    ),
                    _command(["systemctl", "enable", UNIT_NAME]),
                )
            )
            steps.append(
                Step(
                    _("boot into the graphical target: {command}").format(
                        command="systemctl set-default graphical.target"
                    ),
                    _command(["systemctl", "set-default", "graphical.target"]),
                )
            )
    return steps


def _time_sync_steps(
    *, real: bool, ntp: str | None, found: str | None, place: Callable[[Path], Path]
) -> list[Step]:
    """Keep the clock right: alerts and schedules are judged by the hub's time anyway
    (signage.timebase), but logs, TLS certificates and a screen without a hub need a true
    clock. Another NTP client already installed is kept."""
    steps: list[Step] = []
    if found is not None and found != TIMESYNC_UNIT:
        says = _("keep {unit} for time sync (not installing timesyncd)").format(unit=found)
        steps.append(Step(says, lambda: None))
        return steps
    if ntp is not None:
        target = place(TIMESYNC_DROPIN)
        steps.append(
            Step(
                _("write {path}: time from NTP={servers}").format(path=target, servers=ntp),
                _write_new(target, timesyncd_dropin(ntp), 0o644),
            )
        )
    if not real:
        says = _("(enable {unit} in the image for time sync)").format(unit=TIMESYNC_UNIT)
        steps.append(Step(says, lambda: None))
        return steps
    if found is None:
        argv = ["apt-get", "install", "-y", "--no-install-recommends", "systemd-timesyncd"]
        says = _("install time sync: {command}").format(command=shlex.join(argv))
        steps.append(Step(says, _command(argv)))
    argv = ["systemctl", "enable", "--now", TIMESYNC_UNIT]
    says = _("keep the clock right: {command}").format(command=shlex.join(argv))
    steps.append(Step(says, _command(argv)))
    return steps
