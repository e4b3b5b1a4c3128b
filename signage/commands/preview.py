"""``signage preview``: what a playlist will show at a moment, as PNGs and a contact sheet."""

from __future__ import annotations

import argparse
import difflib
import sys
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signage.errors import UsageError, ValidationError
from signage.validation import did_you_mean

if TYPE_CHECKING:
    from collections.abc import Iterable

    from signage.model import Playlist, Schedule
from signage.i18n import N_, _, ngettext

HELP = N_("render every slide of a playlist active at a moment to PNGs and a contact sheet")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("playlist", metavar="PLAYLIST", help=_("playlist id or its YAML file"))
    parser.add_argument(
        "--root", type=Path, default=Path(), metavar="DIR", help=_("content root (default .)")
    )
    parser.add_argument(
        "--at",
        metavar="ISO-8601",
        help=_(
            "the moment to preview (default now; without an offset, the screen's "
            "local time), e.g. 2027-01-04T09:00"
        ),
    )
    parser.add_argument(
        "--screen", metavar="ID", help=_("screen id (QR attribution; default 'vista-previa')")
    )
    parser.add_argument(
        "--tags", metavar="TAGS", help=_("screen tags, comma-separated (default: the playlist's)")
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help=_("output folder"))
    parser.add_argument(
        "--size",
        metavar="WxH",
        help=_("the screen's size (default 1920x1080, or 1080x1920 for a portrait playlist)"),
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=_("player configuration (locale, zone, hosts)"),
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help=_("render every slide, also those the schedule leaves out at that moment"),
    )


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


def _days(days: Iterable[int]) -> str:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return " ".join(names[d] for d in sorted(days))


def inactive_reason(schedule: Schedule | None, local: datetime) -> str | None:
    """Why ``schedule`` leaves a slide out at ``local`` (the screen's wall-clock time), in
    the user's words (dates, day, hour), or ``None`` when it is active then."""
    from signage.schedule import is_active

    if schedule is None or is_active(schedule, local):
        return None
    today = local.date()
    if schedule.start is not None and today < schedule.start:
        return _("starts on {date}").format(date=schedule.start.isoformat())
    if schedule.until is not None and today > schedule.until:
        return _("ended on {date}").format(date=schedule.until.isoformat())
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[today.weekday()]
    if schedule.days is not None and today.weekday() not in schedule.days:
        return _("plays only on {days}; that moment is a {day}").format(
            days=_days(schedule.days), day=day
        )
    windows = ", ".join(str(w) for w in schedule.hours)
    return _("plays only {windows}; that moment is {time}").format(
        windows=windows, time=local.strftime("%H:%M")
    )


def left_out(playlist: Playlist, local: datetime) -> list[tuple[str, str]]:
    """``(slide id, reason)`` for every slide of ``playlist`` not active at ``local``."""
    whole = inactive_reason(playlist.schedule, local)
    out = []
    for slide in playlist.slides:
        if whole is not None:
            out.append((slide.id, _("the playlist {reason}").format(reason=whole)))
            continue
        reason = inactive_reason(slide.schedule, local)
        if reason is not None:
            out.append((slide.id, reason))
    return out


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
        hint = did_you_mean(close[0]) if close else ""
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
            _(
                "note: '{playlist}' is drawn for {orientation} screens; "
                "a {width}x{height} screen does not play it"
            ).format(
                playlist=playlist.id,
                orientation=playlist.orientation,
                width=size[0],
                height=size[1],
            ),
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
    from signage.schedule import ScheduledSlide, screen_zone

    items = plan((playlist,), screen, at).slides
    skipped = left_out(playlist, at.astimezone(screen_zone(screen)))
    for slide_id, reason in skipped:
        line = (
            _("rendered although not active at {moment}: slide '{id}': {reason}")
            if args.all
            else _("not active at {moment}: slide '{id}': {reason} (--all renders it)")
        )
        print(line.format(moment=at.strftime("%Y-%m-%d %H:%M"), id=slide_id, reason=reason))
    if args.all:
        items = tuple(ScheduledSlide(playlist, slide) for slide in playlist.slides)
    if not items:
        print(
            _(
                "no slide of '{playlist}' is active at {moment} for screen {screen} (tags: {tags})"
            ).format(
                playlist=playlist.id,
                moment=at.isoformat(),
                screen=screen.id,
                tags=", ".join(sorted(screen.tags)) or _("none"),
            )
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
        note = _("  (poster: {problem})").format(problem=r.problem) if r.problem else ""
        print(f"{r.path}{note}")
    title = f"{playlist.name} · {at.strftime('%Y-%m-%d %H:%M')} · {screen.id}"
    sheet = contact_sheet(rendered, args.out, title=title)
    print(sheet)
    del app
    problems = [r for r in rendered if r.problem]
    if problems:
        print(
            ngettext(
                "{count} slide cannot be shown; see its poster",
                "{count} slides cannot be shown; see the posters",
                len(problems),
            ).format(count=len(problems)),
            file=sys.stderr,
        )
    return 0
