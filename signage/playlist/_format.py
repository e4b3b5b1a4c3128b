"""The playlist and theme formats, written once as field tables (check + JSON Schema).

``PLAYLIST`` describes a ``playlists/*.yaml`` file and ``THEME`` describes
``playlists/theme.yaml``. Each table's ``build`` functions turn the checked values into the
frozen model objects and report the problems that involve several keys at once: a slide
with none or two of image/video/web/text, duplicate slide ids, a schedule that can never be
active.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlsplit

from signage.i18n import N_, _
from signage.model import (
    DEFAULT_DURATION_S,
    Attribution,
    DataContent,
    Fit,
    HourWindow,
    Orientation,
    Origin,
    Overlays,
    Playlist,
    QRCode,
    Schedule,
    Slide,
    SlideKind,
    TextContent,
    Theme,
    TickerFeed,
    Transition,
    Weekday,
)
from signage.playlist._data import DATA, TickerItem
from signage.playlist._fields import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    Asset,
    DateValue,
    Days,
    Duration,
    Hours,
    HttpsUrl,
)
from signage.schedule import ever_active
from signage.validation import (
    INVALID,
    JSON,
    Boolean,
    Choice,
    Context,
    Field,
    Invalid,
    ListOf,
    Nullable,
    OrFalse,
    Record,
    Spec,
    Text,
    Values,
    YMap,
    YNode,
    YScalar,
)

SLIDE_ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
TAG_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
PARAM_PATTERN = r"[A-Za-z_][A-Za-z0-9_.-]{0,63}"
COLOUR_PATTERN = r"#[0-9a-fA-F]{6}"
SCHEMA_ID = "https://signage.oai.example.gov.co/schema/playlist.schema.json"


# ----------------------------------------------------------------------------- schedule


def _days_in(start: date, until: date) -> frozenset[Weekday]:
    span = (until - start).days
    if span >= 6:
        return frozenset(Weekday)
    return frozenset(Weekday((start + timedelta(days=i)).weekday()) for i in range(span + 1))


def _build_schedule(v: Values, ctx: Context) -> Schedule | Invalid:
    start: date | None = v.get("from", None)
    until: date | None = v.get("until", None)
    days: frozenset[Weekday] | None = v.get("days", None)
    hours: tuple[HourWindow, ...] = v.get("hours", ())
    if start is not None and until is not None:
        if until < start:
            return ctx.error(
                v.at("until"),
                _("'until' {isoformat} is before 'from' {isoformat2}, so this never plays").format(
                    isoformat=until.isoformat(), isoformat2=start.isoformat()
                ),
            )
        if days is not None and not (days & _days_in(start, until)):
            names = ", ".join(d.name.lower() for d in sorted(days))
            return ctx.error(
                v.at("days"),
                _(
                    "none of the days ({names}) falls between {isoformat} and {isoformat2}, "
                    "so this never plays"
                ).format(names=names, isoformat=start.isoformat(), isoformat2=until.isoformat()),
            )
    if not (v.written("from") or v.written("until") or v.written("days") or v.written("hours")):
        ctx.warn(v.node, _("an empty schedule changes nothing; remove it"))
    schedule = Schedule(start=start, until=until, days=days, hours=hours)
    if not ever_active(schedule):  # pragma: no cover - the checks above catch every case
        return ctx.error(v.node, _("this schedule can never be active; check dates, days, hours"))
    return schedule


SCHEDULE: Record[Schedule] = Record(
    {
        "from": Field(DateValue(), description="first day it plays (inclusive), YYYY-MM-DD"),
        "until": Field(DateValue(), description="last day it plays (inclusive), YYYY-MM-DD"),
        "days": Field(Days(), description="weekdays it plays: [mon, tue, ...] or mon-fri"),
        "hours": Field(
            Hours(),
            description="daily window(s) HH:MM-HH:MM in the screen's time zone; "
            "22:00-06:00 crosses midnight",
        ),
    },
    _build_schedule,
    title=N_("the schedule"),
    description="When it plays, in the screen's local time. Every part is optional; "
    "a window that crosses midnight continues into the next day.",
)


# ----------------------------------------------------------------------------- QR


def _build_qr(v: Values, ctx: Context) -> QRCode | Invalid:
    url: str | None = v.get("url", None)
    if url is None:
        return INVALID
    return QRCode(url=url, caption=v.get("caption", None), track=v.get("track", False))


QR: Record[QRCode] = Record(
    {
        "url": Field(HttpsUrl(), required=True, description="what the QR code opens (https)"),
        "caption": Field(Text(max_len=120), description="text beside the code"),
        "track": Field(
            Boolean(),
            description="encode a short hub link that counts scans before redirecting",
        ),
    },
    _build_qr,
    title=N_("the QR code"),
)
QR_OR_FALSE = OrFalse(QR, description="a QR code shown over the slide, or false for none")


# ----------------------------------------------------------------------------- slides


@dataclass(frozen=True, slots=True)
class SlideDraft:
    """A slide as written, before the playlist's defaults and id derivation are applied."""

    id: str | None
    kind: SlideKind
    source: str
    text: TextContent | None
    duration_s: float | None
    transition: Transition | None
    fit: Fit | None
    qr: QRCode | None
    qr_written: bool
    schedule: Schedule | None
    muted: bool
    node: YMap
    data: DataContent | None = None


def _build_text(v: Values, ctx: Context) -> TextContent | Invalid:
    title: str | None = v.get("title", None)
    if title is None:
        return INVALID
    return TextContent(
        title=title,
        body=v.get("body", None),
        image=v.get("image", None),
        background=v.get("background", None),
        tag=v.get("tag", None),
    )


TEXT: Record[TextContent] = Record(
    {
        "title": Field(Text(max_len=200), required=True, description="the headline"),
        "body": Field(Text(max_len=1200), description="a few lines under the title"),
        "image": Field(
            Asset(IMAGE_TYPES, N_("an image")), description="a picture beside the text (asset path)"
        ),
        "background": Field(
            Asset(IMAGE_TYPES, N_("an image")),
            description="a picture filling the slide under a legible scrim (asset path)",
        ),
        "tag": Field(
            Text(max_len=40),
            description="a short category label above the title, e.g. CIBERSEGURIDAD",
        ),
    },
    _build_text,
    title=N_("a text slide"),
)

KINDS = ("image", "video", "web", "text", "data")


def _build_slide(v: Values, ctx: Context) -> SlideDraft | Invalid:
    written = [k for k in KINDS if v.written(k)]
    if not written:
        return ctx.error(
            v.node, _("a slide needs one of image, video, web, text or data; none is given")
        )
    if len(written) > 1:
        return ctx.error(
            v.at(written[1]),
            _(
                "a slide shows one thing but this one has {items}; split it into separate slides"
            ).format(items=", ".join(written)),
        )
    kind = SlideKind(written[0])
    if not v.has(kind.value):
        return INVALID
    if v.written("muted") and kind is not SlideKind.VIDEO:
        ctx.warn(v.at("muted"), _("'muted' only matters for video slides; remove it"))
    data: DataContent | None = v.get("data", None) if kind is SlideKind.DATA else None
    if kind is SlideKind.TEXT:
        source = ""
    elif data is not None:
        source = ""
        if data.url is None and data.scans is None:
            source = _data_file(v)
    else:
        source = str(v.get(kind.value, ""))
    text: TextContent | None = v.get("text", None) if kind is SlideKind.TEXT else None
    return SlideDraft(
        id=v.get("id", None),
        kind=kind,
        source=source,
        text=text,
        duration_s=v.get("duration", None),
        transition=v.get("transition", None),
        fit=v.get("fit", None),
        qr=v.get("qr", None),
        qr_written=v.written("qr"),
        schedule=v.get("schedule", None),
        muted=v.get("muted", True),
        node=v.node,
        data=data,
    )


def _data_file(v: Values) -> str:
    """The ``file:`` written under a slide's ``data:`` (already checked by ``DATA``)."""
    node = v.at("data")
    file_node = node.get("file") if isinstance(node, YMap) else None
    value = file_node.value if isinstance(file_node, YScalar) else ""
    return str(value).strip()


SLIDE: Record[SlideDraft] = Record(
    {
        "id": Field(
            Text(
                pattern=SLIDE_ID_PATTERN,
                hint="lower-case letters, digits, '-' and '_', e.g. webinar-ciberseguridad",
            ),
            description="unique in the playlist; derived from the file name or title when absent",
        ),
        "image": Field(
            Asset(IMAGE_TYPES, N_("an image")),
            description="a picture (PNG, JPEG, WebP, GIF, SVG) under the content root",
        ),
        "video": Field(
            Asset(VIDEO_TYPES, N_("a video")),
            description="a video (MP4, MOV, WebM, MKV) under the content root",
        ),
        "web": Field(HttpsUrl(), description="an https page shown full screen"),
        "text": Field(TEXT, description="a title and body drawn in the theme's colours"),
        "data": Field(DATA, description="a figure, chart or table drawn from a CSV/JSON file"),
        "duration": Field(
            Duration(),
            description="time on screen: 10s, 2m, 1m30s; a video plays its own length if absent",
        ),
        "transition": Field(Choice(Transition), description="how it replaces the previous slide"),
        "fit": Field(
            Choice(Fit), description="contain: whole picture visible; cover: fill and crop"
        ),
        "qr": Field(QR_OR_FALSE),
        "schedule": Field(SCHEDULE),
        "muted": Field(Boolean(), description="video sound off (default true)"),
    },
    _build_slide,
    title=N_("a slide"),
    extra_schema={"oneOf": [{"required": [k]} for k in KINDS]},
    misplaced={
        "name": N_("the playlist (top level)"),
        "tags": N_("the playlist (top level)"),
        "slides": N_("the playlist (top level)"),
        "title": N_("'text:' (title and body go under text)"),
        "body": N_("'text:' (title and body go under text)"),
        "url": N_("'qr:' (url and caption go under qr)"),
        "caption": N_("'qr:' (url and caption go under qr)"),
        "from": N_("'schedule:'"),
        "until": N_("'schedule:'"),
        "days": N_("'schedule:'"),
        "hours": N_("'schedule:'"),
    },
)


# ----------------------------------------------------------------------------- playlist


def _default_qr(defaults: Defaults, kind: SlideKind) -> QRCode | None:
    """The playlist's default QR for a slide of ``kind`` that says nothing about its QR."""
    if defaults.qr_kinds is not None and kind not in defaults.qr_kinds:
        return None
    return defaults.qr


@dataclass(frozen=True, slots=True)
class Defaults:
    """A playlist's ``defaults:``; ``qr_written`` tells ``qr: false`` from no ``qr``."""

    duration_s: float = DEFAULT_DURATION_S
    transition: Transition = Transition.FADE
    fit: Fit = Fit.CONTAIN
    qr: QRCode | None = None
    qr_kinds: frozenset[SlideKind] | None = None  # None: the default QR on every kind


def _build_defaults(v: Values, ctx: Context) -> Defaults:
    return Defaults(
        duration_s=v.get("duration", DEFAULT_DURATION_S),
        transition=v.get("transition", Transition.FADE),
        fit=v.get("fit", Fit.CONTAIN),
        qr=v.get("qr", None),
        qr_kinds=frozenset(v.get("qr_on", ())) if v.has("qr_on") else None,
    )


DEFAULTS: Record[Defaults] = Record(
    {
        "duration": Field(Duration(), description="slides without their own (videos excepted)"),
        "transition": Field(Choice(Transition)),
        "fit": Field(Choice(Fit)),
        "qr": Field(QR_OR_FALSE, description="QR shown on every slide unless it says otherwise"),
        "qr_on": Field(
            ListOf(Choice(SlideKind), max_items=len(SlideKind)),
            description="the kinds of slide the default QR goes on (absent: every kind), "
            "e.g. [text, video]: infographics that carry their own QR get none",
        ),
    },
    _build_defaults,
    title=N_("defaults"),
    description="values every slide takes unless it sets its own",
)


def _build_overlays(v: Values, ctx: Context) -> Overlays:
    return Overlays(
        qr=v.get("qr", True),
        clock=v.get("clock", True),
        ticker=v.get("ticker", True),
        logo=v.get("logo", True),
    )


OVERLAYS: Record[Overlays] = Record(
    {
        name: Field(Boolean(), description=f"show the {name} overlay (default true)")
        for name in ("qr", "clock", "ticker", "logo")
    },
    _build_overlays,
    title=N_("overlays"),
)


def _build_attribution(v: Values, ctx: Context) -> Attribution:
    base = Attribution()
    return Attribution(
        screen=v.get("screen", base.screen),
        playlist=v.get("playlist", base.playlist),
        slide=v.get("slide", base.slide),
        medium=v.get("medium", base.medium),
        medium_value=v.get("medium_value", base.medium_value),
    )


_PARAM = Text(pattern=PARAM_PATTERN, hint="a query parameter name such as utm_source")
ATTRIBUTION: Record[Attribution] = Record(
    {
        "screen": Field(Nullable(_PARAM), description="parameter naming the screen, or null"),
        "playlist": Field(Nullable(_PARAM), description="parameter naming the playlist"),
        "slide": Field(Nullable(_PARAM), description="parameter naming the slide"),
        "medium": Field(Nullable(_PARAM), description="parameter naming the medium"),
        "medium_value": Field(Text(max_len=64), description="value of the medium parameter"),
    },
    _build_attribution,
    title=N_("attribution"),
    description="query parameters added to QR URLs so surveys know which screen and slide",
)


def slugify(text: str, limit: int = 48) -> str:
    """``"Webinar: ciberseguridad"`` -> ``"webinar-ciberseguridad"`` (accents dropped)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return slug[:limit].rstrip("-")


def _derived_id(draft: SlideDraft, index: int) -> str:
    if draft.kind in (SlideKind.IMAGE, SlideKind.VIDEO):
        base = slugify(draft.source.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    elif draft.kind is SlideKind.TEXT and draft.text is not None:
        base = slugify(draft.text.title)
    elif draft.data is not None:
        base = slugify(draft.data.title)
    else:
        parts = urlsplit(draft.source)
        last = [p for p in parts.path.split("/") if p]
        base = slugify(last[-1] if last else (parts.hostname or ""))
    return base or f"{draft.kind.value}-{index + 1}"


def _build_playlist(v: Values, ctx: Context) -> Playlist | Invalid:
    name: str | None = v.get("name", None)
    drafts: tuple[SlideDraft, ...] = v.get("slides", ())
    defaults: Defaults = v.get("defaults", Defaults())
    schedule: Schedule | None = v.get("schedule", None)
    explicit: dict[str, YNode] = {}
    ok = name is not None
    for draft in drafts:
        if draft.schedule is not None and not ever_active(schedule, draft.schedule):
            ok = False
            ctx.error(
                draft.node.get("schedule"),
                _(
                    "this slide's schedule never meets its playlist's schedule (dates, days "
                    "and hours never coincide), so it never plays"
                ),
            )
        if draft.id is None:
            continue
        if draft.id in explicit:
            ok = False
            first = explicit[draft.id]
            ctx.error(
                draft.node.get("id"),
                _(
                    "duplicate slide id '{id}' (first used on line {line}); ids must be "
                    "unique in a playlist"
                ).format(id=draft.id, line=first.line),
            )
        else:
            explicit[draft.id] = draft.node.get("id") or draft.node
    used = set(explicit)
    slides: list[Slide] = []
    for index, draft in enumerate(drafts):
        slide_id = draft.id
        if slide_id is None:
            base = _derived_id(draft, index)
            slide_id, n = base, 2
            while slide_id in used:
                slide_id, n = f"{base}-{n}", n + 1
            used.add(slide_id)
        if draft.duration_s is not None:
            duration: float | None = draft.duration_s
        elif draft.kind is SlideKind.VIDEO:
            duration = None
        else:
            duration = defaults.duration_s
        slides.append(
            Slide(
                id=slide_id,
                kind=draft.kind,
                source=draft.source,
                text=draft.text,
                duration_s=duration,
                transition=draft.transition or defaults.transition,
                fit=draft.fit or defaults.fit,
                qr=draft.qr if draft.qr_written else _default_qr(defaults, draft.kind),
                schedule=draft.schedule,
                muted=draft.muted,
                origin=Origin(ctx.path, draft.node.line, draft.node.col),
                data=draft.data,
            )
        )
    ids = {s.id for s in slides}
    for draft, built in zip(drafts, slides, strict=True):
        scope = built.data.scans if built.data is not None else None
        if scope is not None and scope not in ("all", "playlist") and scope not in ids:
            ok = False
            ctx.error(draft.node, f"scans: no slide '{scope}' in this playlist (or all, playlist)")
    if not ok or name is None:
        return INVALID
    ticker: tuple[str | TickerFeed, ...] = v.get("ticker", ())
    return Playlist(
        id="",
        name=name,
        slides=tuple(slides),
        tags=v.get("tags", None),
        schedule=schedule,
        overlays=v.get("overlays", Overlays()),
        ticker=tuple(t for t in ticker if isinstance(t, str)),
        ticker_feeds=tuple(
            replace(t, position=i) for i, t in enumerate(ticker) if not isinstance(t, str)
        ),
        attribution=v.get("attribution", Attribution()),
        origin=Origin(ctx.path, v.node.line, v.node.col),
        orientation=v.get("orientation", Orientation.BOTH),
    )


class Tags(Spec[frozenset[str]]):
    """A non-empty list of tag words, read as a frozenset."""

    def __init__(self) -> None:
        self.words = ListOf(
            Text(pattern=TAG_PATTERN, hint="a word such as lobby or piso-1"),
            min_items=1,
            max_items=100,
            description="screens with any of these tags play it; absent = every screen",
        )

    def convert(self, node: YNode, ctx: Context) -> frozenset[str] | Invalid:
        items = self.words.convert(node, ctx)
        return items if isinstance(items, Invalid) else frozenset(items)

    def schema(self) -> JSON:
        return self.words.schema()


PLAYLIST: Record[Playlist] = Record(
    {
        "name": Field(Text(max_len=120), required=True, description="shown to comms staff"),
        "tags": Field(Tags()),
        "orientation": Field(
            Choice(Orientation),
            description="the screens it is drawn for: landscape, portrait or both (default); "
            "a screen plays only what fits it",
        ),
        "defaults": Field(DEFAULTS),
        "schedule": Field(SCHEDULE, description="when the whole playlist plays"),
        "overlays": Field(OVERLAYS),
        "ticker": Field(
            ListOf(TickerItem(), max_items=50),
            description="headlines scrolling in the ticker overlay; an item {feed: URL, "
            "count, max_age} brings news from an RSS/Atom feed (fetched by the publisher)",
        ),
        "attribution": Field(ATTRIBUTION),
        "slides": Field(
            ListOf(SLIDE, min_items=1, max_items=500),
            required=True,
            description="shown in this order, each with exactly one of image, video, web, "
            "text, data",
        ),
    },
    _build_playlist,
    title=N_("the playlist"),
    misplaced={
        **dict.fromkeys((*KINDS, "id", "fit", "muted"), "a slide (under 'slides:', after '- ')"),
        "duration": N_("a slide or 'defaults:'"),
        "transition": N_("a slide or 'defaults:'"),
        "qr": N_("a slide or 'defaults:'"),
        "from": N_("'schedule:'"),
        "until": N_("'schedule:'"),
        "days": N_("'schedule:'"),
        "hours": N_("'schedule:'"),
    },
    description="A playlist of the signage player (one file under playlists/).",
)


# ----------------------------------------------------------------------------- theme


def _build_theme(v: Values, ctx: Context) -> Theme:
    base = Theme()
    return replace(
        base,
        **{name: v.get(name, getattr(base, name)) for name in THEME_FIELDS},
    )


_COLOUR = Text(
    pattern=COLOUR_PATTERN,
    hint="a colour written #rrggbb, e.g. '#0b2545'",
    empty_hint="write the colour in quotes, e.g. '#0b2545' (an unquoted # starts a comment)",
)
THEME_FIELDS = (
    "background",
    "foreground",
    "accent",
    "muted",
    "font_family",
    "title_font_family",
    "logo",
    "organisation",
)
THEME: Record[Theme] = Record(
    {
        "background": Field(_COLOUR, description="slide and idle background"),
        "foreground": Field(_COLOUR, description="text colour"),
        "accent": Field(_COLOUR, description="titles, the ticker bar"),
        "muted": Field(_COLOUR, description="secondary text"),
        "font_family": Field(Text(max_len=100), description="body font"),
        "title_font_family": Field(Text(max_len=100), description="title font"),
        "logo": Field(Asset(IMAGE_TYPES, N_("an image")), description="logo asset path"),
        "organisation": Field(Text(max_len=120), description="organisation name on screen"),
    },
    _build_theme,
    title=N_("the theme"),
    description="Colours, fonts and logo of playlists/theme.yaml.",
)


def theme_json_schema() -> JSON:
    """The JSON Schema of ``playlists/theme.yaml`` (also the playlist schema's ``$defs.theme``)."""
    schema: JSON = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.replace("playlist.schema", "theme.schema"),
        "title": "signage theme",
    }
    schema.update(THEME.schema())
    return schema


def json_schema() -> JSON:
    """The JSON Schema (draft 2020-12) of a playlist file, from the same table as the checks."""
    schema: JSON = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "signage playlist",
    }
    schema.update(PLAYLIST.schema())
    schema["$defs"] = {"theme": THEME.schema()}
    return schema
