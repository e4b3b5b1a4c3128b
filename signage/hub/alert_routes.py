"""The hub's alert room: raise and clear alerts over HTTP, from people, CAP and Alertmanager.

Endpoints (writes need the hub's bearer token; each write stores the alert in
``DATA/alerts/`` and then republishes, so the alert is in the next signed feed and pushed to
every screen at once):

    GET    /api/v1/alerts                 active alerts (public): {"alerts": [...], "version"}
    GET    /api/v1/alerts/{id}            one alert (public)
    GET    /api/v1/alerts/{id}/cap        one alert as a CAP 1.2 message (public)
    POST   /api/v1/alerts                 {"template", "variables", ...} or {"alert": {...}}
    DELETE /api/v1/alerts/{id}            clears one
    DELETE /api/v1/alerts                 clears all
    POST   /api/v1/alerts/cap             a CAP 1.2 XML body (Alert, Update, Cancel)
    POST   /api/v1/alerts/alertmanager    a Prometheus Alertmanager webhook (version 4)

Refusals answer JSON ``{"error": "..."}``: 400 for a bad request, 404 for an unknown alert,
409 when the hub holds no key to sign with, 422 for a refused alert or CAP message.
In root mode the alerts in ``ROOT/alerts/`` (raised with ``signage alert raise --root``)
are served too, and can be cleared through the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from signage.alerts.actions import apply_cap
from signage.alerts.alertmanager import load_mapping, plan_webhook
from signage.alerts.cap import export_cap, parse_cap
from signage.alerts.codec import alert_from_json, alert_to_json
from signage.alerts.raising import RaiseRequest, templates_folder
from signage.alerts.store import AlertStore, check_alert_id
from signage.alerts.templates import load_templates
from signage.errors import AlertError
from signage.hub.errors import json_error
from signage.hub.limits import parse_json
from signage.i18n import _
from signage.logs import area_logger
from signage.model import Alert

if TYPE_CHECKING:
    from signage.hub.state import Hub

log = area_logger("hub.alerts")


class AlertRoom:
    """The alert endpoints of one hub, and the alerts provider its publisher calls.

    Args:
        hub: the running hub (its data folder, root, clock, token and publisher).
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = AlertStore(hub.config.data_dir / "alerts")
        root = hub.config.root
        self.root_store = AlertStore(root / "alerts") if root is not None else None

    # ---------------------------------------------------------------- pure-ish helpers

    def _stores(self) -> tuple[AlertStore, ...]:
        return (self.store,) if self.root_store is None else (self.store, self.root_store)

    def active(self, now: datetime) -> tuple[Alert, ...]:
        """Every active alert the hub publishes (its own and its root's), by id."""
        seen: dict[str, Alert] = {}
        for store in self._stores():
            for alert in store.active(now):
                seen.setdefault(alert.id, alert)
        return tuple(sorted(seen.values(), key=lambda a: a.id))

    def _templates_dir(self) -> Path | None:
        return templates_folder(self.hub.config.root)

    def _publish(self, reason: str) -> int:
        return self.hub.republish(reason)

    def _check_can_sign(self) -> JSONResponse | None:
        if not self.hub.can_sign:
            return json_error(
                409,
                _(
                    "this hub holds no signing key, so it cannot put alerts in the feed; "
                    "start it with --key FILE"
                ),
            )
        return None

    async def _json(self, request: Request) -> Any:
        body = await request.body()  # capped while it streams (limits.BodyLimit)
        try:
            return await run_in_threadpool(parse_json, body)
        except ValueError as exc:
            raise AlertError(_("the request body: {reason}").format(reason=exc)) from None

    async def _write(self, request: Request, work: Callable[[], dict[str, Any]]) -> Response:
        self.hub.require_operator(request)
        refused = self._check_can_sign()
        if refused is not None:
            return refused
        try:
            answer = await run_in_threadpool(work)
        except AlertError as exc:
            return json_error(422, str(exc))
        status = int(answer.pop("_status", 200))
        return JSONResponse(answer, status_code=status)

    # ----------------------------------------------------------------------- routes

    async def list_alerts(self, request: Request) -> Response:
        alerts = await run_in_threadpool(self.active, self.hub.now())
        return JSONResponse(
            {"alerts": [alert_to_json(a) for a in alerts], "version": self.hub.current_version()}
        )

    def _find(self, alert_id: str) -> Alert | None:
        check_alert_id(alert_id)
        for store in self._stores():
            alert = store.get(alert_id)
            if alert is not None:
                return alert
        return None

    async def get_alert(self, request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        try:
            alert = await run_in_threadpool(self._find, alert_id)
        except AlertError as exc:
            return json_error(400, str(exc))
        if alert is None:
            return json_error(404, _("no alert '{id}'").format(id=alert_id))
        return JSONResponse(alert_to_json(alert))

    async def get_cap(self, request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        try:
            alert = await run_in_threadpool(self._find, alert_id)
        except AlertError as exc:
            return json_error(400, str(exc))
        if alert is None:
            return json_error(404, _("no alert '{id}'").format(id=alert_id))
        templates = load_templates(self._templates_dir()).templates
        template = templates.get(alert.template or "")
        category = template.category if template is not None else "Infra"
        return Response(export_cap(alert, category=category), media_type="application/cap+xml")

    def raise_now(self, body: Any) -> dict[str, Any]:
        """Raises the alert a ``POST /api/v1/alerts`` body asks for and republishes (the
        console's form calls this too, so both raise the same way). ``AlertError`` when
        the body is wrong."""
        now = self.hub.now()
        if isinstance(body, dict) and "alert" in body:
            if set(body) != {"alert"}:
                raise AlertError(
                    _("send either {{'alert': {{...}}}} or a template request, not both").format()
                )
            alert = alert_from_json(body["alert"], "request: alert")
            if not alert.active_at(now):
                raise AlertError(
                    _("alert '{id}' expired at {time}").format(
                        id=alert.id, time=alert.expires.isoformat()
                    )
                )
        else:
            templates = load_templates(self._templates_dir())
            alert = RaiseRequest.from_json(body).build(templates, now)
        self.store.prune(now)
        self.store.raise_alert(alert)
        version = self._publish(f"alert raised: {alert.id}")
        log.info("alert %s raised (%s), version %d", alert.id, alert.severity, version)
        return {
            "_status": 201,
            "id": alert.id,
            "version": version,
            "alert": alert_to_json(alert),
        }

    async def cap_index(self, request: Request) -> Response:
        """The active alerts as a CAP feed: an Atom index linking one CAP message each."""
        from signage.alerts.cap_feed import atom_index

        now = self.hub.now()
        alerts = await run_in_threadpool(self.active, now)
        body = atom_index(alerts, self.hub.config.base_url, now)
        return Response(body, media_type="application/atom+xml")

    async def raise_alert(self, request: Request) -> Response:
        self.hub.require_operator(request)
        try:
            body = await self._json(request)
        except AlertError as exc:
            return json_error(400, str(exc))

        def work() -> dict[str, Any]:
            return self.raise_now(body)

        return await self._write(request, work)

    def clear_now(self, alert_id: str) -> dict[str, Any]:
        """Clears one alert and republishes (``_status`` 404 when there is none)."""
        check_alert_id(alert_id)
        cleared = [s for s in self._stores() if s.clear(alert_id)]
        if not cleared:
            return {"_status": 404, "error": _("no alert '{id}' to clear").format(id=alert_id)}
        version = self._publish(f"alert cleared: {alert_id}")
        return {"cleared": alert_id, "version": version}

    def clear_all_now(self) -> dict[str, Any]:
        """Clears every alert and republishes."""
        count = sum(store.clear_all() for store in self._stores())
        version = self._publish("all alerts cleared")
        return {"cleared": count, "version": version}

    def import_cap_now(self, body: bytes) -> dict[str, Any]:
        """Applies a CAP 1.2 message (Alert, Update, Cancel) and republishes if it changed;
        says how many screens a raised alert reaches."""
        now = self.hub.now()
        message = parse_cap(body, now=now)
        outcome = apply_cap(message, self.store)
        detail = outcome.detail
        screens: int | None = None
        if message.alert is not None and outcome.raised:
            from signage.alerts.reach import reach
            from signage.hub.fleet import known_screens

            reached = reach(message.alert, known_screens(self.hub), now)
            screens = reached.count
            detail = f"{detail}; {reached.sentence()}"
        version = (
            self._publish(f"CAP {outcome.action}")
            if outcome.action != "ignored"
            else self.hub.current_version()
        )
        return {
            "action": outcome.action,
            "raised": outcome.raised,
            "cleared": list(outcome.cleared),
            "detail": detail,
            "screens": screens,
            "version": version,
        }

    async def clear_alert(self, request: Request) -> Response:
        alert_id = request.path_params["alert_id"]

        def work() -> dict[str, Any]:
            return self.clear_now(alert_id)

        return await self._write(request, work)

    async def clear_all(self, request: Request) -> Response:
        def work() -> dict[str, Any]:
            return self.clear_all_now()

        return await self._write(request, work)

    async def import_cap(self, request: Request) -> Response:
        self.hub.require_operator(request)
        body = await request.body()

        def work() -> dict[str, Any]:
            return self.import_cap_now(body)

        return await self._write(request, work)

    async def alertmanager(self, request: Request) -> Response:
        self.hub.require_token(request)
        try:
            payload = await self._json(request)
        except AlertError as exc:
            return json_error(400, str(exc))

        def work() -> dict[str, Any]:
            now = self.hub.now()
            folder = self._templates_dir()
            templates = load_templates(folder)
            mapping, problems = load_mapping(folder or templates.folder)
            for problem in problems:
                log.warning("%s", problem)
            plan = plan_webhook(payload, mapping, templates)
            raised: list[str] = []
            cleared: list[str] = []
            skipped = list(plan.skipped)
            for action in plan.actions:
                if action.kind == "clear":
                    if any(store.clear(action.alert_id) for store in self._stores()):
                        cleared.append(action.alert_id)
                    continue
                if action.request is None:
                    continue
                try:
                    alert = action.request.build(templates, now)
                except AlertError as exc:
                    skipped.append(f"{action.alert_id}: {exc}")
                    continue
                previous = self.store.get(alert.id)
                if previous is not None:  # a resend: keep when it was first raised
                    alert = _keep_sent(alert, previous)
                self.store.raise_alert(alert)
                raised.append(alert.id)
            for reason in skipped:
                log.warning("alertmanager webhook: skipped %s", reason)
            version = (
                self._publish("alertmanager webhook")
                if raised or cleared
                else self.hub.current_version()
            )
            return {"raised": raised, "cleared": cleared, "skipped": skipped, "version": version}

        return await self._write(request, work)


def _keep_sent(alert: Alert, previous: Alert) -> Alert:
    return replace(alert, sent=previous.sent) if previous.sent < alert.expires else alert


def routes(hub: Hub) -> list[BaseRoute]:
    """The alert endpoints; also makes the hub publish its active alerts."""
    room = AlertRoom(hub)
    hub.alerts_provider = room.active
    return [
        Route("/api/v1/alerts", room.list_alerts, methods=["GET"]),
        Route("/api/v1/alerts.atom", room.cap_index, methods=["GET"]),
        Route("/api/v1/alerts", room.raise_alert, methods=["POST"]),
        Route("/api/v1/alerts", room.clear_all, methods=["DELETE"]),
        Route("/api/v1/alerts/cap", room.import_cap, methods=["POST"]),
        Route("/api/v1/alerts/alertmanager", room.alertmanager, methods=["POST"]),
        Route("/api/v1/alerts/{alert_id}", room.get_alert, methods=["GET"]),
        Route("/api/v1/alerts/{alert_id}", room.clear_alert, methods=["DELETE"]),
        Route("/api/v1/alerts/{alert_id}/cap", room.get_cap, methods=["GET"]),
    ]
