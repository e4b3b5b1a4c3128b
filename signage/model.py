"""The domain values: playlists, slides, schedules, themes, screens, alerts, content.

Frozen dataclasses only: no I/O, no Qt, no YAML. Every other area builds these (the
playlist loader, the feed client) or reads them (schedule, player, hub). Alerts, data
slides, news feeds, a root's settings and origins are defined in ``signage.model_extra`` and
reached from here (``from signage.model import Alert``): loaded on first use, a picture's
restart never makes them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # re-exported (mypy): ``from signage.model import Alert`` as before
    from signage.model_extra import Alert as Alert  # noqa: PLC0414
    from signage.model_extra import AlertStatus as AlertStatus  # noqa: PLC0414
    from signage.model_extra import AlertText as AlertText  # noqa: PLC0414
    from signage.model_extra import Chart as Chart  # noqa: PLC0414
    from signage.model_extra import Contacts as Contacts  # noqa: PLC0414
    from signage.model_extra import DataContent as DataContent  # noqa: PLC0414
    from signage.model_extra import Origin as Origin  # noqa: PLC0414
    from signage.model_extra import Settings as Settings  # noqa: PLC0414
    from signage.model_extra import Severity as Severity  # noqa: PLC0414
    from signage.model_extra import TickerFeed as TickerFeed  # noqa: PLC0414

# Alerts, data slides, news feeds, a root's settings and where a value was written live in
# ``signage.model_extra`` and load on first use: a picture's restart from the cache needs none
# of them (issue 17.2). Import them from here.
_LATER = frozenset(
    (
        "Alert",
        "AlertStatus",
        "AlertText",
        "Chart",
        "Contacts",
        "DataContent",
        "Origin",
        "Settings",
        "Severity",
        "TickerFeed",
    )
)


def __getattr__(name: str) -> Any:
    if name in _LATER:
        import signage.model_extra

        return getattr(signage.model_extra, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_TIMEZONE = "America/Bogota"
DEFAULT_LOCALE = "es-CO"
DEFAULT_DURATION_S = 10.0


class SlideKind(enum.StrEnum):
    """What a slide shows; a slide has exactly one."""

    IMAGE = "image"
    VIDEO = "video"
    WEB = "web"
    TEXT = "text"
    DATA = "data"


class Fit(enum.StrEnum):
    """How an image fills the screen: whole picture visible, or screen filled and cropped."""

    CONTAIN = "contain"
    COVER = "cover"


class Orientation(enum.StrEnum):
    """Which screens a playlist is drawn for: wide, tall, or either."""

    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"
    BOTH = "both"

    @classmethod
    def of(cls, width: int, height: int) -> Orientation:
        """A screen's orientation from the size its slides are laid out for."""
        return cls.PORTRAIT if height > width else cls.LANDSCAPE

    def fits(self, screen: Orientation | None) -> bool:
        """Whether a playlist of this orientation plays on a screen of ``screen`` (``None``:
        not known yet, everything plays)."""
        return self is Orientation.BOTH or screen is None or screen is self


class Transition(enum.StrEnum):
    """How a slide replaces the previous one."""

    FADE = "fade"
    CUT = "cut"


class Weekday(enum.IntEnum):
    """Days as ``datetime.weekday()`` numbers them, named as playlists spell them."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6


@dataclass(frozen=True, slots=True)
class HourWindow:
    """A daily window ``HH:MM-HH:MM`` in minutes after local midnight.

    ``end_min`` may be 1440 (``24:00``). A window whose end is at or before its start
    crosses midnight: ``22:00-06:00`` is active from 22:00 until 06:00 the next day.
    """

    start_min: int
    end_min: int

    @property
    def crosses_midnight(self) -> bool:
        return self.end_min <= self.start_min

    def __str__(self) -> str:
        def hm(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"

        return f"{hm(self.start_min)}-{hm(self.end_min)}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When something may play, in the screen's local time. Every part is optional.

    Args:
        start: first date (inclusive), the YAML key ``from``.
        until: last date (inclusive).
        days: weekdays on which it plays; ``None`` for every day.
        hours: daily windows; empty for all day. Several windows are a union.
    """

    start: date | None = None
    until: date | None = None
    days: frozenset[Weekday] | None = None
    hours: tuple[HourWindow, ...] = ()


@dataclass(frozen=True, slots=True)
class QRCode:
    """A QR code shown over a slide.

    Args:
        url: the https URL the author wrote (attribution parameters are added at render time).
        caption: the text beside it, e.g. "Escanea y opina".
        track: encode a short hub link that counts scans before redirecting to ``url``.
    """

    url: str
    caption: str | None = None
    track: bool = False


@dataclass(frozen=True, slots=True)
class Attribution:
    """Names of the query parameters a QR URL gets, so surveys know where a scan came from.

    ``None`` leaves that parameter out. Defaults are UTM parameters.
    """

    screen: str | None = "utm_source"
    playlist: str | None = "utm_campaign"
    slide: str | None = "utm_content"
    medium: str | None = "utm_medium"
    medium_value: str = "pantalla"


@dataclass(frozen=True, slots=True)
class TextContent:
    """A text slide: a title, an optional body and an optional image beside them.

    ``background`` is a picture filling the whole slide under a scrim in the theme's
    background colour (the text stays legible on any photo); ``tag`` a short category
    label drawn above the title in the theme's accent colour ("CIBERSEGURIDAD").
    """

    title: str
    body: str | None = None
    image: str | None = None
    background: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Slide:
    """One slide of a playlist, with the playlist's defaults already applied.

    Args:
        id: unique within its playlist.
        kind: which of image, video, web or text.
        source: asset path (relative to the content root) for image/video and the data file
            of a data slide (empty while remote data was never fetched), URL for web,
            empty for text.
        data: what a data slide draws (``None`` for other kinds).
        duration_s: seconds on screen; ``None`` only for a video that plays its own length.
        qr: the QR shown over it (``None``: no QR, including ``qr: false``).
        schedule: when this slide plays, within its playlist's schedule.
        muted: video sound (muted unless the author says otherwise).
    """

    id: str
    kind: SlideKind
    source: str = ""
    text: TextContent | None = None
    duration_s: float | None = DEFAULT_DURATION_S
    transition: Transition = Transition.FADE
    fit: Fit = Fit.CONTAIN
    qr: QRCode | None = None
    schedule: Schedule | None = None
    muted: bool = True
    origin: Origin | None = field(default=None, compare=False)
    data: DataContent | None = None

    def assets(self) -> tuple[str, ...]:
        """Asset paths this slide needs from the content root."""
        paths: list[str] = []
        if self.kind in (SlideKind.IMAGE, SlideKind.VIDEO):
            paths.append(self.source)
        if self.kind is SlideKind.DATA and self.source:
            paths.append(self.source)
        if self.text is not None and self.text.image:
            paths.append(self.text.image)
        if self.text is not None and self.text.background:
            paths.append(self.text.background)
        return tuple(paths)


@dataclass(frozen=True, slots=True)
class Overlays:
    """Which overlays a playlist shows on top of its slides."""

    qr: bool = True
    clock: bool = True
    ticker: bool = True
    logo: bool = True


@dataclass(frozen=True, slots=True)
class Playlist:
    """A named, ordered list of slides for the screens whose tags it names.

    Args:
        id: the file stem (``lobby`` for ``playlists/lobby.yaml``); unique in a content root.
        tags: screens with any of these tags play it; ``None`` means every screen.
        ticker: headlines for the ticker overlay.
        orientation: the screens it is drawn for; a screen plays only what fits it.
        ticker_feeds: RSS/Atom news the publisher turns into ``ticker`` headlines (never
            fetched by screens; not part of the feed, which carries the headlines).
    """

    id: str
    name: str
    slides: tuple[Slide, ...]
    tags: frozenset[str] | None = None
    schedule: Schedule | None = None
    overlays: Overlays = Overlays()
    ticker: tuple[str, ...] = ()
    attribution: Attribution = Attribution()
    origin: Origin | None = field(default=None, compare=False)
    orientation: Orientation = Orientation.BOTH
    ticker_feeds: tuple[TickerFeed, ...] = ()


@dataclass(frozen=True, slots=True)
class Theme:
    """Colours (``#rrggbb``), fonts and logo from ``playlists/theme.yaml``."""

    background: str = "#0b2545"
    foreground: str = "#ffffff"
    accent: str = "#f4b400"
    muted: str = "#8da9c4"
    font_family: str = "DejaVu Sans"
    title_font_family: str = "DejaVu Sans"
    logo: str | None = None
    organisation: str = "Oficina Asesora de Informática"
    # from playlists/settings.yaml, carried in the signed feed with the theme: links_base so
    # that no screen needs its own qr.link_base for tracked QR codes, and the allow-list so
    # that a screen's own qr.allowed_hosts can narrow it but never widen it
    links_base: str | None = None
    allowed_hosts: frozenset[str] = frozenset()


def narrowed_hosts(root_hosts: frozenset[str], narrower: frozenset[str]) -> frozenset[str]:
    """The allow-list to apply: the content root's, narrowed by a screen's or a flag's,
    never widened. Empty means "any https host"; with both given only hosts on both pass
    (none in common: nothing passes); with one, that one."""
    root = frozenset(h.lower() for h in root_hosts)
    other = frozenset(h.lower() for h in narrower)
    if root and other:
        return root & other or frozenset({"-"})  # "-" is no host name: nothing passes
    return root or other


@dataclass(frozen=True, slots=True)
class Screen:
    """The screen a schedule is computed for.

    ``orientation`` is the shape its slides are laid out for (after any rotation); ``None``
    (not known) plays playlists of every orientation.
    """

    id: str
    tags: frozenset[str] = frozenset()
    timezone: str = DEFAULT_TIMEZONE
    locale: str = DEFAULT_LOCALE
    audience: str = "public"  # "internal": staff only see it (CAP Restricted alerts show)
    orientation: Orientation | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """Everything a player needs for one version: what to play and where its files are.

    Built by the feed client from a verified manifest, or in-process from a local content
    root; the player never reads playlists or the network itself.

    Args:
        version: the feed version (local roots count up from 1 on each accepted change).
        assets: asset path as written in playlists -> local file to read it from.
        source: a human description of where it came from (a URL or a folder).
        signed: came from a feed verified against the pinned key (web slides must then be
            https; the player checks it too, not only the validator).
    """

    version: int
    playlists: tuple[Playlist, ...]
    theme: Theme = Theme()
    alerts: tuple[Alert, ...] = ()
    assets: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    published: datetime | None = None
    expires: datetime | None = None
    source: str = ""
    signed: bool = False

    def asset_path(self, path: str) -> Path | None:
        """The local file for an asset path, or ``None`` when this version has no such file."""
        return self.assets.get(path)
