"""The hub's feedback room: tracked QR scans, proof-of-play batches and the report.

- ``GET /q/{code}?s=SCREEN``: a phone scanned a tracked QR. Records the scan (time,
  screen, playlist, slide; no IP address, no user agent, nothing personal) in SQLite and
  answers 302 to the author's URL with the screen's attribution. Only codes the hub
  registered from its own published feeds redirect; anything else is 404, and nothing from
  the query string ever becomes part of the redirect target except the sanitised screen
  id as a parameter value (no open redirect). A screen id the hub does not know (not
  enrolled, no heartbeat, no plays) is counted as ``desconocida``: invented ids never
  become screens in the report. At most ``policy.max_scans_per_hour`` scans are stored.
- ``POST /api/v1/events``: a player's proof-of-play batch ``{"events": [...]}``, each
  event with a unique ``eid``; duplicates are ignored (UNIQUE), so resending is safe.
  Needs a screen token or the admin token when the hub has one (like heartbeats); with a
  screen's own token every event counts for that screen (naming another is refused).
  Per screen and hour at most ``policy.max_events_per_screen_hour`` events and
  ``policy.max_slides_per_screen_hour`` distinct slides are taken.
- ``GET /api/v1/report?since=30d[&until=ISO]``: plays and scans counted per screen,
  playlist and slide over the period (JSON), for ``signage report``. The period is
  widened to whole UTC hours.

Tables: ``qr_codes`` (code, playlist, slide, url, attribution JSON), ``qr_scans`` (one
row per scan), ``pop_seen`` (the ``eid`` of every event of the last 30 days: duplicate
detection) and ``pop_counts`` (``slide_shown`` counted per hour, screen, playlist and
slide). Screens send an event every few seconds, so the hub keeps counts, not events: a
year of a 20-screen fleet is a few MB of counts, and ``pop_seen`` stays bounded by its
30 days. Events older than that are refused (they could no longer be told from a
resend), with a reason that points at the screen's clock. Codes are registered on every
publish (``hub.on_publish``) and kept afterwards, so a screen still showing last week's
QR keeps counting.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from signage.errors import ValidationError
from signage.events import rfc3339_ms
from signage.hub.dbguard import is_damage
from signage.hub.limits import check_moment, parse_json
from signage.hub.policy import HubPolicy
from signage.hub.screens import SCREEN_ID, ScreenCaller
from signage.i18n import N_, _, current_language
from signage.logs import area_logger
from signage.model import Attribution
from signage.qr import TRACK_CODE_LENGTH, TrackedQR, safe_screen_id, tracked_codes
from signage.telemetry.wire import EVENTS_PATH
from signage.validation import (
    JSON,
    Context,
    Field,
    Invalid,
    Record,
    Spec,
    Text,
    Values,
    YNode,
    YScalar,
    check_json,
)

if TYPE_CHECKING:
    from signage.hub.publishing import FeedSnapshot
    from signage.hub.state import Hub

log = area_logger("hub.scans")

UNKNOWN_SCREEN = "desconocida"
ADMIN_CALLER = ScreenCaller("admin")
MAX_BATCH_EVENTS = 1000
DEFAULT_SINCE = "30d"
SEEN_RETENTION = timedelta(days=30)
PRUNE_EVERY_S = 3600.0
_CODE = re.compile(rf"[a-z2-7]{{{TRACK_CODE_LENGTH}}}")
_EID = re.compile(r"[A-Za-z0-9-]{8,64}")
_EVENT_NAME = re.compile(r"[a-z_]{1,40}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS qr_codes (
    code TEXT PRIMARY KEY,
    playlist TEXT NOT NULL,
    slide TEXT NOT NULL,
    url TEXT NOT NULL,
    attribution TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS qr_scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    code TEXT NOT NULL,
    screen TEXT NOT NULL,
    playlist TEXT NOT NULL,
    slide TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS qr_scans_ts ON qr_scans (ts);
CREATE TABLE IF NOT EXISTS pop_seen (
    eid TEXT PRIMARY KEY,
    ts TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pop_seen_ts ON pop_seen (ts);
CREATE TABLE IF NOT EXISTS pop_counts (
    hour TEXT NOT NULL,
    screen TEXT NOT NULL,
    playlist TEXT NOT NULL,
    slide TEXT NOT NULL,
    plays INTEGER NOT NULL,
    PRIMARY KEY (hour, screen, playlist, slide)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pop_counts_screen ON pop_counts (screen);
"""


def not_found_page() -> str:
    """The page a phone shows for a code the hub does not know, in the language the phone
    asks for (``Accept-Language``), else the hub's."""
    title = html.escape(_("Code not recognised"))
    text = html.escape(_("This QR code does not belong to any active screen."))
    return (
        f'<!doctype html><html lang="{current_language()}"><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        f'<body style="font-family:sans-serif;margin:2em"><h1>{title}</h1>\n'
        f"<p>{text}</p></body></html>"
    )


# ------------------------------------------------------------------- pure decisions


def normalise_ts(value: Any) -> str | None:
    """An event time as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (sortable as text), or ``None``."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return rfc3339_ms(moment)


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEvent:
    """What the hub keeps of one proof-of-play event: its id, time and, for a play, where."""

    eid: str
    ts: str
    event: str
    screen: str
    playlist: str
    slide: str

    @property
    def hour(self) -> str:
        """The UTC hour bucket, ``2026-11-28T14``."""
        return self.ts[:13]


class _EventTime(Spec[str]):
    """An event's ``ts``: RFC 3339 with a zone, kept as sortable ``...mmmZ`` text."""

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        ts = normalise_ts(node.value if isinstance(node, YScalar) else None)
        if ts is None:
            return ctx.error(node, _("must be an RFC 3339 time with a zone"))
        return ts

    def schema(self) -> JSON:
        return {"type": "string", "format": "date-time"}


class _Label(Spec[str]):
    """Where a play happened (screen, playlist, slide): text cut at 200, else empty."""

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        value = node.value if isinstance(node, YScalar) else None
        return value[:200] if isinstance(value, str) else ""

    def schema(self) -> JSON:
        return {"type": "string"}


def _build_event(v: Values, ctx: Context) -> StoredEvent:
    return StoredEvent(
        v.get("eid", ""),
        v.get("ts", ""),
        v.get("event", ""),
        v.get("screen", ""),
        v.get("playlist", ""),
        v.get("slide", ""),
    )


EVENT = Record(
    {
        "eid": Field(
            Text(pattern=_EID.pattern, numbers=False, hint=N_("8-64 letters, digits or dashes")),
            required=True,
        ),
        "ts": Field(_EventTime(), required=True),
        "event": Field(
            Text(pattern=_EVENT_NAME.pattern, numbers=False, hint=N_("a lower-case event name")),
            required=True,
        ),
        "screen": Field(_Label()),
        "playlist": Field(_Label()),
        "slide": Field(_Label()),
    },
    _build_event,
    title=N_("the event"),
    ignore_unknown=True,  # events carry more than the hub keeps
)


def check_event(item: Any, oldest: str) -> StoredEvent | str:
    """The event to keep, or why it is refused; ``oldest`` is the retention cut-off."""
    if not isinstance(item, dict):
        return _("not an object")
    try:
        event = check_json(EVENT, item, _("the event"))
    except ValidationError as exc:
        return exc.problems[0].message
    if event.ts < oldest:
        return _(
            "'ts' {ts} is older than the {days} days the hub keeps; check the screen's clock (NTP)"
        ).format(ts=event.ts, days=SEEN_RETENTION.days)
    return event


class HourlyQuota:
    """Counts things per key and UTC hour, and says when a key's hour is full (thread-safe).

    Only the latest hour and the one before are remembered, at most ``MAX_KEYS`` keys, so
    memory stays bounded whatever the keys; a full key is logged once per hour.
    """

    MAX_KEYS = 10_000

    def __init__(self, what: str) -> None:
        self.what = what
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, datetime], int] = {}
        self._latest: datetime | None = None
        self._warned: set[tuple[str, datetime]] = set()

    def take(self, key: str, hour: datetime, limit: int, *, count: bool = True) -> bool:
        """Whether one more fits under ``limit`` for ``key`` in ``hour`` (counted when
        ``count``)."""
        slot = (key, hour)
        with self._lock:
            if self._latest is None or hour > self._latest:
                self._latest = hour
                cutoff = hour - timedelta(hours=1)
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= cutoff}
                self._warned.clear()
            n = self._counts.get(slot, 0)
            if n >= limit or (n == 0 and len(self._counts) >= self.MAX_KEYS):
                if slot not in self._warned and len(self._warned) < 100:
                    self._warned.add(slot)
                    log.warning(
                        "more than %d %s this hour; the rest are not stored", limit, self.what
                    )
                return False
            if count:
                self._counts[slot] = n + 1
            return True


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_ceil(moment: datetime) -> datetime:
    floor = hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


# ------------------------------------------------------------------------ the room


class ScanRoom:
    """The state behind the routes: code registration and the three endpoints."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._prune_lock = threading.Lock()
        self._pruned: datetime | None = None
        self._scans = HourlyQuota("QR scans stored")
        self._events = HourlyQuota("proof-of-play events from one screen")
        hub.schema(SCHEMA)

    # --- code registration (publishing thread)

    def on_publish(self, snapshot: FeedSnapshot) -> None:
        try:
            self.register(snapshot)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self.hub.recover_database(exc)  # registers again through on_database_reset

    def on_database_reset(self) -> None:
        """A new database was started after damage: the served feed's codes again."""
        snapshot = self.hub.snapshot()
        if snapshot.published:
            self.register(snapshot)

    def register(self, snapshot: FeedSnapshot) -> int:
        """Registers the tracked codes of a published manifest; returns how many."""
        from signage.errors import FeedError
        from signage.feed.manifest import parse_manifest

        try:
            manifest = parse_manifest(snapshot.manifest)
        except FeedError as exc:
            log.error("version %d: cannot read its QR codes: %s", snapshot.version, exc)
            return 0
        codes = tracked_codes(manifest.playlists)
        self.store_codes(codes, snapshot.version)
        if codes:
            log.info("version %d: %d tracked QR code(s) registered", snapshot.version, len(codes))
        return len(codes)

    def store_codes(self, codes: list[TrackedQR], version: int) -> None:
        conn = self.hub.db()
        with conn:
            conn.executemany(
                "INSERT INTO qr_codes (code, playlist, slide, url, attribution, version) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET "
                "attribution = excluded.attribution, version = excluded.version",
                [
                    (
                        c.code,
                        c.playlist,
                        c.slide,
                        c.url,
                        json.dumps(dataclasses.asdict(c.attribution), sort_keys=True),
                        version,
                    )
                    for c in codes
                ],
            )

    def lookup(self, code: str) -> TrackedQR | None:
        row = (
            self.hub.db()
            .execute(
                "SELECT playlist, slide, url, attribution FROM qr_codes WHERE code = ?", (code,)
            )
            .fetchone()
        )
        if row is None:
            return None
        playlist, slide, url, attribution = row
        return TrackedQR(code, playlist, slide, url, Attribution(**json.loads(attribution)))

    # --- scans

    def _known_screen(self, screen: str) -> bool:
        """Whether ``screen`` is enrolled, has sent a heartbeat or has plays counted: a
        scan names it only then."""
        if self.hub.screens.is_enrolled(screen):
            return True
        try:
            row = (
                self.hub.db()
                .execute("SELECT 1 FROM screen_heartbeats WHERE screen = ?", (screen,))
                .fetchone()
            )
        except sqlite3.OperationalError:  # no telemetry table: no screen has reported
            row = None
        if row is None:  # or its proof-of-play reached the hub
            row = (
                self.hub.db()
                .execute("SELECT 1 FROM pop_counts WHERE screen = ? LIMIT 1", (screen,))
                .fetchone()
            )
        return row is not None

    def _scan(self, code: str, screen: str) -> str | None:
        tracked = self.lookup(code)
        if tracked is None:
            return None
        counted = screen
        if screen != UNKNOWN_SCREEN and not self._known_screen(screen):
            counted = UNKNOWN_SCREEN  # an invented id is not a new screen in the report
        now = self.hub.now()
        if self._scans.take("", hour_floor(now), self.hub.config.policy.max_scans_per_hour):
            conn = self.hub.db()
            with conn:
                conn.execute(
                    "INSERT INTO qr_scans (ts, code, screen, playlist, slide) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (rfc3339_ms(now), code, counted, tracked.playlist, tracked.slide),
                )
        return tracked.target(screen)

    async def scan(self, request: Request) -> Response:
        code = request.path_params["code"]
        if not _CODE.fullmatch(code):
            return HTMLResponse(not_found_page(), status_code=404)
        screen = safe_screen_id(request.query_params.get("s", "")) or UNKNOWN_SCREEN
        if request.method == "HEAD":  # link previews probe with HEAD: not a scan
            tracked = await run_in_threadpool(self.lookup, code)
            target = None if tracked is None else tracked.target(screen)
        else:
            target = await run_in_threadpool(self._scan, code, screen)
        if target is None:
            return HTMLResponse(not_found_page(), status_code=404)
        return RedirectResponse(
            target,
            status_code=302,
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    # --- proof of play

    def _store_events(
        self, items: list[Any], caller: ScreenCaller = ADMIN_CALLER
    ) -> dict[str, Any]:
        now = self.hub.now()
        policy = self.hub.config.policy
        oldest = rfc3339_ms(now - SEEN_RETENTION)
        rejected: list[dict[str, Any]] = []
        good: list[tuple[int, StoredEvent]] = []
        for i, item in enumerate(items):
            checked = check_event(item, oldest)
            if isinstance(checked, StoredEvent):
                checked, why = self._speaks_for(caller, checked)
                if why is not None:
                    checked = why
            if isinstance(checked, str):
                rejected.append({"index": i, "reason": checked})
            else:
                good.append((i, checked))
        accepted = duplicates = 0
        conn = self.hub.db()
        with conn:
            for i, e in good:
                hour = hour_floor(now)
                limit = policy.max_events_per_screen_hour
                if not self._events.take(e.screen, hour, limit, count=False):
                    rejected.append(
                        {
                            "index": i,
                            "reason": _(
                                "too many events from this screen this hour; the rest are dropped"
                            ),
                        }
                    )
                    continue
                if e.event == "slide_shown" and not self._room_for_slide(conn, e, policy):
                    rejected.append(
                        {
                            "index": i,
                            "reason": _("too many distinct slides from this screen this hour"),
                        }
                    )
                    continue
                cur = conn.execute(
                    "INSERT OR IGNORE INTO pop_seen (eid, ts) VALUES (?, ?)", (e.eid, e.ts)
                )
                if cur.rowcount != 1:
                    duplicates += 1
                    continue  # a resend: already counted
                self._events.take(e.screen, hour, limit)
                accepted += 1
                if e.event == "slide_shown":
                    conn.execute(
                        "INSERT INTO pop_counts (hour, screen, playlist, slide, plays) "
                        "VALUES (?, ?, ?, ?, 1) ON CONFLICT (hour, screen, playlist, slide) "
                        "DO UPDATE SET plays = plays + 1",
                        (e.hour, e.screen, e.playlist, e.slide),
                    )
        self._prune(now, oldest)
        if rejected:
            log.warning("events batch: %d event(s) refused, e.g. %s", len(rejected), rejected[0])
        return {
            "accepted": accepted,
            "duplicates": duplicates,
            "rejected": rejected,
        }

    def _speaks_for(self, caller: ScreenCaller, e: StoredEvent) -> tuple[StoredEvent, str | None]:
        """The event as counted for ``caller``, or why it is refused: a screen's token
        counts for its own screen only; other callers name screens by valid ids."""
        if caller.kind == "screen" and caller.screen is not None:
            if e.screen not in ("", caller.screen):
                return e, _("this token belongs to screen {screen}, not {other}").format(
                    screen=repr(caller.screen), other=repr(e.screen[:80])
                )
            return dataclasses.replace(e, screen=caller.screen), None
        if e.screen and not SCREEN_ID.fullmatch(e.screen):
            return e, _("'screen' must be 1-64 letters, digits, '.', '_' or '-'")
        if caller.kind != "admin" and e.screen and self.hub.screens.is_enrolled(e.screen):
            return e, _("screen {screen} is enrolled: it reports with its own token").format(
                screen=repr(e.screen)
            )
        return e, None

    @staticmethod
    def _room_for_slide(conn: sqlite3.Connection, e: StoredEvent, policy: HubPolicy) -> bool:
        """Whether a play of ``e``'s slide may be counted: it is counted already this hour,
        or the screen has fewer than ``max_slides_per_screen_hour`` slides this hour."""
        hit = conn.execute(
            "SELECT 1 FROM pop_counts WHERE hour = ? AND screen = ? AND playlist = ? AND slide = ?",
            (e.hour, e.screen, e.playlist, e.slide),
        ).fetchone()
        if hit is not None:
            return True
        (n,) = conn.execute(
            "SELECT COUNT(*) FROM pop_counts WHERE hour = ? AND screen = ?", (e.hour, e.screen)
        ).fetchone()
        return int(n) < policy.max_slides_per_screen_hour

    def _prune(self, now: datetime, oldest: str) -> None:
        """Forgets event ids past the retention, at most once an hour."""
        with self._prune_lock:
            if self._pruned is not None and (now - self._pruned).total_seconds() < PRUNE_EVERY_S:
                return
            self._pruned = now
        conn = self.hub.db()
        with conn:
            gone = conn.execute("DELETE FROM pop_seen WHERE ts < ?", (oldest,)).rowcount
        if gone:
            log.info("forgot %d proof-of-play event id(s) older than %s", gone, oldest)

    async def events(self, request: Request) -> Response:
        caller = self.hub.require_screen_token(request)
        body = await request.body()  # capped while it streams (limits.BodyLimit)
        try:
            doc = await run_in_threadpool(parse_json, body)  # up to 4 MiB: off the loop
        except ValueError as exc:
            raise HTTPException(
                400, _('the body must be JSON {{"events": [...]}}: {reason}').format(reason=exc)
            ) from None
        items = doc.get("events") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise HTTPException(400, _('the body must be JSON: {{"events": [...]}}').format())
        if len(items) > MAX_BATCH_EVENTS:
            raise HTTPException(
                413, _("more than {most} events in one batch").format(most=MAX_BATCH_EVENTS)
            )
        result = await run_in_threadpool(self._store_events, items, caller)
        return JSONResponse(result)

    # --- report

    def _counts(self, sql: str, since: str, until: str) -> list[dict[str, Any]]:
        rows = self.hub.db().execute(sql, (since, until)).fetchall()
        return [{"screen": s, "playlist": p, "slide": sl, "count": n} for s, p, sl, n in rows]

    def counts(self, since: datetime, until: datetime) -> dict[str, Any]:
        """What ``GET /api/v1/report`` answers for ``since``..``until`` (the console's report
        page reads the same numbers)."""
        return self._report(since, until)

    def _report(self, since: datetime, until: datetime) -> dict[str, Any]:
        since, until = hour_floor(since), hour_ceil(until)
        lo, hi = rfc3339_ms(since), rfc3339_ms(until)
        plays = self._counts(
            "SELECT screen, playlist, slide, SUM(plays) FROM pop_counts "
            "WHERE hour >= ? AND hour < ? "
            "GROUP BY screen, playlist, slide ORDER BY screen, playlist, slide",
            lo[:13],
            hi[:13],
        )
        scans = self._counts(
            "SELECT screen, playlist, slide, COUNT(*) FROM qr_scans "
            "WHERE ts >= ? AND ts < ? "
            "GROUP BY screen, playlist, slide ORDER BY screen, playlist, slide",
            lo,
            hi,
        )
        return {"since": lo, "until": hi, "plays": plays, "scans": scans}

    async def report(self, request: Request) -> Response:
        from signage.report import parse_since

        self.hub.require_reader(request)
        now = self.hub.now()
        try:
            since = parse_since(request.query_params.get("since", DEFAULT_SINCE), now)
            until_text = request.query_params.get("until")
            until = parse_since(until_text, now) if until_text else now + timedelta(seconds=1)
        except (ValueError, OverflowError) as exc:
            raise HTTPException(400, _("'since'/'until': {reason}").format(reason=exc)) from None
        check_moment(since, now, "since")
        check_moment(until, now, "until")
        return JSONResponse(await run_in_threadpool(self._report, since, until))


def routes(hub: Hub) -> list[BaseRoute]:
    """The scan, proof-of-play and report endpoints; registers codes on every publish."""
    room = ScanRoom(hub)
    hub.database.on_reset(room.on_database_reset)
    hub.on_publish(room.on_publish)
    return [
        Route("/q/{code}", room.scan, methods=["GET"]),
        Route(EVENTS_PATH, room.events, methods=["POST"]),
        Route("/api/v1/report", room.report, methods=["GET"]),
    ]
