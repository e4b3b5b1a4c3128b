"""Alertmanager webhooks to alert actions (pure planning) and the mapping file's validation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from signage.alerts.alertmanager import load_mapping, plan_webhook
from signage.alerts.templates import bundled_templates_dir, load_templates
from signage.errors import AlertError
from signage.model import Severity
from tests.helpers_alerts import NOW

TEMPLATES = load_templates()
MAPPING, MAPPING_PROBLEMS = load_mapping(bundled_templates_dir())
RESTORED = "servicio-restablecido"


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "signage", "alerts": list(alerts)}


def item(
    status: str = "firing", fingerprint: str | None = "abc123", **labels: str
) -> dict[str, Any]:
    annotations = {k[4:]: v for k, v in labels.items() if k.startswith("ann_")}
    labels = {k: v for k, v in labels.items() if not k.startswith("ann_")}
    out: dict[str, Any] = {"status": status, "labels": labels, "annotations": annotations}
    if fingerprint is not None:
        out["fingerprint"] = fingerprint
    return out


def test_the_bundled_mapping_is_valid() -> None:
    assert MAPPING_PROBLEMS == []
    assert [r.template for r in MAPPING.rules][:3] == [
        "interrupcion-servicio", "falla-sistema-critico", "ciberataque-phishing",
    ]  # fmt: skip


def test_firing_maps_labels_annotations_and_rule_values() -> None:
    plan = plan_webhook(
        payload(item(alertname="CorreoCaido", ann_hora_retorno="17:30")), MAPPING, TEMPLATES
    )
    (action,) = plan.actions
    assert action.kind == "raise" and action.alert_id == "am-abc123"
    assert action.request is not None
    alert = action.request.build(TEMPLATES, NOW)
    assert alert.id == "am-abc123"
    assert alert.texts[0].headline == "El correo institucional no está disponible"
    assert "17:30" in alert.texts[0].description  # the annotation beats the rule's value
    assert alert.expires - alert.sent == timedelta(hours=4)


def test_label_placeholders_severity_and_tags() -> None:
    plan = plan_webhook(
        payload(item(alertname="Otro", severity="critical", job="SIGEP", signage_tags="lobby,b")),
        MAPPING, TEMPLATES,
    )  # fmt: skip
    (action,) = plan.actions
    assert action.request is not None
    alert = action.request.build(TEMPLATES, NOW)
    assert alert.severity is Severity.EXTREME
    assert alert.texts[0].headline == "SIGEP no está disponible"  # sistema: "{job}"
    assert alert.tags == frozenset({"lobby", "b"})


def test_resolved_clears_unmapped_is_skipped_and_ids_are_stable() -> None:
    plan = plan_webhook(
        payload(
            item("resolved", alertname="CorreoCaido"),
            item(fingerprint="f2", alertname="DiscoLleno"),
            item(fingerprint=None, alertname="X", signage_template=RESTORED, sistema="A"),
            item(fingerprint=None, alertname="X", signage_template=RESTORED, sistema="A"),
        ),
        MAPPING, TEMPLATES,
    )  # fmt: skip
    kinds = [(a.kind, a.alert_id) for a in plan.actions]
    assert kinds[0] == ("clear", "am-abc123")
    assert kinds[1][1] == kinds[2][1] and kinds[1][1].startswith("am-")  # hashed labels
    assert plan.skipped == (
        "DiscoLleno: no rule in alertmanager.yaml and no signage_template label",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"alerts": "x"}, "not an Alertmanager webhook"),
        ({"version": "3", "alerts": []}, "version 3"),
    ],
)
def test_not_a_webhook_is_refused(body: dict[str, Any], message: str) -> None:
    with pytest.raises(AlertError, match=message):
        plan_webhook(body, MAPPING, TEMPLATES)


def test_mapping_errors_are_located(tmp_path: Path) -> None:
    (tmp_path / "alertmanager.yaml").write_text(
        "rules:\n  - match: {alertname: X}\n    templat: y\n  - match: [x]\n    template: z\n",
        encoding="utf-8",
    )
    mapping, problems = load_mapping(tmp_path)
    assert mapping.rules == ()
    lines = [str(p) for p in problems]
    assert any(
        ":3:5: unknown key 'templat'" in line and "did you mean 'template'" in line
        for line in lines
    )
    assert any(":4:12: expected a mapping" in line for line in lines)
