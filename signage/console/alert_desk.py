"""The console's alert desk: templates as forms, a preview and a count before raising, clearing.

Raising follows CONSOLE-UX.md "Raising an alert safely": the form asks SIMULACRO or REAL
with no default; "Revisar" draws the alert with the player's own widgets and says how many
screens show it now, which, and when it ends by itself; only then "Emitir". The raise goes
through ``AlertRoom.raise_now``, the code behind ``POST /api/v1/alerts``, so the console and
the CLI raise the same alert the same way. Every raise, clear and CAP import is written to
the console's audit log, which is the alerts' history.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from signage.alerts.codec import alert_to_json
from signage.alerts.raising import RaiseRequest, templates_folder
from signage.alerts.templates import AlertTemplate, TemplateSet, load_templates
from signage.console.accounts import Role
from signage.errors import SignageError
from signage.hub.alert_routes import AlertRoom
from signage.i18n import N_, _, ngettext
from signage.logs import area_logger
from signage.model import Alert, AlertStatus, Severity

log = area_logger("hub.console")

SEVERITY_LABELS = {  # translated where shown
    Severity.EXTREME: N_("Extreme"),
    Severity.SEVERE: N_("Severe"),
    Severity.MODERATE: N_("Moderate"),
    Severity.MINOR: N_("Minor"),
}
ONLINE_S = 90.0  # a screen heard from within this long counts as showing the alert now
MAX_FORM = 64 * 1024
MAX_CAP = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Reach:
    """Which screens an alert reaches now (heard from in the last ``ONLINE_S``) and which
    it would reach but are not heard from."""

    now: tuple[str, ...]
    silent: tuple[str, ...]


def reach(alert_tags: frozenset[str] | None, screens: Sequence[tuple[str, tuple[str, ...], float]],
          now: float) -> Reach:  # fmt: skip
    """Pure: the screens (id, tags, last heard) an alert with ``alert_tags`` reaches."""
    hit = [
        (screen, heard)
        for screen, tags, heard in screens
        if alert_tags is None or alert_tags & set(tags)
    ]
    return Reach(
        tuple(s for s, heard in hit if now - heard <= ONLINE_S),
        tuple(s for s, heard in hit if now - heard > ONLINE_S),
    )


def lifetime_text(template: AlertTemplate) -> str:
    """The template's default expiry as the form shows it (``4h``, ``90m``)."""
    minutes = int(template.lifetime.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def request_from_form(form: Mapping[str, Any], template: AlertTemplate) -> RaiseRequest:
    """Pure: the RaiseRequest a filled form asks for (``SignageError`` saying why when not)."""
    mode = str(form.get("modo") or "")
    if mode not in ("simulacro", "real"):
        raise SignageError(_("Choose whether it is an EXERCISE or a REAL alert."))
    variables = {
        v.name: str(form.get(f"var_{v.name}") or "").strip()[:500] for v in template.variables
    }
    missing = [v.name for v in template.variables if not variables[v.name] and v.default is None]
    if missing:
        raise SignageError(_("Still to fill in: {fields}.").format(fields=", ".join(missing)))
    variables = {k: v for k, v in variables.items() if v}
    severity_text = str(form.get("severidad") or "")
    try:
        severity = Severity(severity_text) if severity_text else None
    except ValueError:
        raise SignageError(
            _("Unknown severity: {severity}.").format(severity=repr(severity_text))
        ) from None
    tags: tuple[str, ...] | None = None
    if form.get("objetivo") == "etiquetas":
        chosen = form.get("etiquetas") or ()
        tags = tuple(sorted({str(t)[:64] for t in chosen if str(t).strip()}))
        if not tags:
            raise SignageError(_("Tick at least one tag, or choose «Every screen»."))
    expires = str(form.get("vence") or "").strip()[:40] or None
    return RaiseRequest(
        template=template.id,
        variables=variables,
        severity=severity,
        expires=expires,
        tags=tags,
        exercise=mode == "simulacro",
    )


class AlertDesk:
    """The alert pages of one console.

    Args:
        console: the ``signage.console.web.Console`` (rendering, sign-in, audit, previews,
            the hub); typed loosely because the web module imports this one.
        read_form: the console's size-capped form reader.
    """

    def __init__(
        self, console: Any, read_form: Callable[[Request, int], Awaitable[FormData]]
    ) -> None:
        self.console = console
        self.read_form = read_form
        self.room = AlertRoom(console.hub)

    def _templates(self) -> TemplateSet:
        return load_templates(templates_folder(self.console.hub.config.root))

    def _screens(self) -> list[tuple[str, tuple[str, ...], float]]:
        import sqlite3

        try:
            rows = (
                self.console.hub.db()
                .execute("SELECT screen, received, report FROM screen_heartbeats")
                .fetchall()
            )
        except sqlite3.Error:
            return []
        out = []
        for screen, received, body in rows:
            try:
                tags = tuple(str(t) for t in json.loads(body).get("tags", []))
            except (ValueError, AttributeError):
                tags = ()
            out.append((str(screen), tags, float(received)))
        return sorted(out)

    def _screens_for(
        self, alert: Alert
    ) -> tuple[list[tuple[str, tuple[str, ...], float]], tuple[str, ...]]:
        """The screens that will show ``alert`` by the players' own rules (tags, audience,
        SIMULACRO only on exercise screens: ``signage.alerts.reach``), and why the others
        will not."""
        from signage.alerts.reach import reach as crisis_reach
        from signage.hub.fleet import known_screens

        now = self.console.hub.now()
        facts = known_screens(self.console.hub)
        showing = {f.id for f in facts if crisis_reach(alert, [f], now).count}
        why = crisis_reach(alert, facts, now).why
        return [s for s in self._screens() if s[0] in showing], why

    def _history(self) -> list[Any]:
        entries = self.console.accounts.audit_log(300)
        return [e for e in entries if str(e.action).startswith("alert.")][:50]

    @staticmethod
    def history_text(detail: str) -> str:
        """Pure: an audit entry's detail as a comms person reads it (the raw text if odd)."""
        try:
            d = json.loads(detail) if detail else {}
        except ValueError:
            return detail
        if not isinstance(d, dict):
            return detail
        parts = []
        if d.get("estado"):
            parts.append(_("EXERCISE") if d["estado"] == "Exercise" else _("REAL"))
        if d.get("gravedad"):
            try:
                parts.append(_(SEVERITY_LABELS[Severity(d["gravedad"])]))
            except ValueError:
                parts.append(str(d["gravedad"]))
        if "etiquetas" in d:
            tags = d["etiquetas"]
            parts.append(
                _("every screen") if not tags else _("tags {tags}").format(tags=", ".join(tags))
            )
        if d.get("plantilla"):
            parts.append(_("template {name}").format(name=d["plantilla"]))
        if "retiradas" in d:
            count = int(d["retiradas"]) if str(d["retiradas"]).isdigit() else 0
            parts.append(ngettext("{count} cleared", "{count} cleared", count).format(count=count))
        if d.get("accion"):
            parts.append(f"CAP: {d['accion']}")
        return " · ".join(parts) or detail

    async def _page(
        self,
        request: Request,
        who: Any,
        *,
        chosen: str | None = None,
        values: Mapping[str, Any] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        templates = await run_in_threadpool(self._templates)
        ids = sorted(templates.templates)
        pick = chosen or request.query_params.get("plantilla") or (ids[0] if ids else "")
        template = templates.templates.get(pick)
        active = await run_in_threadpool(self.room.active, self.console.hub.now())
        screens = await run_in_threadpool(self._screens)
        tags = sorted({t for _id, ts, _heard in screens for t in ts})
        history = await run_in_threadpool(self._history)
        raised_by = {
            e.target.removeprefix("alert:"): (e.user, e.ts)
            for e in reversed(history)
            if e.action == "alert.raise"
        }
        page: Response = self.console.render(
            "alerts.html",
            who,
            status=status,
            templates=[templates.templates[i] for i in ids],
            tpl=template,
            lifetime=lifetime_text(template) if template else "",
            values=values or {},
            error=error,
            active_alerts=[_row(a) for a in active],
            raised_by=raised_by,
            tags=tags,
            history=history,
            history_text=self.history_text,
            can_raise=who.role >= Role.OPERATOR,
            severities=SEVERITY_LABELS,
            notice=request.query_params.get("aviso", "")[:200],
            active="alertas",
        )
        return page

    async def alerts_page(self, request: Request) -> Response:
        who = self.console.need(request, Role.VIEWER)
        return await self._page(request, who)

    async def _form(self, request: Request) -> tuple[Any, FormData]:
        form = await self.read_form(request, MAX_FORM)
        who = self.console.need(request, Role.OPERATOR, write=True, form=form)
        return who, form

    def _build(self, req: RaiseRequest) -> Alert:
        return req.build(self._templates(), self.console.hub.now())

    async def review(self, request: Request) -> Response:
        """The confirmation: the alert drawn as the screens will show it, where and until when."""
        who, form = await self._form(request)
        templates = await run_in_threadpool(self._templates)
        template = templates.templates.get(str(form.get("plantilla") or ""))
        if template is None:
            return await self._page(request, who, error=_("Choose a template."), status=422)
        values = {k: form.getlist(k) if k == "etiquetas" else form.get(k) for k in form}
        try:
            req = request_from_form(values, template)
            alert = await run_in_threadpool(self._build, req)
        except SignageError as exc:
            return await self._page(
                request, who, chosen=template.id, values=values, error=str(exc), status=422
            )
        screens, refused = await run_in_threadpool(self._screens_for, alert)
        where = reach(alert.tags, screens, time.time())
        try:
            png = await self.console.previews.render_alert(json.dumps(alert_to_json(alert)))
            preview = "data:image/png;base64," + base64.b64encode(png).decode()
        except LookupError as exc:
            log.warning("alert preview: %s", exc)
            preview = ""
        review: Response = self.console.render(
            "alert_review.html",
            who,
            alert=_row(alert),
            preview=preview,
            reach=where,
            refused=refused,
            request_json=json.dumps(req.to_json(), ensure_ascii=False),
            tpl=template,
            active="alertas",
        )
        return review

    async def raise_post(self, request: Request) -> Response:
        who, form = await self._form(request)
        try:
            body = json.loads(str(form.get("pedido") or ""))
        except ValueError:
            raise HTTPException(400, _("invalid request")) from None
        try:
            answer = await run_in_threadpool(self.room.raise_now, body)
        except SignageError as exc:
            return await self._page(request, who, error=str(exc), status=422)
        alert = answer["alert"]
        await run_in_threadpool(
            self.console.accounts.audit,
            who.user,
            "alert.raise",
            f"alert:{answer['id']}",
            detail={
                "plantilla": alert.get("template"),
                "estado": alert.get("status"),
                "gravedad": alert.get("severity"),
                "etiquetas": alert.get("tags"),
                "vence": alert.get("expires"),
                "version": answer["version"],
            },
        )
        log.info("console: %s raised alert %s", who.user, answer["id"])
        return RedirectResponse("/console/alertas?aviso=emitida", status_code=303)

    async def clear_post(self, request: Request) -> Response:
        who, _form = await self._form(request)
        alert_id = request.path_params["id"]
        try:
            answer = await run_in_threadpool(self.room.clear_now, alert_id)
        except SignageError:
            raise HTTPException(404, _("no such alert")) from None
        if answer.get("_status") == 404:
            raise HTTPException(404, _("no such alert"))
        await run_in_threadpool(
            self.console.accounts.audit, who.user, "alert.clear", f"alert:{alert_id}"
        )
        return RedirectResponse("/console/alertas?aviso=retirada", status_code=303)

    async def clear_all_post(self, request: Request) -> Response:
        who, _form = await self._form(request)
        answer = await run_in_threadpool(self.room.clear_all_now)
        await run_in_threadpool(
            self.console.accounts.audit,
            who.user,
            "alert.clear_all",
            "alert:*",
            detail={"retiradas": answer["cleared"]},
        )
        return RedirectResponse("/console/alertas?aviso=retiradas", status_code=303)

    async def cap_post(self, request: Request) -> Response:
        form = await self.read_form(request, MAX_CAP + MAX_FORM)
        who = self.console.need(request, Role.OPERATOR, write=True, form=form)
        upload = form.get("cap")
        if not isinstance(upload, UploadFile):
            return await self._page(request, who, error=_("Choose a CAP file (.xml)."), status=422)
        body = await upload.read(MAX_CAP + 1)
        if len(body) > MAX_CAP:
            raise HTTPException(413, _("CAP file too large"))
        try:
            answer = await run_in_threadpool(self.room.import_cap_now, body)
        except SignageError as exc:
            return await self._page(
                request,
                who,
                error=_("The CAP file cannot be used: {reason}").format(reason=exc),
                status=422,
            )
        await run_in_threadpool(
            self.console.accounts.audit,
            who.user,
            "alert.cap",
            f"alert:{answer.get('raised') or ','.join(answer.get('cleared') or [])}",
            detail={"accion": answer["action"], "detalle": answer.get("detail")},
        )
        return RedirectResponse(f"/console/alertas?aviso=cap-{answer['action']}", status_code=303)

    def routes(self) -> list[BaseRoute]:
        p = self.console.page
        return [
            Route("/console/alertas", p(self.alerts_page), methods=["GET"]),
            Route("/console/alertas/revisar", p(self.review), methods=["POST"]),
            Route("/console/alertas/emitir", p(self.raise_post), methods=["POST"]),
            Route("/console/alertas/retirar", p(self.clear_all_post), methods=["POST"]),
            Route("/console/alertas/cap", p(self.cap_post), methods=["POST"]),
            Route("/console/alertas/{id}/retirar", p(self.clear_post), methods=["POST"]),
        ]


def _row(alert: Alert) -> dict[str, Any]:
    text = alert.texts[0]
    return {
        "id": alert.id,
        "headline": text.headline,
        "description": text.description,
        "instruction": text.instruction,
        "severity": _(SEVERITY_LABELS[alert.severity])
        if alert.severity in SEVERITY_LABELS
        else str(alert.severity),
        "exercise": alert.status == AlertStatus.EXERCISE,
        "tags": sorted(alert.tags) if alert.tags is not None else None,
        "sent": alert.sent.timestamp(),
        "expires": alert.expires.timestamp(),
        "sender": alert.sender,
        "template": alert.template or "",
    }
