"""``signage preview``: what a playlist will show at a moment, as PNGs and a contact sheet."""

from __future__ import annotations

import argparse
import difflib
import sys
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signage.errors import UsageError, ValidationError
from signage.i18n import N_, _

HELP = N_("render every slide of a playlist active at a moment to PNGs and a contact sheet")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("playlist", metavar="PLAYLIST", help=_("playlist id or its YAML file"))
    parser.add_argument("--root", type=Path, default=Path(), help=_("content root (default .)"))
    parser.add_argument(
        "--at",
        metavar="ISO-8601",
        help=_(
            "the moment to preview (default now; without an offset, the screen's "
            "local time), e.g. 2027-01-04T09:00"
        ),
    )
    parser.add_argument("--screen", help=_("screen id (QR attribution; default 'vista-previa')"))
    parser.add_argument("--tags", help=_("screen tags, comma-separated (default: the playlist's)"))
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help=_("output folder"))
    parser.add_argument(
        "--size",
        metavar="WxH",
        help=_("the screen's size (default 1920x1080, or 1080x1920 for a portrait playlist)"),
    )
    parser.add_argument("--config", type=Path, help=_("player configuration (locale, zone, hosts)"))


def parse_moment(text: str | None, timezone: str, now: datetime) -> datetime:
    """``--at`` as an aware moment; a value without offset is read in the screen's zone."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            _("unknown time zone {timezone}").format(timezone=repr(timezone))
        ) from None
    if text is None:
        return now.astimezone(zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            _(
                "--at {text}: expected ISO 8601, e.g. 2027-01-04T09:00 or 2027-01-04T09:00-05:00"
            ).format(text=repr(text))
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def run(args: argparse.Namespace) -> int:
    from signage.commands.play import parse_size, parse_tags
    from signage.config import PlayerConfig, load_config
    from signage.model import Content, Screen
    from signage.playlist import load_content_root

    root: Path = args.root
    if not (root / "playlists").is_dir():
        raise UsageError(
            _("{root}: no playlists/ folder here; pass --root CONTENT_ROOT").format(root=root)
        )
    config = load_config(args.config) if args.config else PlayerConfig(screen="vista-previa")
    wanted = (
        Path(args.playlist).stem if args.playlist.endswith((".yaml", ".yml")) else (args.playlist)
    )
    load = load_content_root(root, allowed_hosts=config.allowed_hosts)
    errors = load.errors_by_file()
    bad = [p for f, ps in errors.items() if Path(f).stem == wanted for p in ps]
    if bad:
        raise ValidationError(bad)
    playlist = next((p for p in load.playlists if p.id == wanted), None)
    if playlist is None:
        ids = sorted(p.id for p in load.playlists)
        close = difflib.get_close_matches(wanted, ids, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UsageError(
            _("no playlist '{wanted}' in {value}{hint}; there are: {value2}").format(
                wanted=wanted, value=root / "playlists", hint=hint, value2=", ".join(ids) or "none"
            )
        )
    from signage.model import Orientation

    portrait = playlist.orientation is Orientation.PORTRAIT
    size = parse_size(args.size or ("1080x1920" if portrait else "1920x1080"), "--size")
    if not playlist.orientation.fits(Orientation.of(*size)):
        print(
            f"note: '{playlist.id}' is drawn for {playlist.orientation} screens; a "
            f"{size[0]}x{size[1]} screen does not play it",
            file=sys.stderr,
        )
    tags = parse_tags(args.tags)
    screen = Screen(
        id=args.screen or config.screen,
        tags=tags if tags is not None else (playlist.tags or frozenset()),
        timezone=config.timezone,
        locale=config.locale,
    )
    at = parse_moment(args.at, screen.timezone, datetime.now().astimezone())

    from signage.feed.manifest import referenced_assets
    from signage.schedule import plan

    assets = {
        path: (root / path).resolve()
        for path in referenced_assets((playlist,), load.theme)
        if (root / path).is_file()
    }
    content = Content(
        version=0,
        playlists=(playlist,),
        theme=load.theme,
        assets=MappingProxyType(assets),
        source=str(root.resolve()),
    )
    items = plan((playlist,), screen, at).slides
    if not items:
        print(
            f"no slide of '{playlist.id}' is active at {at.isoformat()} for screen "
            f"{screen.id} (tags: {', '.join(sorted(screen.tags)) or 'none'})"
        )
        return 0

    from signage.player.qtenv import ensure_application, prepare_environment

    prepare_environment(headless=True)
    app = ensure_application("signage-preview")
    from signage.player.render import contact_sheet, render_slides

    rendered = render_slides(
        content,
        items,
        out=args.out,
        size=size,
        at=at,
        screen=screen,
        config=config,
        link_base=config.qr_link_base,
    )
    for r in rendered:
        note = f"  (poster: {r.problem})" if r.problem else ""
        print(f"{r.path}{note}")
    title = f"{playlist.name} · {at.strftime('%Y-%m-%d %H:%M')} · {screen.id}"
    sheet = contact_sheet(rendered, args.out, title=title)
    print(sheet)
    del app
    problems = [r for r in rendered if r.problem]
    if problems:
        print(f"{len(problems)} slide(s) cannot be shown; see the posters", file=sys.stderr)
    return 0
