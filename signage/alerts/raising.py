"""Raise requests: what IT staff ask for (template, variables, overrides), as one typed value.

The command line builds a ``RaiseRequest`` from its flags and either renders it locally
(``--root``) or sends ``to_json()`` to the hub, which reads it back with ``from_json`` and
renders it the same way, so both paths refuse the same mistakes with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from signage.alerts.templates import TemplateSet, render
from signage.errors import AlertError
from signage.i18n import _
from signage.model import Alert, Severity
from signage.playlist import parse_duration


def parse_expiry(text: str) -> datetime | timedelta:
    """``2h``, ``90m``, ``1h30m`` (from now) or an ISO time with offset (``...T18:00-05:00``)."""
    value = text.strip()
    if "T" in value or value.count("-") >= 2:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise AlertError(
                _(
                    "expiry {text} is not a time like 2026-11-28T18:00-05:00 nor a duration like 2h"
                ).format(text=repr(text))
            ) from None
        if moment.tzinfo is None:
            raise AlertError(
                _("expiry {text} needs a UTC offset, e.g. {value}-05:00").format(
                    text=repr(text), value=value
                )
            )
        return moment
    try:
        return timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise AlertError(_("expiry: {exc}").format(exc=exc)) from None


def parse_severity(text: str) -> Severity:
    """A CAP severity in any letter case; AlertError listing the choices otherwise."""
    for member in Severity:
        if member.value.lower() == text.strip().lower():
            return member
    choices = ", ".join(s.value for s in Severity)
    raise AlertError(
        _("severity {text} is not one of {choices}").format(text=repr(text), choices=choices)
    )


def parse_assignments(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["sistema=Correo", ...]`` to a mapping; AlertError for an item without ``=``."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise AlertError(
                _("--set {pair}: write KEY=VALUE, e.g. --set sistema=Correo").format(
                    pair=repr(pair)
                )
            )
        if name.strip() in out:
            raise AlertError(_("--set {strip} is given twice").format(strip=name.strip()))
        out[name.strip()] = value
    return out


def parse_tags(text: str) -> tuple[str, ...]:
    """``lobby,piso-1`` to a tuple of tags (empty items dropped)."""
    return tuple(t.strip() for t in text.split(",") if t.strip())


@dataclass(frozen=True, slots=True)
class RaiseRequest:
    """An IT officer's request to raise an alert from a template.

    Args:
        expires: as typed: a duration (``2h``) or an ISO time; ``None`` for the template's.
        tags: ``None`` for the template's default screens (every screen if it has none).
        alert_id: a fixed id (Alertmanager fingerprints); ``None`` makes a new one.
    """

    template: str
    variables: Mapping[str, str] = field(default_factory=dict)
    severity: Severity | None = None
    expires: str | None = None
    tags: tuple[str, ...] | None = None
    exercise: bool = False
    alert_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "variables": dict(self.variables),
            "severity": self.severity.value if self.severity else None,
            "expires": self.expires,
            "tags": list(self.tags) if self.tags is not None else None,
            "exercise": self.exercise,
        }

    @classmethod
    def from_json(cls, data: Any) -> RaiseRequest:
        """Reads a request body; AlertError naming the field that is wrong."""
        if not isinstance(data, Mapping):
            raise AlertError(_("the request must be a JSON object with 'template' and 'variables'"))
        known = {"template", "variables", "severity", "expires", "tags", "exercise", "id"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise AlertError(
                _("unknown field(s) {items}; known: {items2}").format(
                    items=", ".join(unknown), items2=", ".join(sorted(known))
                )
            )
        template = data.get("template")
        if not isinstance(template, str) or not template:
            raise AlertError(
                _("'template' must be the name of a template, e.g. interrupcion-servicio")
            )
        variables = data.get("variables") or {}
        if not isinstance(variables, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
        ):
            raise AlertError(_("'variables' must be an object of text values"))
        severity = data.get("severity")
        if severity is not None and not isinstance(severity, str):
            raise AlertError(_("'severity' must be text, e.g. Severe"))
        expires = data.get("expires")
        if expires is not None and not isinstance(expires, str):
            raise AlertError(_("'expires' must be text: a duration like 2h or an ISO time"))
        tags = data.get("tags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
        ):
            raise AlertError(_("'tags' must be a list of screen tags"))
        exercise = data.get("exercise", False)
        if not isinstance(exercise, bool):
            raise AlertError(_("'exercise' must be true or false"))
        alert_id = data.get("id")
        if alert_id is not None and not isinstance(alert_id, str):
            raise AlertError(_("'id' must be text"))
        return cls(
            template=template,
            variables=dict(variables),
            severity=parse_severity(severity) if severity else None,
            expires=expires,
            tags=tuple(tags) if tags is not None else None,
            exercise=exercise,
            alert_id=alert_id,
        )

    def build(self, templates: TemplateSet, now: datetime) -> Alert:
        """Renders the request into an Alert (AlertError for every refusal)."""
        template = templates.get(self.template)
        return render(
            template,
            self.variables,
            now=now,
            severity=self.severity,
            expires=parse_expiry(self.expires) if self.expires else None,
            tags=self.tags,
            exercise=self.exercise,
            alert_id=self.alert_id,
        )


def templates_folder(root: Path | None) -> Path | None:
    """``ROOT/playlists/alerts`` when a root has its own templates, else None (bundled)."""
    if root is not None and (root / "playlists" / "alerts").is_dir():
        return root / "playlists" / "alerts"
    return None
