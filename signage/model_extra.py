"""The domain values a picture's first frame does not need: alerts, data slides, settings.

Part of ``signage.model`` and reached through it (``from signage.model import Alert``): that
module loads these on first use, so a screen's start does not create them (each frozen
dataclass costs ~0.5 ms to create on Python 3.11, which compiles its generated methods)
unless its content carries an alert, a data slide or a ticker feed, or its root is validated
(a root's settings, where each value was written). Import them from ``signage.model``, not
from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class Chart(enum.StrEnum):
    """How a data slide draws its numbers."""

    FIGURE = "figure"
    BAR = "bar"
    LINE = "line"
    TABLE = "table"
    RINGS = "rings"


@dataclass(frozen=True, slots=True)
class DataContent:
    """A data slide: a figure, chart or small table drawn from a CSV or JSON file.

    Args:
        chart: what is drawn.
        title: the headline; ``tag`` the category pill above it; ``credit`` the source line.
        label: the column naming each row; ``values``: the numeric column(s) drawn.
        note: a column of short texts under each ring (``rings``).
        decimals, unit: how numbers are written (es-CO: ``12.400``, ``5,1``; unit after).
        decimal_comma: the file writes numbers the es-CO way (``1.240``, ``5,1``).
        card: the highlighted figure: ``change`` (first to last, in %), ``last``, or text.
        rows: draw only the last N rows.
        url, refresh_s: remote data the publisher fetches (screens never do).
        scans: the hub's own QR scan count: a slide id of the playlist, ``playlist`` or
            ``all``, over ``period`` (``month``, ``week`` or ``Nd``).
        as_of: the date of remote data (``Datos al …``), set by the publisher.
    """

    chart: Chart
    title: str
    label: str = ""
    values: tuple[str, ...] = ()
    note: str | None = None
    tag: str | None = None
    credit: str | None = None
    decimals: int = 0
    unit: str = ""
    decimal_comma: bool = True
    card: str | None = None
    card_caption: str | None = None
    rows: int | None = None
    url: str | None = None
    refresh_s: float | None = None
    as_of: date | None = None
    scans: str | None = None
    period: str = "month"


@dataclass(frozen=True, slots=True)
class TickerFeed:
    """News for the ticker from an RSS 2.0 or Atom feed, fetched by the publisher.

    Args:
        url: the feed (https, on the allow-list).
        count: at most this many headlines, newest first.
        max_age_s: headlines older than this are left out (``None``: any age).
        refresh_s: how often the publisher fetches it.
        position: where its headlines go among the playlist's written ones.
    """

    url: str
    count: int = 5
    max_age_s: float | None = None
    refresh_s: float = 1800.0
    position: int = 0


class Severity(enum.StrEnum):
    """CAP 1.2 severities, most severe first."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"

    @property
    def rank(self) -> int:
        """0 for the most severe."""
        return list(Severity).index(self)


class AlertStatus(enum.StrEnum):
    """CAP 1.2 statuses we carry; only Actual (and Exercise on exercise screens) is shown."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    TEST = "Test"


@dataclass(frozen=True, slots=True)
class AlertText:
    """An alert's words in one language (``es``, ``en``, ``es-CO``...)."""

    language: str
    headline: str
    description: str = ""
    instruction: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """A crisis alert: shown above everything on the screens whose tags it names.

    Args:
        texts: one entry per language; the first is the fallback.
        tags: ``None`` means every screen.
        status_url: optional https URL shown as a QR (e.g. a status page).
        restriction: set for a CAP ``Restricted`` alert: who it is for (e.g. staff); shown
            only on screens whose audience is ``internal``. ``None``: a public alert.
        onset: when it starts showing (CAP ``effective``/``onset``); ``None``: at once.
    """

    id: str
    severity: Severity
    texts: tuple[AlertText, ...]
    sender: str
    sent: datetime
    expires: datetime
    status: AlertStatus = AlertStatus.ACTUAL
    tags: frozenset[str] | None = None
    status_url: str | None = None
    template: str | None = None
    restriction: str | None = None
    onset: datetime | None = None

    def text_for(self, locale: str) -> AlertText:
        """The text in ``locale`` (``es-CO`` matches ``es-CO`` then ``es``), else the first."""
        wanted = locale.lower()
        base = wanted.split("-")[0]
        for t in self.texts:
            if t.language.lower() == wanted:
                return t
        for t in self.texts:
            if t.language.lower().split("-")[0] == base:
                return t
        return self.texts[0]

    def active_at(self, now: datetime) -> bool:
        """Whether it is still on screen at ``now``.

        Which ``now``: the hub's time, not the screen's own clock (``signage.timebase``).
        """
        return now < self.expires


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value was written (for messages at run time, e.g. ``playlist_rejected``)."""

    path: str
    line: int = 0
    col: int = 0


@dataclass(frozen=True, slots=True)
class Contacts:
    """Where people get help: the help desk's e-mail and extension, the status page."""

    help_desk_email: str | None = None
    help_desk_extension: str | None = None
    status_page: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """A content root's ``playlists/settings.yaml``: one place for what every tool applies.

    Args:
        organisation: the organisation's name as people know it.
        contacts: help desk and status page (alert templates' defaults refer to them).
        allowed_hosts: QR and web hosts allowed (empty: any https host); a screen's own
            ``qr.allowed_hosts`` may narrow it, never widen it.
        links_base: the public https base of tracked QR links (the hub's public URL).
        language: ``es`` or ``en`` for messages (``None``: the environment decides).
    """

    organisation: str | None = None
    contacts: Contacts = field(default_factory=Contacts)
    allowed_hosts: frozenset[str] = frozenset()
    links_base: str | None = None
    language: str | None = None
