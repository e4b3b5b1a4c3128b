"""``signage play``: the player command (fullscreen, windowed or headless)."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from pathlib import Path

from signage.errors import UsageError
from signage.i18n import N_, _
from signage.logs import area_logger

HELP = N_("play the schedule on this screen (fullscreen, --window, or --headless)")

log = area_logger("player")


def parse_size(text: str, flag: str) -> tuple[int, int]:
    """``1920x1080`` → (1920, 1080); UsageError naming the flag otherwise."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise UsageError(
            _("{flag} {value}: expected WIDTHxHEIGHT, e.g. 1920x1080").format(
                flag=flag, value=repr(text)
            )
        ) from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise UsageError(
            _("{flag} {value}: width and height must be 16..16384 pixels").format(
                flag=flag, value=repr(text)
            )
        )
    return w, h


def parse_tags(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    return frozenset(t.strip() for t in text.split(",") if t.strip())


def configure(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=_("the content root, the folder holding playlists/ and assets/"),
    )
    src.add_argument(
        "--feed",
        metavar="URL",
        help=_("the URL of a signed feed (or set 'feed' in the player configuration)"),
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help=_("the player configuration (YAML)")
    )
    parser.add_argument(
        "--pubkey",
        metavar="KEY",
        help=_("the feed publisher's Ed25519 public key (base64), pinned for --feed"),
    )
    parser.add_argument("--cache", type=Path, metavar="DIR", help=_("the content cache folder"))
    parser.add_argument(
        "--screen",
        metavar="ID",
        help=_("the screen's id (default: the configuration's, else the host name)"),
    )
    parser.add_argument(
        "--tags", metavar="TAGS", help=_("the screen's tags, comma-separated, e.g. lobby,piso-1")
    )
    parser.add_argument(
        "--window", metavar="WxH", help=_("a window of this size instead of full screen")
    )
    parser.add_argument(
        "--headless", action="store_true", help=_("draw off screen (no display needed)")
    )
    parser.add_argument(
        "--size", metavar="WxH", help=_("the size when headless (default 1920x1080)")
    )
    parser.add_argument(
        "--snapshots",
        type=Path,
        metavar="DIR",
        help=_("write a PNG of each slide and alert when it is first fully shown"),
    )
    parser.add_argument(
        "--events",
        type=Path,
        metavar="FILE",
        help=_("append the proof-of-play log to this file (JSON Lines)"),
    )
    parser.add_argument(
        "--for",
        dest="for_s",
        type=float,
        metavar="SECONDS",
        help=_("stop cleanly after this many seconds"),
    )


def run(args: argparse.Namespace) -> int:
    from signage.config import load_config
    from signage.events import EventLog
    from signage.model import Orientation
    from signage.player.qtenv import ensure_application, prepare_environment, primary_size
    from signage.sources import ContentSource

    if args.window and args.headless:
        raise UsageError(_("--window and --headless exclude each other"))
    if args.for_s is not None and args.for_s < 0:
        raise UsageError(_("--for must be a positive number of seconds"))
    window = parse_size(args.window, "--window") if args.window else None
    size = parse_size(args.size, "--size") if args.size else None
    config = load_config(args.config).with_overrides(
        screen=args.screen,
        tags=parse_tags(args.tags),
        feed=args.feed,
        pubkey=args.pubkey,
        cache=args.cache,
    )
    root: Path | None = args.root
    if root is None and not config.feed:
        if (Path.cwd() / "playlists").is_dir():
            root = Path.cwd()
        else:
            raise UsageError(
                _(
                    "nothing to play: pass --root CONTENT_ROOT or --feed URL "
                    "(or set 'feed' in the player configuration)"
                )
            )
    if root is not None and not (root / "playlists").is_dir():
        raise UsageError(
            _("{root}: no playlists/ folder here; pass the content root").format(root=root)
        )

    from signage.player.display import open_display

    # One line and exit 1 when the named display cannot be opened (Qt would abort or hang).
    open_display(headless=args.headless)
    headless = prepare_environment(headless=args.headless)
    if headless and window is not None:
        size = size or window
    events = EventLog(args.events)
    collect: Callable[[], int] | None = None
    frame_keep = config.cache / "frame" / "feed"  # the first picture, decoded (next start)
    from signage.timebase import TimeKeeper

    # the hub's time: alert lifetimes, and schedules when far off; kept across restarts
    timekeeper = TimeKeeper(state_file=config.cache / "timebase.json")
    if root is not None:
        from signage.sources.local import LocalSource

        # One cache folder per content root: two players on one machine (a demo beside a
        # test run, two roots) would otherwise collect each other's cached assets.
        root_key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
        frame_keep = config.cache / "frame" / root_key
        local = LocalSource(
            root,
            cache=config.cache / "local" / root_key,
            allowed_hosts=config.allowed_hosts,
            wait_for_screen=True,  # the player calls screen_settled() after the first slide
            alert_active=timekeeper.alert_active,
        )
        # The first load (the cache, or validating a changed root) overlaps Qt's start-up,
        # but only after QtCore is in: shiboken's one-time signature set-up walks a dict
        # that a thread importing modules at the same moment changes, and the process
        # aborts ("could not initialize part 2 … dictionary changed size during iteration",
        # seen about once in 20 starts under load). QtWidgets and the rest still overlap.
        # What the first frame needs without Qt comes in before PySide6, whose import hook reads
        # the source of every module imported after it (the standard library's too): the
        # cache reading on the local-source thread, and the schedule with zoneinfo.
        import signage.feed.store
        import signage.schedule  # noqa: F401

        # isort: split
        import PySide6.QtCore  # noqa: F401

        local.prefetch()
        source: ContentSource = local
    else:
        from signage.sources.feed import FeedSource
        from signage.sources.multi import MultiFeedSource

        # Mirrors or an alerts-only key: several sources behind one cache (sources.multi).
        kind = MultiFeedSource if config.mirrors or config.alert_keys else FeedSource
        feed_source = kind(config, events, timekeeper=timekeeper)
        collect = feed_source.store.collect  # low free disk: the heartbeat collects this cache
        source = feed_source

    if not headless:
        from signage.player.display import guard_platform_start

        guard_platform_start()  # Qt's plugin failure: one line and exit 1, not an abort
    app = ensure_application()
    from signage.player.player import Player

    if headless:
        geometry: tuple[int, int] | None = size or (1920, 1080)
        fullscreen = False
    elif window is not None:
        geometry, fullscreen = window, False
    else:
        geometry, fullscreen = None, True
    from signage.player.layout import content_size

    # The shape slides are laid out for (a panel turned by the player is tall): the
    # schedule plays only playlists drawn for it.
    turned = content_size(config.rotation, *(geometry or primary_size()))
    config = config.with_overrides(orientation=Orientation.of(*turned))
    player = Player(
        config=config,
        source=source,
        events=events,
        size=turned if geometry else None,
        fullscreen=fullscreen,
        snapshots=args.snapshots,
        link_base=config.qr_link_base,
        qr_keep=config.cache / "qr",  # the next start reads its QR images instead of encoding
        frame_keep=frame_keep,
        timekeeper=timekeeper,
    )
    if config.rotation:
        from signage.player.rotation import RotatedScreen  # QGraphicsView: only when turned

        host = RotatedScreen(player.window, config.rotation)
        host.resize(*(geometry or primary_size()))
        player.show_through(host)
    blanking = None
    if fullscreen:
        from signage.player.blanking import inhibit_blanking

        blanking = inhibit_blanking()  # restored below: the desktop's saver comes back
    from signage.kiosk.systemd import attach

    attach(  # sd_notify, watchdog, beats
        player, config=config, events=events, collect=collect, timekeeper=timekeeper
    )
    uplink = None
    if config.hub_url is not None:  # no hub, no uplink; spares importing requests
        from signage.telemetry.uplink import uplink_for

        uplink = uplink_for(config)  # proof-of-play batches to the hub, spooled while it is down
    if uplink is not None:
        events.subscribe(uplink.offer)
        uplink.start()
    del app
    try:
        return player.run(args.for_s)
    finally:
        if uplink is not None:
            uplink.stop()
        if blanking is not None:
            blanking.restore()
