"""Feed codec: the domain values (playlists, slides, theme, alerts) to and from JSON values.

The manifest, the hub's alert API and the alert store all write these shapes, so they are
defined once here. Encoders return plain JSON values (dict/list/str/int/float/bool/None);
decoders accept exactly those and raise ``FeedError`` naming the JSON path of the first
wrong value. Unknown keys are ignored so a newer producer can add fields within a format.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from signage.errors import FeedError
from signage.i18n import N_
from signage.model import (
    Attribution,
    Fit,
    HourWindow,
    Orientation,
    Overlays,
    Playlist,
    QRCode,
    Schedule,
    Slide,
    SlideKind,
    TextContent,
    Theme,
    Transition,
    Weekday,
)

if TYPE_CHECKING:  # loaded where an alert or a data slide is decoded (not for a picture)
    from signage.model import Alert, AlertText, DataContent

__all__ = [
    "alert_from_json",
    "alert_to_json",
    "format_time",
    "parse_time",
    "playlist_from_json",
    "playlist_to_json",
    "theme_from_json",
    "theme_to_json",
]

Json = Any  # a JSON value as json.loads returns it
E = TypeVar("E", bound=StrEnum)  # SlideKind, Fit, Transition, Orientation, Chart, Severity...

_DAYS = {d: d.name.lower() for d in Weekday}
_DAY_BY_NAME = {v: k for k, v in _DAYS.items()}


# ---------------------------------------------------------------------------- time values


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (seconds precision unless there are microseconds)."""
    if moment.tzinfo is None:
        raise ValueError("a feed time must be timezone-aware")
    utc = moment.astimezone(UTC)
    spec = "microseconds" if utc.microsecond else "seconds"
    return utc.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_time(value: Json, where: str) -> datetime:
    """An aware datetime from an RFC 3339 string; FeedError otherwise."""
    if not isinstance(value, str):
        raise FeedError(N_("{where}: expected an RFC 3339 time string"), where=where)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FeedError(
            N_("{where}: {value} is not an RFC 3339 time"), where=where, value=repr(value)
        ) from None
    if moment.tzinfo is None:
        raise FeedError(N_("{where}: {value} has no UTC offset"), where=where, value=repr(value))
    return moment


# ---------------------------------------------------------------------------- readers


class _Obj:
    """A JSON object being decoded, with its path for messages."""

    __slots__ = ("data", "where")

    def __init__(self, value: Json, where: str) -> None:
        if not isinstance(value, dict):
            raise FeedError(N_("{where}: expected a JSON object"), where=where)
        self.data: dict[str, Json] = value
        self.where = where

    def at(self, key: str) -> str:
        return f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def req(self, key: str) -> Json:
        if key not in self.data or self.data[key] is None:
            raise FeedError(N_("{where}: missing"), where=self.at(key))
        return self.data[key]

    def string(self, key: str, default: str | None = None) -> str:
        if not self.has(key):
            if default is not None:
                return default
            raise FeedError(N_("{where}: missing"), where=self.at(key))
        value = self.data[key]
        if not isinstance(value, str):
            raise FeedError(N_("{where}: expected a string"), where=self.at(key))
        return value

    def opt_string(self, key: str) -> str | None:
        return self.string(key) if self.has(key) else None

    def boolean(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            raise FeedError(N_("{where}: expected true or false"), where=self.at(key))
        return value

    def number(self, key: str) -> float | None:
        if not self.has(key):
            return None
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FeedError(N_("{where}: expected a number"), where=self.at(key))
        if not math.isfinite(value) or value < 0:
            raise FeedError(N_("{where}: expected a finite number >= 0"), where=self.at(key))
        return float(value)

    def enum(self, key: str, kind: type[E], default: E | None = None) -> E:
        if not self.has(key) and default is not None:
            return default
        raw = self.string(key)
        try:
            return kind(raw)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise FeedError(
                N_("{where}: {raw} is not one of {allowed}"),
                where=self.at(key),
                raw=repr(raw),
                allowed=allowed,
            ) from None

    def list(self, key: str) -> list[Json]:
        if not self.has(key):
            return []
        value = self.data[key]
        if not isinstance(value, list):
            raise FeedError(N_("{where}: expected a list"), where=self.at(key))
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        items = self.list(key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise FeedError(
                    N_("{where}[{index}]: expected a string"), where=self.at(key), index=i
                )
        return tuple(items)

    def tags(self, key: str) -> frozenset[str] | None:
        if not self.has(key):
            return None
        return frozenset(self.strings(key))


# ---------------------------------------------------------------------------- schedule


def _schedule_to_json(schedule: Schedule | None) -> Json:
    if schedule is None:
        return None
    return {
        "from": schedule.start.isoformat() if schedule.start else None,
        "until": schedule.until.isoformat() if schedule.until else None,
        "days": ([_DAYS[d] for d in sorted(schedule.days)] if schedule.days is not None else None),
        "hours": [str(w) for w in schedule.hours],
    }


def _date(obj: _Obj, key: str) -> date | None:
    text = obj.opt_string(key)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FeedError(
            N_("{where}: {text} is not an ISO date YYYY-MM-DD"), where=obj.at(key), text=repr(text)
        ) from None


def _hour_window(text: str, where: str) -> HourWindow:
    def minutes(part: str) -> int:
        hh, sep, mm = part.partition(":")
        if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
            raise ValueError(part)
        value = int(hh) * 60 + int(mm)
        if int(mm) >= 60 or value > 1440:
            raise ValueError(part)
        return value

    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError(text)
        return HourWindow(minutes(start), minutes(end))
    except ValueError:
        raise FeedError(
            N_("{where}: {text} is not a window HH:MM-HH:MM"), where=where, text=repr(text)
        ) from None


def _schedule_from_json(value: Json, where: str) -> Schedule | None:
    if value is None:
        return None
    obj = _Obj(value, where)
    days: frozenset[Weekday] | None = None
    if obj.has("days"):
        found = set()
        for i, name in enumerate(obj.strings("days")):
            if name not in _DAY_BY_NAME:
                raise FeedError(
                    N_("{where}[{index}]: {name} is not a day (mon ... sun)"),
                    where=obj.at("days"),
                    index=i,
                    name=repr(name),
                )
            found.add(_DAY_BY_NAME[name])
        days = frozenset(found)
    hours = tuple(
        _hour_window(text, f"{obj.at('hours')}[{i}]") for i, text in enumerate(obj.strings("hours"))
    )
    return Schedule(start=_date(obj, "from"), until=_date(obj, "until"), days=days, hours=hours)


# ---------------------------------------------------------------------------- slides


def _text_to_json(text: TextContent) -> Json:
    out: dict[str, Json] = {"title": text.title, "body": text.body, "image": text.image}
    if text.background is not None:  # absent in feeds of text slides without them
        out["background"] = text.background
    if text.tag is not None:
        out["tag"] = text.tag
    return out


def _data_to_json(data: DataContent) -> Json:
    return {
        "chart": data.chart.value,
        "title": data.title,
        "label": data.label,
        "values": list(data.values),
        "note": data.note,
        "tag": data.tag,
        "credit": data.credit,
        "decimals": data.decimals,
        "unit": data.unit,
        "decimal_comma": data.decimal_comma,
        "card": data.card,
        "card_caption": data.card_caption,
        "rows": data.rows,
        "url": data.url,
        "refresh_s": data.refresh_s,
        "as_of": data.as_of.isoformat() if data.as_of else None,
        "scans": data.scans,
        "period": data.period,
    }


def _data_from_json(value: Json, where: str) -> DataContent:
    from signage.model import Chart, DataContent

    obj = _Obj(value, where)
    decimals, rows = obj.number("decimals"), obj.number("rows")
    return DataContent(
        chart=obj.enum("chart", Chart),
        title=obj.string("title"),
        label=obj.string("label"),
        values=obj.strings("values"),
        note=obj.opt_string("note"),
        tag=obj.opt_string("tag"),
        credit=obj.opt_string("credit"),
        decimals=min(3, int(decimals or 0)),
        unit=obj.string("unit", default=""),
        decimal_comma=obj.boolean("decimal_comma", True),
        card=obj.opt_string("card"),
        card_caption=obj.opt_string("card_caption"),
        rows=int(rows) if rows else None,
        url=obj.opt_string("url"),
        refresh_s=obj.number("refresh_s"),
        as_of=_date(obj, "as_of"),
        scans=obj.opt_string("scans"),
        period=obj.string("period", default="month"),
    )


def _slide_to_json(slide: Slide) -> Json:
    out = _slide_fields(slide)
    if slide.data is not None:  # only data slides carry the key: other manifests unchanged
        out["data"] = _data_to_json(slide.data)
    return out


def _slide_fields(slide: Slide) -> dict[str, Json]:
    return {
        "id": slide.id,
        "kind": slide.kind.value,
        "source": slide.source,
        "text": (None if slide.text is None else _text_to_json(slide.text)),
        "duration_s": slide.duration_s,
        "transition": slide.transition.value,
        "fit": slide.fit.value,
        "qr": (
            None
            if slide.qr is None
            else {"url": slide.qr.url, "caption": slide.qr.caption, "track": slide.qr.track}
        ),
        "schedule": _schedule_to_json(slide.schedule),
        "muted": slide.muted,
    }


def _slide_from_json(value: Json, where: str) -> Slide:
    obj = _Obj(value, where)
    kind = obj.enum("kind", SlideKind)
    text: TextContent | None = None
    if obj.has("text"):
        t = _Obj(obj.data["text"], obj.at("text"))
        text = TextContent(
            title=t.string("title"),
            body=t.opt_string("body"),
            image=t.opt_string("image"),
            background=t.opt_string("background"),
            tag=t.opt_string("tag"),
        )
    if kind is SlideKind.TEXT and text is None:
        raise FeedError(N_("{where}: a text slide needs its text"), where=obj.at("text"))
    source = obj.string("source", default="")
    data = _data_from_json(obj.data["data"], obj.at("data")) if obj.has("data") else None
    if kind is SlideKind.DATA and data is None:
        raise FeedError(N_("{where}: a data slide needs its data"), where=obj.at("data"))
    if kind not in (SlideKind.TEXT, SlideKind.DATA) and not source:
        raise FeedError(
            N_("{where}: a {kind} slide needs a source"), where=obj.at("source"), kind=kind.value
        )
    qr: QRCode | None = None
    if obj.has("qr"):
        q = _Obj(obj.data["qr"], obj.at("qr"))
        qr = QRCode(
            url=q.string("url"), caption=q.opt_string("caption"), track=q.boolean("track", False)
        )
    return Slide(
        id=obj.string("id"),
        kind=kind,
        source=source,
        text=text,
        duration_s=obj.number("duration_s"),
        transition=obj.enum("transition", Transition, Transition.FADE),
        fit=obj.enum("fit", Fit, Fit.CONTAIN),
        qr=qr,
        schedule=_schedule_from_json(obj.data.get("schedule"), obj.at("schedule")),
        muted=obj.boolean("muted", True),
        data=data,
    )


def _slide_plain(value: Json) -> Slide | None:
    """The slide ``_slide_from_json`` decodes from ``value``, by a shorter way for the
    common shape (no data, no schedule or a valid one), or ``None``: then the full decoder
    runs and says what is wrong. Never accepts what that decoder refuses (a test compares
    the two on generated slides); a feed of 450 slides parsed in 4.6 ms, 2.6 ms of them
    here (bench/README.md, "issue 17, fourth pass")."""
    if type(value) is not dict:
        return None
    get = value.get
    kind = _member(_SLIDE_KINDS, get("kind"))
    source = get("source")
    if source is None:
        source = ""
    elif type(source) is not str:
        return None
    if kind is None or get("data") is not None or kind is SlideKind.DATA:
        return None
    text: TextContent | None = None
    if (raw_text := get("text")) is not None:
        if type(raw_text) is not dict:
            return None
        title = raw_text.get("title")
        rest = [raw_text.get(k) for k in ("body", "image", "background", "tag")]
        if type(title) is not str or any(f is not None and type(f) is not str for f in rest):
            return None
        text = TextContent(title, rest[0], rest[1], rest[2], rest[3])
    elif kind is SlideKind.TEXT:
        return None
    if not source and kind is not SlideKind.TEXT:
        return None
    qr: QRCode | None = None
    if (raw_qr := get("qr")) is not None:
        if type(raw_qr) is not dict:
            return None
        url, caption, track = raw_qr.get("url"), raw_qr.get("caption"), raw_qr.get("track")
        if track is None:
            track = False
        if type(url) is not str or (caption is not None and type(caption) is not str):
            return None
        if type(track) is not bool:
            return None
        qr = QRCode(url=url, caption=caption, track=track)
    slide_id = get("id")
    duration = get("duration_s")
    if duration is not None:
        if type(duration) not in (int, float) or not math.isfinite(duration) or duration < 0:
            return None
        duration = float(duration)
    raw = get("transition")
    transition = Transition.FADE if raw is None else _member(_TRANSITIONS, raw)
    raw = get("fit")
    fit = Fit.CONTAIN if raw is None else _member(_FITS, raw)
    muted = get("muted")
    if muted is None:
        muted = True
    if type(slide_id) is not str or transition is None or fit is None or type(muted) is not bool:
        return None
    raw = get("schedule")
    schedule = None if raw is None else _schedule_from_json(raw, "")  # "": see _slide
    return Slide(
        id=slide_id,
        kind=kind,
        source=source,
        text=text,
        duration_s=duration,
        transition=transition,
        fit=fit,
        qr=qr,
        schedule=schedule,
        muted=muted,
    )


def _slide(value: Json, where: str, index: int) -> Slide:
    """``_slide_from_json(value, f"{where}[{index}]")``, by ``_slide_plain`` when it can."""
    try:
        plain = _slide_plain(value)
    except FeedError:  # a schedule it refused: the full decoder names where
        plain = None
    return plain if plain is not None else _slide_from_json(value, f"{where}[{index}]")


def _member(members: dict[str, E], raw: Json) -> E | None:
    return members.get(raw) if type(raw) is str else None


_SLIDE_KINDS = {m.value: m for m in SlideKind}
_TRANSITIONS = {m.value: m for m in Transition}
_FITS = {m.value: m for m in Fit}


# ---------------------------------------------------------------------------- playlists


def playlist_to_json(playlist: Playlist) -> Json:
    """A playlist as the manifest's ``playlists[]`` entry."""
    o, a = playlist.overlays, playlist.attribution
    return {
        "id": playlist.id,
        "name": playlist.name,
        "tags": sorted(playlist.tags) if playlist.tags is not None else None,
        "schedule": _schedule_to_json(playlist.schedule),
        "overlays": {"qr": o.qr, "clock": o.clock, "ticker": o.ticker, "logo": o.logo},
        "ticker": list(playlist.ticker),
        "attribution": {
            "screen": a.screen,
            "playlist": a.playlist,
            "slide": a.slide,
            "medium": a.medium,
            "medium_value": a.medium_value,
        },
        "slides": [_slide_to_json(s) for s in playlist.slides],
        # only when not the default: manifests of content without it stay byte for byte
        **(
            {"orientation": playlist.orientation.value}
            if playlist.orientation.value != "both"
            else {}
        ),
    }


def _attribution_from_json(value: Json, where: str) -> Attribution:
    if value is None:
        return Attribution()
    obj = _Obj(value, where)
    default = Attribution()

    def name(key: str, fallback: str | None) -> str | None:
        if key not in obj.data:
            return fallback
        return obj.opt_string(key)

    return Attribution(
        screen=name("screen", default.screen),
        playlist=name("playlist", default.playlist),
        slide=name("slide", default.slide),
        medium=name("medium", default.medium),
        medium_value=obj.string("medium_value", default=default.medium_value),
    )


def playlist_from_json(value: Json, where: str = "playlist") -> Playlist:
    """Decodes a manifest's playlist entry; FeedError naming the wrong value."""
    obj = _Obj(value, where)
    overlays = Overlays()
    if obj.has("overlays"):
        ov = _Obj(obj.data["overlays"], obj.at("overlays"))
        overlays = Overlays(
            qr=ov.boolean("qr", True),
            clock=ov.boolean("clock", True),
            ticker=ov.boolean("ticker", True),
            logo=ov.boolean("logo", True),
        )
    where = obj.at("slides")
    slides = tuple(_slide(s, where, i) for i, s in enumerate(obj.list("slides")))
    ids = [s.id for s in slides]
    if len(set(ids)) != len(ids):
        raise FeedError(
            N_("{where}: slide ids must be unique in a playlist"), where=obj.at("slides")
        )
    return Playlist(
        id=obj.string("id"),
        name=obj.string("name"),
        slides=slides,
        tags=obj.tags("tags"),
        schedule=_schedule_from_json(obj.data.get("schedule"), obj.at("schedule")),
        overlays=overlays,
        ticker=obj.strings("ticker"),
        attribution=_attribution_from_json(obj.data.get("attribution"), obj.at("attribution")),
        orientation=obj.enum("orientation", Orientation, default=Orientation.BOTH),
    )


# ---------------------------------------------------------------------------- theme


_THEME_FIELDS = (
    "background",
    "foreground",
    "accent",
    "muted",
    "font_family",
    "title_font_family",
    "organisation",
)


def theme_to_json(theme: Theme) -> Json:
    """The theme as the manifest's ``theme`` object."""
    out: dict[str, Json] = {name: getattr(theme, name) for name in _THEME_FIELDS}
    out["logo"] = theme.logo
    if theme.links_base is not None:  # absent in feeds of roots without settings
        out["links_base"] = theme.links_base
    if theme.allowed_hosts:
        out["allowed_hosts"] = sorted(theme.allowed_hosts)
    return out


def theme_from_json(value: Json, where: str = "theme") -> Theme:
    """Decodes a theme; absent fields take the model's defaults."""
    if value is None:
        return Theme()
    obj = _Obj(value, where)
    default = Theme()
    fields = {name: obj.string(name, default=getattr(default, name)) for name in _THEME_FIELDS}
    hosts = obj.data.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise FeedError(N_("{where}: expected a list of host names"), where=obj.at("allowed_hosts"))
    return Theme(
        logo=obj.opt_string("logo"),
        links_base=obj.opt_string("links_base"),
        allowed_hosts=frozenset(h.lower() for h in hosts),
        **fields,
    )


# ---------------------------------------------------------------------------- alerts


def alert_to_json(alert: Alert) -> Json:
    """An alert as the manifest's ``alerts[]`` entry (also the alert store's file format)."""
    return {
        "id": alert.id,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "sender": alert.sender,
        "sent": format_time(alert.sent),
        "expires": format_time(alert.expires),
        "tags": sorted(alert.tags) if alert.tags is not None else None,
        "status_url": alert.status_url,
        "template": alert.template,
        "texts": [
            {
                "language": t.language,
                "headline": t.headline,
                "description": t.description,
                "instruction": t.instruction,
            }
            for t in alert.texts
        ],
    } | _alert_extras(alert)


def _alert_extras(alert: Alert) -> Json:
    """The optional keys (written only when set, so older manifests keep their bytes)."""
    extras: dict[str, Json] = {}
    if alert.restriction is not None:
        extras["restriction"] = alert.restriction
    if alert.onset is not None:
        extras["onset"] = format_time(alert.onset)
    return extras


def alert_from_json(value: Json, where: str = "alert") -> Alert:
    """Decodes an alert; FeedError naming the wrong value."""
    from signage.model import Alert, AlertStatus, AlertText, Severity

    obj = _Obj(value, where)
    texts: list[AlertText] = []
    for i, item in enumerate(obj.list("texts")):
        t = _Obj(item, f"{obj.at('texts')}[{i}]")
        texts.append(
            AlertText(
                language=t.string("language"),
                headline=t.string("headline"),
                description=t.string("description", default=""),
                instruction=t.string("instruction", default=""),
            )
        )
    if not texts:
        raise FeedError(N_("{where}: an alert needs at least one text"), where=obj.at("texts"))
    return Alert(
        id=obj.string("id"),
        severity=obj.enum("severity", Severity),
        texts=tuple(texts),
        sender=obj.string("sender"),
        sent=parse_time(obj.req("sent"), obj.at("sent")),
        expires=parse_time(obj.req("expires"), obj.at("expires")),
        status=obj.enum("status", AlertStatus, AlertStatus.ACTUAL),
        tags=obj.tags("tags"),
        status_url=obj.opt_string("status_url"),
        template=obj.opt_string("template"),
        restriction=obj.opt_string("restriction"),
        onset=parse_time(obj.req("onset"), obj.at("onset")) if obj.has("onset") else None,
    )


def playlists_to_json(playlists: Sequence[Playlist]) -> list[Json]:
    return [playlist_to_json(p) for p in playlists]


def alerts_to_json(alerts: Sequence[Alert]) -> list[Json]:
    return [alert_to_json(a) for a in alerts]
