"""The console's front desk: the pages under ``/console/`` and the JSON API under ``/api/v1/``.

Mounted by the hub (``signage.hub.app`` lists this module among its areas). Pages are
server-rendered Jinja2 (autoescaping on, so a title or file name holding script shows as
text) and work without JavaScript; ``static/console.js`` only adds drag to reorder and drop
to upload. Every page and call goes through ``guard.require``; every write is audited.
Request bodies are read with explicit caps (``MAX_FORM_BYTES``, ``MAX_YAML_BYTES``,
``uploads.MAX_UPLOAD_BYTES``) whatever the hub's own limits are. Blocking work (argon2, git,
files, the validator) runs on the thread pool so the event loop never waits on it.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive

from signage.console import data_form, forms, language, uploads
from signage.console.accounts import SESSION_MAX_S, AccountStore, Role
from signage.console.content import ContentError, ContentRoom, InvalidError, StaleError
from signage.console.files import PLAYLIST_NAME, inside
from signage.console.guard import COOKIE, PRE_COOKIE, Principal, SignInNeeded, principal, require
from signage.console.history import History, HistoryError
from signage.console.messages import ZONE, duracion, fecha, hora, numero, tamano
from signage.data.store import store_in
from signage.hub.errors import json_error
from signage.i18n import N_, _, current_language, ngettext, speaking
from signage.logs import area_logger

if TYPE_CHECKING:
    from signage.hub.state import Hub
    from signage.model import Playlist
    from signage.playlist import LoadResult

log = area_logger("hub.console")

HERE = Path(__file__).parent
MAX_FORM_BYTES = uploads.MAX_UPLOAD_BYTES + 4 * 1024 * 1024
MAX_YAML_BYTES = 1_000_000
MAX_ASSETS_LISTED = 5000
EDITOR_CACHE = 64  # playlists whose parsed editor state is kept
ASSET_WALK_TTL_S = 5.0  # a file copied by hand into a subfolder shows up within this
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
# translated where shown (``_()`` in the templates)
ACTION_LABELS = {
    "signin": N_("signed in to the console"),
    "playlist.save": N_("saved a playlist"),
    "playlist.create": N_("created a playlist"),
    "asset.upload": N_("uploaded a file"),
    "history.restore": N_("restored a version"),
    "lock": N_("account locked after failed attempts"),
    "user.unlock": N_("unlocked an account"),
    "user.add": N_("created an account"),
    "user.passwd": N_("changed a password"),
    "user.remove": N_("removed an account"),
}
KIND_LABELS = {
    "image": N_("Picture"),
    "video": N_("Video"),
    "web": N_("Web page"),
    "text": N_("Text"),
    "data": N_("Data"),
}


class BodyTooLarge(Exception):
    """Raised by a capped receive channel once the body passes its cap."""


def capped_receive(receive: Receive, limit: int) -> Receive:
    """A receive channel that raises ``BodyTooLarge`` once more than ``limit`` bytes came."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return limited


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        413, _("the request body is over the {limit} MB limit").format(limit=limit // (1 << 20))
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes, before and while reading."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit: int) -> FormData:
    """The submitted form (urlencoded or multipart), refused (413) past ``limit`` bytes."""
    from starlette.formparsers import MultiPartException

    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    capped = Request(request.scope, capped_receive(request.receive, limit))
    try:
        return await capped.form(max_files=forms.MAX_SLIDES, max_fields=20_000)
    except BodyTooLarge:
        raise _too_large(limit) from None
    except MultiPartException as exc:
        raise HTTPException(400, _("unreadable form: {error}").format(error=exc.message)) from None


@dataclass
class PlaylistSummary:
    name: str
    title: str
    slides: int
    loop_s: float
    tags: list[str] | None
    screens: list[str]
    problems: list[str]
    playlist: Playlist | None = None


@dataclass
class Notice:
    kind: str  # ok | error | info
    text: str


@dataclass
class EditorState:
    name: str
    form: forms.PlaylistForm
    etag: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    saved_ids: list[str] | None = None  # the slide ids of the file as saved, by position
    focus: str = ""  # the control that gets the focus (and the scroll) when drawn
    drafts: dict[int, str] = field(default_factory=dict)  # position -> data: URL of a draft


class Console:
    """The console of one hub: its stores, its templates and its route handlers.

    Args:
        hub: the running hub (data folder, content root, publisher, admin token).
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        cfg = hub.config
        self.root = cfg.root
        self.accounts = AccountStore(cfg.data_dir)
        self.history: History | None = None
        self.content: ContentRoom | None = None
        if cfg.root is not None:
            self.history = History(cfg.root, cfg.data_dir / "history.git")
            self.content = ContentRoom(cfg.root, self.history, self._publish, hub.current_version)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        # every text of the templates through the catalogs, in the request's language
        # (signage.i18n.speaking); {% trans %} blocks are trimmed like babel.cfg extracts them
        self.env.policies["ext.i18n.trimmed"] = True
        self.env.install_gettext_callables(  # type: ignore[attr-defined]
            gettext=_, ngettext=ngettext, newstyle=True
        )
        self.env.filters["fecha"] = lambda ts: fecha(ts) if ts else ""
        self.env.filters["hora"] = lambda ts: hora(ts) if ts else ""
        self.env.filters["numero"] = numero
        self.env.filters["duracion"] = duracion
        self.env.filters["tamano"] = tamano
        self.env.filters["url"] = lambda s: quote(str(s), safe="")
        self.env.globals["KIND_LABELS"] = KIND_LABELS
        self.env.globals["ACTION_LABELS"] = ACTION_LABELS
        self.env.globals["DAYS"] = forms.DAYS
        self.env.globals["DAY_LABELS"] = forms.DAY_LABELS
        self.env.globals["D"] = data_form  # the data-slide form's choices and their words
        self.columns = (
            data_form.ColumnReader(cfg.root, store_in(cfg.data_dir))
            if cfg.root is not None
            else None
        )
        self._load_cache: tuple[tuple[Any, ...], LoadResult] | None = None
        self._editor_cache: dict[tuple[Any, ...], EditorState] = {}
        self._asset_walk: tuple[int, float, tuple[str, ...]] | None = None
        from signage.console.previews import Previews

        self.previews = Previews(cfg.data_dir / "previews", store_in(cfg.data_dir))
        from signage.console.alert_desk import AlertDesk

        self.desk = AlertDesk(self, read_form)
        from signage.console.fleet import Fleet

        self.fleet = Fleet(self)
        from signage.console.report_page import ReportRoom

        self.report_room = ReportRoom(self)

    def _publish(self, reason: str) -> int:
        return self.hub.publish_root(reason, skip_unchanged=True)

    # ----------------------------------------------------------------- plumbing

    def who(self, request: Request) -> Principal | None:
        return principal(request, self.accounts, self.hub.require_token)

    def need(
        self, request: Request, role: Role, *, write: bool = False, form: FormData | None = None
    ) -> Principal:
        csrf = form.get("csrf") if form is not None else None
        return require(
            request,
            self.accounts,
            self.hub.require_token,
            role,
            write=write,
            form_csrf=csrf if isinstance(csrf, str) else None,
        )

    def render(
        self,
        template: str,
        who: Principal | None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        context.setdefault("active", "")
        context.setdefault("here", language.here())
        html = self.env.get_template(template).render(
            lang=current_language(),
            languages=language.NAMES,
            script_texts=language.script_texts(),
            who=who,
            csrf=who.csrf if who is not None else "",
            is_admin=who is not None and who.role >= Role.ADMIN,
            can_edit=who is not None and who.role >= Role.EDITOR,
            has_root=self.root is not None,
            **context,
        )
        return HTMLResponse(
            html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
        )

    def page(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wraps a page handler: no session sends to the sign-in page, a refusal is shown
        as a page; all in the request's language (``language.answer_language``)."""

        async def endpoint(request: Request) -> Response:
            url = request.url
            page = url.path + (f"?{url.query}" if url.query and request.method == "GET" else "")
            cookie = request.cookies.get(language.COOKIE)
            with speaking(language.answer_language(cookie)), language.at(page):
                return await answer(request)

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return RedirectResponse("/console/entrar", status_code=303)
            except HTTPException as exc:
                messages = {
                    403: _(
                        "You are not allowed to do this. If you think you should be, ask an "
                        "administrator. (It also happens when the page has been open for a "
                        "long time: reload it.)"
                    ),
                    404: _("We could not find what you are looking for."),
                    409: _(
                        "This server publishes a feed folder made elsewhere; the console edits "
                        "a content root (signage serve --root FOLDER)."
                    ),
                    413: _("What you sent is too large."),
                    503: _(
                        "The history cannot be read on this server (is git missing?); tell IT. "
                        "Playlists are still saved and published."
                    ),
                }
                text = messages.get(
                    exc.status_code, _("Could not be done: {reason}").format(reason=exc.detail)
                )
                who = None
                try:
                    who = self.who(request)
                except HTTPException:
                    who = None
                return self.render("error.html", who, status=exc.status_code, message=text)

        return endpoint

    def load(self) -> LoadResult:
        """The content root as the validator sees it (cached until a file or version changes)."""
        from signage.playlist import load_content_root, playlist_files

        root = self._root()
        files = [*playlist_files(root), root / "playlists" / "theme.yaml"]
        stamp: list[Any] = [self.hub.current_version(), current_language()]  # problems' words
        for f in files:
            try:
                st = f.stat()
                stamp.append((f.name, st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append((f.name, None))
        key = tuple(stamp)
        if self._load_cache is not None and self._load_cache[0] == key:
            return self._load_cache[1]
        result = load_content_root(root)
        self._load_cache = (key, result)
        return result

    def screens_by_tag(self) -> list[tuple[str, tuple[str, ...]]]:
        """Screens the hub has heard from, with their tags (empty when none reported)."""
        import json
        import sqlite3

        try:
            rows = self.hub.db().execute("SELECT screen, report FROM screen_heartbeats").fetchall()
        except sqlite3.Error:
            return []
        out = []
        for screen, body in rows:
            try:
                tags = tuple(str(t) for t in json.loads(body).get("tags", []))
            except (ValueError, AttributeError):
                tags = ()
            out.append((str(screen), tags))
        return sorted(out)

    def summaries(self) -> list[PlaylistSummary]:
        from signage.playlist import video_duration

        root = self._root()
        content = self._need_root()
        load = self.load()
        by_id = {p.id: p for p in load.playlists}
        problems = load.errors_by_file()
        screens = self.screens_by_tag()
        out = []
        for name in content.names():
            playlist = by_id.get(name)
            mine = [
                _("{message} (line {line})").format(message=p.message, line=p.line)
                if p.line
                else p.message
                for f, ps in problems.items()
                if Path(f).stem == name
                for p in ps
            ]
            if playlist is None:
                out.append(
                    PlaylistSummary(name, name, 0, 0.0, None, [], mine or [_("could not be read")])
                )
                continue
            loop = 0.0
            for s in playlist.slides:
                if s.duration_s is not None:
                    loop += s.duration_s
                elif s.kind == "video":
                    loop += video_duration(root / s.source) or 0.0
            tags = sorted(playlist.tags) if playlist.tags is not None else None
            plays = [s for s, t in screens if playlist.tags is None or set(t) & set(playlist.tags)]
            out.append(
                PlaylistSummary(
                    name, playlist.name, len(playlist.slides), loop, tags, plays, mine, playlist
                )
            )
        return out

    # -------------------------------------------------------------------- sign-in

    async def signin_page(self, request: Request) -> Response:
        who = self.who(request)
        if who is not None and who.session is not None:
            return RedirectResponse("/console/listas", status_code=303)
        return self._signin(request, None, 200)

    def _signin(self, request: Request, error: str | None, status: int, user: str = "") -> Response:
        pre = secrets.token_urlsafe(24)
        response = self.render("signin.html", None, status=status, error=error, pre=pre, user=user)
        response.set_cookie(
            PRE_COOKIE,
            pre,
            max_age=3600,
            path="/console/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def signin(self, request: Request) -> Response:
        form = await read_form(request, 64 * 1024)
        pre = request.cookies.get(PRE_COOKIE, "")
        offered = form.get("pre")
        if not pre or not isinstance(offered, str) or not secrets.compare_digest(pre, offered):
            return self._signin(request, _("The sign-in page expired; try again."), 403)
        user = str(form.get("usuario") or "").strip()
        password = str(form.get("contrasena") or "")
        account, gate = await run_in_threadpool(self.accounts.authenticate, user, password)
        if account is None:
            if gate.locked:
                minutes = max(1, round(gate.wait_s / 60))
                error = _(
                    "This account was locked after several failed attempts. Try again in "
                    "{minutes} min or ask an administrator to unlock it."
                ).format(minutes=minutes)
                return self._signin(request, error, 429, user)
            if not gate.allowed:
                error = _(
                    "Too many attempts in a row. Wait {seconds} s before trying again."
                ).format(seconds=max(1, round(gate.wait_s)))
                return self._signin(request, error, 429, user)
            return self._signin(request, _("Wrong username or password."), 401, user)
        token, _session = await run_in_threadpool(self.accounts.open_session, account)
        await run_in_threadpool(self.accounts.audit, account.name, "signin", "console")
        response = RedirectResponse("/console/listas", status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(SESSION_MAX_S),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(PRE_COOKIE, path="/console/", httponly=True, samesite="strict")
        return response

    async def choose_language(self, request: Request) -> Response:
        """``/console/idioma?l=en&volver=/console/listas``: the person's language, kept in a
        cookie of this browser for a year; then back to the page they were on."""
        code = language.chosen(request.query_params.get("l"))
        response = RedirectResponse(
            language.back_to(request.query_params.get("volver")), status_code=303
        )
        if code is not None:
            response.set_cookie(
                language.COOKIE,
                code,
                max_age=language.COOKIE_MAX_AGE_S,
                path="/",
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    async def signout(self, request: Request) -> Response:
        form = await read_form(request, 64 * 1024)
        who = self.need(request, Role.VIEWER, write=True, form=form)
        if who.session is not None:
            await run_in_threadpool(self.accounts.close_session, who.session)
        response = RedirectResponse("/console/entrar", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    async def home(self, request: Request) -> Response:
        if self.who(request) is None:
            return await self.signin_page(request)
        return RedirectResponse("/console/listas", status_code=303)

    # -------------------------------------------------------------- playlists pages

    def _root(self) -> Path:
        if self.root is None:
            raise HTTPException(
                409, _("this hub serves a published feed folder; the console edits a content root")
            )
        return self.root

    def _need_root(self) -> ContentRoom:
        if self.content is None:
            raise HTTPException(
                409, _("this hub serves a published feed folder; the console edits a content root")
            )
        return self.content

    async def playlists_page(self, request: Request) -> Response:
        who = self.need(request, Role.VIEWER)
        self._need_root()
        rows = await run_in_threadpool(self.summaries)
        saved = request.query_params.get("guardado")
        return self.render("playlists.html", who, rows=rows, saved=saved, active="listas")

    async def new_playlist(self, request: Request) -> Response:
        form = await read_form(request, 64 * 1024)
        who = self.need(request, Role.EDITOR, write=True, form=form)
        content = self._need_root()
        from signage.playlist import slugify

        title = str(form.get("titulo") or "").strip()[:120]
        name = slugify(title)[:60] if title else ""
        if not name or not PLAYLIST_NAME.match(name):
            rows = await run_in_threadpool(self.summaries)
            return self.render(
                "playlists.html",
                who,
                status=422,
                rows=rows,
                saved=None,
                active="listas",
                new_error=_("Write a name for the playlist (letters and digits)."),
            )
        if content.path(name).exists():
            return RedirectResponse(f"/console/listas/{name}", status_code=303)
        text = forms.dump_doc({"name": title, "slides": [{"text": {"title": title}}]})
        try:
            saved = await run_in_threadpool(content.save, name, text.encode(), "*", who.user)
        except ContentError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        await run_in_threadpool(
            self.accounts.audit, who.user, "playlist.create", f"playlists/{name}", after=saved.after
        )
        return RedirectResponse(f"/console/listas/{name}", status_code=303)

    def _editor_state(self, name: str) -> EditorState:
        """The editor's state for the playlist as saved. Parsing (round-trip YAML) and
        validating cost ~25 ms for 40 slides; an unchanged file at an unchanged hub version
        (any content change the hub accepts makes a new one) reuses the last result."""
        content = self._need_root()
        try:
            st = content.path(name).stat()
        except OSError:
            st = None
        key = (  # the problems in it are worded in the request's language
            (
                name,
                st.st_mtime_ns,
                st.st_size,
                st.st_ino,
                self.hub.current_version(),
                current_language(),
            )
            if st is not None
            else None
        )
        cached = self._editor_cache.get(key) if key is not None else None
        if cached is not None:
            return copy.deepcopy(cached)
        state = self._read_editor_state(name)
        if key is not None and state.etag:
            if len(self._editor_cache) >= EDITOR_CACHE:
                self._editor_cache.pop(next(iter(self._editor_cache)))
            self._editor_cache[key] = copy.deepcopy(state)
        return state

    def _read_editor_state(self, name: str) -> EditorState:
        content = self._need_root()
        try:
            data, etag = content.read(name)
        except ContentError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        state = EditorState(name, forms.PlaylistForm(), etag)
        try:
            doc = forms.load_doc(data.decode("utf-8", "replace"))
        except Exception as exc:  # ruamel raises many kinds; the file is shown as broken
            state.general.append(
                _(
                    "The file cannot be read as YAML ({error}); fix it on the server or "
                    "restore an earlier version from the history."
                ).format(error=type(exc).__name__)
            )
            # and what the validator says about it, located (a tab, an unquoted colon…)
            state.general.extend(
                _("line {line}: {message}").format(line=p.line, message=p.message)
                if p.line
                else p.message
                for p in content.check_saved(name)[1]
            )
            return state
        state.form = forms.playlist_form(doc)
        playlist, problems = content.check_saved(name)
        if playlist is not None and len(playlist.slides) == len(state.form.slides):
            state.saved_ids = [s.id for s in playlist.slides]
        if problems:  # locating needs a second YAML parse: only when there is something to place
            locations = forms.field_locations(data.decode("utf-8", "replace"))
            self._place(state, problems, locations)
        return state

    @staticmethod
    def _place(state: EditorState, problems: list[Any], locations: list[Any]) -> None:
        for p in problems:
            target = forms.locate(locations, p.line, p.col)
            message = p.message
            if p.severity != "error":
                message = _("Warning: {message}").format(message=message)
            if target:
                state.errors.setdefault(target, []).append(message)
            else:
                state.general.append(message)

    def _assets_for_picker(self) -> list[str]:
        """Every file under ``assets/`` (dot-files left out), at most ``MAX_ASSETS_LISTED``;
        the walk is reused for ``ASSET_WALK_TTL_S`` unless ``assets/`` itself changed."""
        root = self._root()
        try:
            stamp = (root / "assets").stat().st_mtime_ns
        except OSError:
            stamp = 0
        now = time.monotonic()
        cached = self._asset_walk
        if cached is not None and cached[0] == stamp and now - cached[1] < ASSET_WALK_TTL_S:
            return list(cached[2])
        found = self._walk_assets(root)
        self._asset_walk = (stamp, now, tuple(found))
        return found

    def _walk_assets(self, root: Path) -> list[str]:
        folder = root / "assets"
        out: list[str] = []
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if len(out) >= MAX_ASSETS_LISTED:
                    break
                rel = path.relative_to(root)
                if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                    out.append(rel.as_posix())
        return out

    def _previews(self, state: EditorState) -> dict[int, str]:
        """Position in the form -> the saved slide id whose preview it shows (a slide moved,
        copied or edited in the form still shows its saved self until the save)."""
        if state.saved_ids is None and self.content is not None:
            try:
                playlist, _problems = self.content.check_saved(state.name)
            except (ContentError, OSError):
                playlist = None
            state.saved_ids = [s.id for s in playlist.slides] if playlist is not None else []
        ids = state.saved_ids or []
        out: dict[int, str] = {}
        for i, slide in enumerate(state.form.slides):
            key = slide.key
            if key.isdigit() and int(key) < len(ids):
                out[i] = ids[int(key)]
        return out

    def _editor(
        self, who: Principal, state: EditorState, status: int = 200, **extra: Any
    ) -> Response:
        assets = self._assets_for_picker()
        previews = self._previews(state)
        columns: dict[int, data_form.Columns] = {}
        for i, slide in enumerate(state.form.slides):
            if slide.kind == "data" and self.columns is not None:
                columns[i] = self.columns.for_slide(slide.data, slide.src)
                slide.data = data_form.with_defaults(slide.data, columns[i])
        return self.render(
            "editor.html",
            who,
            status=status,
            s=state,
            f=state.form,
            assets=assets,
            previews=previews,
            active="listas",
            data_columns=columns,
            data_files=data_form.data_files(assets) if columns else [],
            slide_ids=[s.id for s in state.form.slides if s.id],
            **extra,
        )

    async def editor_page(self, request: Request) -> Response:
        who = self.need(request, Role.VIEWER)
        name = request.path_params["name"]
        state = await run_in_threadpool(self._editor_state, name)
        saved = request.query_params.get("guardado")
        if saved:
            state.notices.append(
                Notice("ok", _("Saved and published: the screens are receiving it now."))
            )
        return await run_in_threadpool(self._editor, who, state)

    async def editor_post(self, request: Request) -> Response:
        self.need(request, Role.EDITOR)  # who and what role, before reading a large body
        form = await read_form(request, MAX_FORM_BYTES)
        who = self.need(request, Role.EDITOR, write=True, form=form)
        content = self._need_root()
        name = request.path_params["name"]
        if content.path(name) is None:
            raise HTTPException(404, _("no such playlist"))
        posted = forms.form_from_post(form, form.getlist)
        etag = str(form.get("etag") or "")
        state = EditorState(name, posted, etag)
        await self._take_uploads(form, posted, state, who)
        action = str(form.get("action") or "save")
        if action.startswith("preview:") and action[8:].isdigit():
            await self._draft_preview(state, int(action[8:]))
            return await run_in_threadpool(self._editor, who, state)
        if action != "save":
            state.form = forms.structural(posted, action)
            state.focus = forms.focus_after(state.form, action)
            return await run_in_threadpool(self._editor, who, state)
        return await run_in_threadpool(self._save_form, who, state)

    async def _take_uploads(
        self, form: FormData, posted: forms.PlaylistForm, state: EditorState, who: Principal
    ) -> None:
        """Stores the files chosen in the editor's slides and points those slides at them."""
        prefixes = sorted({k.split(".", 1)[0] for k in form if k.endswith(".upload")})
        for prefix in prefixes:
            upload = form.get(f"{prefix}.upload")
            if not isinstance(upload, UploadFile) or not upload.filename:
                continue
            number = int(prefix[1:]) if prefix[1:].isdigit() else -1
            slide = next((s for s in posted.slides if s.posted_as == number), None)
            kinds = frozenset({"image", "video"})
            if slide is not None and slide.kind == "data":
                kinds = frozenset({"data"})
            try:
                path, checked = await self._store_upload(upload, who, kinds)
            except uploads.UploadRefused as exc:
                field_name = f"s{posted.slides.index(slide)}.src" if slide else ""
                message = _("«{file}»: {reason}").format(file=upload.filename, reason=exc)
                if field_name:
                    state.errors.setdefault(field_name, []).append(message)
                else:
                    state.general.append(message)
                continue
            if slide is not None:
                slide.kind = checked.kind
                slide.src = path
                slide.data.source = "file"
            state.notices.append(Notice("ok", _("File received: {path}").format(path=path)))

    async def _store_upload(
        self,
        upload: UploadFile,
        who: Principal,
        kinds: frozenset[str] = frozenset({"image", "video", "data"}),
    ) -> tuple[str, uploads.Checked]:
        root = self._root()
        folder = root / "assets"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".upload-{secrets.token_hex(8)}"
        written = 0
        try:
            with tmp.open("xb") as out:
                while True:
                    chunk = await upload.read(1 << 20)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > uploads.MAX_UPLOAD_BYTES:
                        raise uploads.UploadRefused(
                            _("the file is over {limit} MB, the limit").format(
                                limit=uploads.MAX_UPLOAD_BYTES // (1 << 20)
                            )
                        )
                    out.write(chunk)
            path, checked = await run_in_threadpool(
                uploads.store, root, tmp, upload.filename or "", kinds
            )
        finally:
            tmp.unlink(missing_ok=True)
        await run_in_threadpool(
            self.accounts.audit,
            who.user,
            "asset.upload",
            path,
            detail=f"{checked.media} {checked.width}x{checked.height}"
            if checked.kind != "data"
            else checked.media,
        )
        return path, checked

    def _draft_text(self, state: EditorState) -> str:
        """The YAML the editor's values make of the file as it is on disk."""
        content = self._need_root()
        try:
            data, _etag = content.read(state.name)
            doc = forms.load_doc(data.decode("utf-8", "replace"))
        except ContentError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except Exception:  # a file broken by hand: the form's values make a new document
            doc = None
        return forms.dump_doc(forms.apply_form(doc, state.form))

    async def _draft_preview(self, state: EditorState, index: int) -> None:
        """Draws slide ``index`` of the unsaved draft (nothing is saved or published) and
        puts it beside the slide; problems in the draft are placed as a save would."""
        import base64

        content = self._need_root()
        text = await run_in_threadpool(self._draft_text, state)
        path = content.path(state.name)
        probe = path.with_name(f".{path.name}.preview-{secrets.token_hex(6)}")
        try:
            await run_in_threadpool(probe.write_text, text, "utf-8")
            playlist, problems = await run_in_threadpool(content.check_file, probe)
            if playlist is None or not 0 <= index < len(playlist.slides):
                self._place(state, problems, forms.field_locations(text))
                state.general.insert(0, _("It cannot be drawn: fix what is marked in red."))
                return
            slide = playlist.slides[index]
            remote = self.hub.remote_data()
            if remote is not None and slide.data is not None:  # a new scans slide: count now
                await run_in_threadpool(
                    remote.count_if_missing, path.stem, slide.data, self.hub.now()
                )
            png = await self.previews.render(self._root(), probe, slide.id, as_id=path.stem)
        except LookupError as exc:
            state.general.append(_("The preview could not be drawn ({reason}).").format(reason=exc))
            return
        finally:
            probe.unlink(missing_ok=True)
        state.drafts[index] = "data:image/png;base64," + base64.b64encode(png).decode()
        state.focus = f"s{index}.preview"

    def _save_form(self, who: Principal, state: EditorState) -> Response:
        content = self._need_root()
        text = self._draft_text(state)
        if state.errors:  # an upload was refused: say so, keep the form, write nothing
            state.general.insert(0, _("Not saved: look at the marked notices."))
            return self._editor(who, state, status=422)
        try:
            saved = content.save(state.name, text.encode(), state.etag, who.user)
        except StaleError as exc:
            state.etag = exc.etag
            state.general.append(
                _(
                    "Someone changed this playlist since you opened it. Both versions are "
                    "below; if you save again, yours replaces the current one."
                )
            )
            return self._editor(
                who,
                state,
                status=412,
                conflict={"theirs": exc.current.decode("utf-8", "replace"), "yours": text},
            )
        except InvalidError as exc:
            self._place(state, exc.problems, forms.field_locations(text))
            state.general.insert(0, _("Not saved: fix what is marked in red."))
            state.errors = {k: v for k, v in state.errors.items() if v}
            state.focus = next(iter(state.errors), "")  # the first field marked: in view
            return self._editor(who, state, status=422)
        except ContentError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        self.accounts.audit(
            who.user,
            "playlist.save",
            f"playlists/{state.name}",
            before=saved.before,
            after=saved.after,
            detail=_("version {number}").format(number=saved.version),
        )
        if not saved.published:
            state.etag = saved.etag
            state.general.append(saved.note)
            return self._editor(who, state)
        return RedirectResponse(
            f"/console/listas/{quote(state.name)}?guardado={saved.version}", status_code=303
        )

    # ----------------------------------------------------------------- playlist API

    async def api_playlists(self, request: Request) -> Response:
        self.need(request, Role.VIEWER)
        self._need_root()
        with speaking(language.answer_language(request.cookies.get(language.COOKIE))):
            rows = await run_in_threadpool(self.summaries)
        return JSONResponse(
            {
                "playlists": [
                    {
                        "name": r.name,
                        "title": r.title,
                        "slides": r.slides,
                        "loop_seconds": r.loop_s,
                        "tags": r.tags,
                        "screens": r.screens,
                        "problems": r.problems,
                    }
                    for r in rows
                ]
            }
        )

    async def api_playlist_get(self, request: Request) -> Response:
        self.need(request, Role.VIEWER)
        content = self._need_root()
        try:
            data, etag = await run_in_threadpool(content.read, request.path_params["name"])
        except ContentError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        return Response(data, media_type="text/yaml; charset=utf-8", headers={"ETag": etag})

    async def api_playlist_put(self, request: Request) -> Response:
        who = self.need(request, Role.EDITOR, write=True)
        content = self._need_root()
        name = request.path_params["name"]
        if not PLAYLIST_NAME.match(name):
            raise HTTPException(
                404, _("no playlist {name} (names are a-z, 0-9, - and _)").format(name=repr(name))
            )
        body = await read_body(request, MAX_YAML_BYTES)
        if_match = request.headers.get("if-match")
        if request.headers.get("if-none-match", "").strip() == "*":
            if_match = "*"
        try:
            with speaking(language.answer_language(request.cookies.get(language.COOKIE))):
                saved = await run_in_threadpool(content.save, name, body, if_match, who.user)
        except StaleError as exc:
            return json_error(412, str(exc), headers={"ETag": exc.etag}, etag=exc.etag)
        except InvalidError as exc:
            # ``message`` in the console's language (the hub's, or the person's choice),
            # ``mensaje`` always in Spanish (the same validator on the same text, so the
            # same problems in the same order)
            spanish = exc.problems
            if language.answer_language(request.cookies.get(language.COOKIE)) != "es":
                with speaking("es"):
                    spanish = (await run_in_threadpool(content.check, name, body))[1]
            if len(spanish) != len(exc.problems):
                spanish = exc.problems
            return json_error(
                422,
                str(exc),
                problems=[
                    {
                        "path": p.path,
                        "line": p.line,
                        "col": p.col,
                        "message": p.message,
                        "mensaje": es.message,
                        "severity": p.severity,
                    }
                    for p, es in zip(exc.problems, spanish, strict=True)
                ],
            )
        except ContentError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        await run_in_threadpool(
            self.accounts.audit,
            who.user,
            "playlist.save",
            f"playlists/{name}",
            before=saved.before,
            after=saved.after,
            detail=_("version {number} (API)").format(number=saved.version),
        )
        answer: dict[str, Any] = {"version": saved.version, "history": saved.after}
        if not saved.published:
            answer["published"] = False
            answer["note"] = saved.note
        return JSONResponse(answer, headers={"ETag": saved.etag})

    # --------------------------------------------------------------------- assets

    def asset_rows(self) -> list[dict[str, Any]]:
        root = self._root()
        load = self.load()
        used: dict[str, list[str]] = {}
        for playlist in load.playlists:
            for slide in playlist.slides:
                for path in (slide.source, slide.text.image if slide.text else None):
                    if path:
                        used.setdefault(path, []).append(f"{playlist.name} · {slide.id}")
        if load.theme.logo:
            used.setdefault(load.theme.logo, []).append(_("theme (logo)"))
        rows = []
        for rel in self._assets_for_picker():
            file = root / rel
            try:
                size = file.stat().st_size
            except OSError:
                continue
            rows.append({"path": rel, "size": size, "used": used.get(rel, [])})
        return rows

    async def assets_page(self, request: Request) -> Response:
        who = self.need(request, Role.VIEWER)
        self._need_root()
        rows = await run_in_threadpool(self.asset_rows)
        return self.render("assets.html", who, rows=rows, active="archivos", notice=None)

    async def assets_post(self, request: Request) -> Response:
        self.need(request, Role.EDITOR)  # who and what role, before reading a large body
        form = await read_form(request, MAX_FORM_BYTES)
        who = self.need(request, Role.EDITOR, write=True, form=form)
        self._need_root()
        upload = form.get("archivo")
        notice = Notice("error", _("Choose a file to upload."))
        status = 422
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                path, _checked = await self._store_upload(upload, who)
                notice = Notice("ok", _("File received: {path}").format(path=path))
                status = 200
            except uploads.UploadRefused as exc:
                notice = Notice(
                    "error",
                    _("«{file}» was not accepted: {reason}").format(
                        file=upload.filename, reason=exc
                    ),
                )
        rows = await run_in_threadpool(self.asset_rows)
        return self.render(
            "assets.html", who, status=status, rows=rows, active="archivos", notice=notice
        )

    async def api_assets_post(self, request: Request) -> Response:
        who = self.need(request, Role.EDITOR, write=True)  # before reading a large body
        self._need_root()
        form = await read_form(request, MAX_FORM_BYTES)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(400, _("send the file as the multipart field 'file'"))
        try:
            path, checked = await self._store_upload(upload, who)
        except uploads.UploadRefused as exc:
            return json_error(422, str(exc))
        return JSONResponse(
            {
                "path": path,
                "kind": checked.kind,
                "media": checked.media,
                "width": checked.width,
                "height": checked.height,
                "seconds": checked.seconds,
            },
            status_code=201,
        )

    async def api_assets(self, request: Request) -> Response:
        self.need(request, Role.VIEWER)
        self._need_root()
        return JSONResponse({"assets": await run_in_threadpool(self.asset_rows)})

    async def asset_file(self, request: Request) -> Response:
        """An asset as stored (for thumbnails in the console)."""
        from starlette.responses import FileResponse

        self.need(request, Role.VIEWER)
        self._need_root()
        rel = request.path_params["path"]
        target = inside(self._root() / "assets", rel)
        if target is None or not target.is_file():
            raise HTTPException(404, _("no such file"))
        return FileResponse(
            target,
            headers={
                "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'",
                "X-Content-Type-Options": "nosniff",
            },
        )

    # -------------------------------------------------------------------- history

    def _history(self) -> History:
        if self.history is None:
            raise HTTPException(409, _("no content root, so no history"))
        return self.history

    async def history_page(self, request: Request) -> Response:
        who = self.need(request, Role.VIEWER)
        history = self._history()
        try:
            versions = await run_in_threadpool(history.versions, 200)
        except HistoryError as exc:
            log.error("console history unreadable: %s", exc)
            raise HTTPException(503, _("the history cannot be read (is git installed?)")) from None
        restored = request.query_params.get("restaurada")
        return self.render(
            "history.html", who, versions=versions, restored=restored, active="historial"
        )

    async def diff_page(self, request: Request) -> Response:
        who = self.need(request, Role.VIEWER)
        history = self._history()
        version = request.path_params["id"]
        try:
            diff = await run_in_threadpool(history.diff, version)
            full = await run_in_threadpool(history.resolve, version)
        except HistoryError as exc:
            raise HTTPException(404, str(exc)) from None
        info = next(
            (v for v in await run_in_threadpool(history.versions, 500) if v.id == full), None
        )
        return self.render(
            "diff.html", who, diff=diff.splitlines(), version=info, full=full, active="historial"
        )

    def _restore(self, who: Principal, version: str) -> tuple[str | None, str | None, int]:
        history = self._history()
        content = self._need_root()
        before = history.head()
        with content.lock:
            after = history.restore(version, who.user)
            number, _published, _note = content.publish(
                f"console: restored {version[:10]} by {who.user}"
            )
        self.accounts.audit(
            who.user,
            "history.restore",
            f"version:{version[:10]}",
            before=before,
            after=after,
            detail=_("version {number}").format(number=number),
        )
        return before, after, number

    async def restore_post(self, request: Request) -> Response:
        form = await read_form(request, 64 * 1024)
        who = self.need(request, Role.EDITOR, write=True, form=form)
        try:
            _before, _after, number = await run_in_threadpool(
                self._restore, who, request.path_params["id"]
            )
        except HistoryError as exc:
            raise HTTPException(404, str(exc)) from None
        return RedirectResponse(f"/console/historial?restaurada={number}", status_code=303)

    async def api_history(self, request: Request) -> Response:
        self.need(request, Role.VIEWER)
        history = self._history()
        try:
            versions = await run_in_threadpool(history.versions, 200)
        except HistoryError as exc:
            raise HTTPException(
                503, _("the history cannot be read: {reason}").format(reason=exc)
            ) from None
        return JSONResponse(
            {
                "versions": [
                    {"id": v.id, "time": v.ts, "author": v.author, "message": v.message}
                    for v in versions
                ]
            }
        )

    async def api_history_diff(self, request: Request) -> Response:
        self.need(request, Role.VIEWER)
        try:
            diff = await run_in_threadpool(self._history().diff, request.path_params["id"])
        except HistoryError as exc:
            raise HTTPException(404, str(exc)) from None
        return PlainTextResponse(diff)

    async def api_restore(self, request: Request) -> Response:
        who = self.need(request, Role.EDITOR, write=True)
        try:
            before, after, number = await run_in_threadpool(
                self._restore, who, request.path_params["id"]
            )
        except HistoryError as exc:
            raise HTTPException(404, str(exc)) from None
        return JSONResponse({"version": number, "history": after, "before": before})

    # ------------------------------------------------------------ admin: audit, people

    async def audit_page(self, request: Request) -> Response:
        who = self.need(request, Role.ADMIN)
        entries = await run_in_threadpool(self.accounts.audit_log, 300)
        return self.render("audit.html", who, entries=entries, active="auditoria")

    async def people_page(self, request: Request) -> Response:
        who = self.need(request, Role.ADMIN)
        accounts = await run_in_threadpool(self.accounts.accounts)
        now = time.time()
        rows = [(a, a.locked_until(now)) for a in accounts]
        return self.render("people.html", who, rows=rows, active="personas")

    async def unlock_post(self, request: Request) -> Response:
        form = await read_form(request, 64 * 1024)
        who = self.need(request, Role.ADMIN, write=True, form=form)
        name = request.path_params["name"]
        await run_in_threadpool(self.accounts.unlock, name)
        await run_in_threadpool(self.accounts.audit, who.user, "user.unlock", f"user:{name}")
        return RedirectResponse("/console/personas", status_code=303)

    # ------------------------------------------------------------- what plays now

    async def now_page(self, request: Request) -> Response:
        from signage.console.now import explain, parse_moment

        who = self.need(request, Role.VIEWER)
        self._need_root()
        q = request.query_params
        tag = (q.get("etiqueta") or "").strip()[:64]
        day = (q.get("fecha") or "").strip()[:20]
        hour = (q.get("hora") or "").strip()[:10]
        moment, error = parse_moment(day, hour, ZONE)
        load = await run_in_threadpool(self.load)
        report = explain(load.playlists, tag, moment)
        return self.render(
            "now.html",
            who,
            report=report,
            tag=tag,
            day=day or moment.strftime("%d/%m/%Y"),
            hour=hour or moment.strftime("%H:%M"),
            error=error,
            active="ahora",
        )

    # ------------------------------------------------------------------ previews

    async def preview(self, request: Request) -> Response:
        self.need(request, Role.VIEWER)
        content = self._need_root()
        name = request.path_params["playlist"]
        slide = request.path_params["slide"]
        if not PLAYLIST_NAME.match(name):
            raise HTTPException(404, _("no such playlist"))
        try:
            png = await self.previews.render(self._root(), content.path(name), slide)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"}
        )

    # --------------------------------------------------------------------- routes

    def routes(self) -> list[BaseRoute]:
        p = self.page
        return [
            Route("/console", lambda r: RedirectResponse("/console/", 308), methods=["GET"]),
            Route("/console/", p(self.home), methods=["GET"]),
            Route("/console/entrar", p(self.signin_page), methods=["GET"]),
            Route("/console/entrar", p(self.signin), methods=["POST"]),
            Route("/console/idioma", self.choose_language, methods=["GET"]),
            Route("/console/salir", p(self.signout), methods=["POST"]),
            Route("/console/listas", p(self.playlists_page), methods=["GET"]),
            Route("/console/listas", p(self.new_playlist), methods=["POST"]),
            Route("/console/listas/{name}", p(self.editor_page), methods=["GET"]),
            Route("/console/listas/{name}", p(self.editor_post), methods=["POST"]),
            Route("/console/archivos", p(self.assets_page), methods=["GET"]),
            Route("/console/archivos", p(self.assets_post), methods=["POST"]),
            Route("/console/archivos/{path:path}", p(self.asset_file), methods=["GET"]),
            Route("/console/historial", p(self.history_page), methods=["GET"]),
            Route("/console/historial/{id}", p(self.diff_page), methods=["GET"]),
            Route("/console/historial/{id}/restaurar", p(self.restore_post), methods=["POST"]),
            Route("/console/ahora", p(self.now_page), methods=["GET"]),
            Route("/console/auditoria", p(self.audit_page), methods=["GET"]),
            Route("/console/personas", p(self.people_page), methods=["GET"]),
            Route("/console/personas/{name}/desbloquear", p(self.unlock_post), methods=["POST"]),
            Mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static"),
            Route("/api/v1/playlists", self.api_playlists, methods=["GET"]),
            Route("/api/v1/playlists/{name}", self.api_playlist_get, methods=["GET"]),
            Route("/api/v1/playlists/{name}", self.api_playlist_put, methods=["PUT"]),
            Route("/api/v1/assets", self.api_assets, methods=["GET"]),
            Route("/api/v1/assets", self.api_assets_post, methods=["POST"]),
            Route("/api/v1/history", self.api_history, methods=["GET"]),
            Route("/api/v1/history/{id}", self.api_history_diff, methods=["GET"]),
            Route("/api/v1/history/{id}/restore", self.api_restore, methods=["POST"]),
            Route("/api/v1/preview/{playlist}/{slide}.png", self.preview, methods=["GET"]),
            *self.desk.routes(),
            *self.fleet.routes(),
            *self.report_room.routes(),
        ]


def routes(hub: Hub) -> list[BaseRoute]:
    """The console's routes for the hub's app (``signage.hub.app`` area hook).

    A console that cannot open its own database (a file left unreadable by hand) is left
    out with an error in the log; the hub goes on serving screens."""
    import sqlite3

    try:
        console = Console(hub)
    except (sqlite3.Error, OSError) as exc:
        log.error("the console is off: cannot open %s (%s)", hub.config.data_dir, exc)
        return []

    def read_guard(request: Request) -> None:
        console.need(request, Role.VIEWER)

    def operator_guard(request: Request) -> None:
        console.need(request, Role.OPERATOR, write=True)

    hub.reader_guard = read_guard
    hub.operator_guard = operator_guard
    return console.routes()
