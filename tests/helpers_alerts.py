"""Shared builders for the alert tests: Alerts made directly from the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signage.model import Alert, AlertStatus, AlertText, Severity

NOW = datetime(2026, 11, 28, 19, 41, tzinfo=UTC)  # sábado 28 de noviembre, 14:41 in Bogotá


def make_alert(
    alert_id: str = "a1",
    *,
    severity: Severity = Severity.SEVERE,
    headline: str = "Correo institucional fuera de servicio",
    sent: datetime = NOW,
    lifetime: timedelta = timedelta(hours=4),
    status: AlertStatus = AlertStatus.ACTUAL,
    tags: frozenset[str] | None = None,
    status_url: str | None = None,
    texts: tuple[AlertText, ...] | None = None,
) -> Alert:
    return Alert(
        id=alert_id,
        severity=severity,
        texts=texts
        or (
            AlertText(
                "es",
                headline,
                "El servicio de correo no está disponible.",
                "Use el chat de soporte.",
            ),
        ),
        sender="oai@alcaldia.example.gov.co",
        sent=sent,
        expires=sent + lifetime,
        status=status,
        tags=tags,
        status_url=status_url,
    )
