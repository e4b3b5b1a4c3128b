"""Prometheus Alertmanager webhooks to alert actions: which template a firing alert raises.

Pure: ``plan_webhook(payload, mapping, templates)`` returns the raises and clears a webhook
(format version 4) asks for; the hub applies them. For each alert in the payload:

* its id is ``am-<fingerprint>``, so a resend updates the same alert and "resolved" clears it;
* the template is the label ``signage_template``, else the first rule of
  ``playlists/alerts/alertmanager.yaml`` whose ``match`` labels all equal the alert's;
  an alert no rule maps is skipped (and reported in the answer);
* each template variable takes the annotation of that name, else the label, else the
  rule's ``variables`` value (where ``{label}`` is replaced by that label or annotation);
  labels the template does not use are ignored;
* severity: the rule's, else label ``signage_severity``, else label ``severity`` mapped
  (critical → Extreme, error/high → Severe, warning → Moderate, info/low → Minor), else
  the template's; tags: label ``signage_tags`` (comma-separated), else the rule's.

Mapping file::

    rules:
      - match: {alertname: CorreoCaido}
        template: interrupcion-servicio
        variables: {sistema: Correo institucional, hora_retorno: por confirmar}
        severity: Severe
        tags: [lobby]
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signage.alerts.raising import RaiseRequest, parse_tags
from signage.alerts.templates import MAPPING_FILE, TemplateSet
from signage.errors import AlertError, Problem
from signage.i18n import N_
from signage.model import Severity
from signage.validation import (
    Context,
    Field,
    Invalid,
    ListOf,
    Record,
    Spec,
    Text,
    Values,
    YMap,
    YNode,
    YScalar,
    kind_of,
    load_yaml_located,
)

LABEL_SEVERITY = {
    "critical": Severity.EXTREME,
    "page": Severity.EXTREME,
    "error": Severity.SEVERE,
    "high": Severity.SEVERE,
    "warning": Severity.MODERATE,
    "warn": Severity.MODERATE,
    "info": Severity.MINOR,
    "low": Severity.MINOR,
}
_ID_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Rule:
    """Alerts whose labels include all of ``match`` raise ``template``."""

    match: Mapping[str, str]
    template: str
    variables: Mapping[str, str] = field(default_factory=dict)
    severity: Severity | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AlertmanagerMapping:
    """The rules of ``alertmanager.yaml`` in order (the first match wins)."""

    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookAction:
    """One thing a webhook asks for: ``raise`` (with its request) or ``clear``."""

    kind: str
    alert_id: str
    request: RaiseRequest | None = None


@dataclass(frozen=True, slots=True)
class WebhookPlan:
    """Every action of a webhook, and the alerts skipped with why."""

    actions: tuple[WebhookAction, ...]
    skipped: tuple[str, ...] = ()


class _StrMap(Spec[dict[str, str]]):
    """A mapping of names to text values (labels, variables)."""

    def convert(self, node: YNode, ctx: Context) -> dict[str, str] | Invalid:
        if not isinstance(node, YMap):
            return ctx.error(node, f"expected a mapping of name: text, found {kind_of(node)}")
        out: dict[str, str] = {}
        for key, value in node.items:
            if (
                not isinstance(value, YScalar)
                or value.value is None
                or isinstance(value.value, bool)
            ):
                return ctx.error(value, f"'{key.raw}' needs a text value, found {kind_of(value)}")
            out[key.raw] = value.raw if not isinstance(value.value, str) else value.value
        return out

    def schema(self) -> dict[str, object]:
        return {"type": "object", "additionalProperties": {"type": "string"}}


class _SeverityText(Spec[Severity]):
    def convert(self, node: YNode, ctx: Context) -> Severity | Invalid:
        if isinstance(node, YScalar) and isinstance(node.value, str):
            for member in Severity:
                if member.value.lower() == node.value.strip().lower():
                    return member
        choices = ", ".join(s.value for s in Severity)
        return ctx.error(node, f"expected one of {choices}, found {kind_of(node)}")

    def schema(self) -> dict[str, object]:
        return {"enum": [s.value for s in Severity]}


def _rule(v: Values, _ctx: Context) -> Rule:
    tags = v.get("tags", None)
    return Rule(
        match=v.get("match", {}),
        template=v.get("template", ""),
        variables=v.get("variables", {}),
        severity=v.get("severity", None),
        tags=tuple(tags) if tags is not None else None,
    )


RULE = Record(
    {
        "match": Field(_StrMap(), required=True, description="labels that must all be equal"),
        "template": Field(Text(max_len=100), required=True, description="template to raise"),
        "variables": Field(_StrMap(), description="values for variables no label gives"),
        "severity": Field(_SeverityText(), description="overrides the template's"),
        "tags": Field(ListOf(Text(max_len=60)), description="screens (absent: template's)"),
    },
    _rule,
    title=N_("a rule"),
)
MAPPING = Record(
    {"rules": Field(ListOf(RULE), required=True, description="first match wins")},
    lambda v, _ctx: AlertmanagerMapping(rules=v.get("rules", ())),
    title=N_("the Alertmanager mapping"),
)


def load_mapping(folder: Path | None) -> tuple[AlertmanagerMapping, list[Problem]]:
    """``folder/alertmanager.yaml`` (no file: no rules, only ``signage_template`` labels)."""
    if folder is None or not (folder / MAPPING_FILE).is_file():
        return AlertmanagerMapping(), []
    path = folder / MAPPING_FILE
    node, problems = load_yaml_located(path, str(path))
    if node is None:
        return AlertmanagerMapping(), problems
    ctx = Context(path=str(path), problems=list(problems))
    built = MAPPING.convert(node, ctx)
    if isinstance(built, Invalid) or any(p.severity == "error" for p in ctx.problems):
        return AlertmanagerMapping(), ctx.problems
    return built, ctx.problems


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float)}


def _fill_labels(text: str, values: Mapping[str, str]) -> str:
    """A rule value with ``{label}`` replaced by the alert's label/annotation (kept if absent)."""
    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: values.get(m[1], m[0]), text)


def alert_id_for(fingerprint: str | None, labels: Mapping[str, str]) -> str:
    """``am-<fingerprint>`` (or a hash of the labels when Alertmanager sent none)."""
    if not fingerprint:
        text = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
        fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    return "am-" + (_ID_SAFE.sub("-", fingerprint)[:64] or "x")


def plan_webhook(payload: Any, mapping: AlertmanagerMapping, templates: TemplateSet) -> WebhookPlan:
    """The raises and clears an Alertmanager webhook (version 4) asks for.

    Raises:
        AlertError: the payload is not an Alertmanager webhook.
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("alerts"), list):
        raise AlertError("not an Alertmanager webhook: expected a JSON object with 'alerts'")
    version = str(payload.get("version", "4"))
    if version != "4":
        raise AlertError(f"Alertmanager webhook version {version} is not supported (only 4)")
    actions: list[WebhookAction] = []
    skipped: list[str] = []
    for i, item in enumerate(payload["alerts"]):
        if not isinstance(item, Mapping):
            skipped.append(f"alerts[{i}]: not an object")
            continue
        labels = _strings(item.get("labels"))
        annotations = _strings(item.get("annotations"))
        fingerprint = item.get("fingerprint")
        alert_id = alert_id_for(fingerprint if isinstance(fingerprint, str) else None, labels)
        name = labels.get("alertname", f"alerts[{i}]")
        if item.get("status") == "resolved":
            actions.append(WebhookAction("clear", alert_id))
            continue
        rule = next(
            (r for r in mapping.rules if all(labels.get(k) == v for k, v in r.match.items())),
            None,
        )
        template_id = labels.get("signage_template") or (rule.template if rule else None)
        if template_id is None:
            skipped.append(f"{name}: no rule in {MAPPING_FILE} and no signage_template label")
            continue
        template = templates.templates.get(template_id)
        if template is None:
            skipped.append(f"{name}: template '{template_id}' is unknown or has errors")
            continue
        variables: dict[str, str] = {}
        for var in template.variables:
            value = annotations.get(var.name) or labels.get(var.name)
            if value is None and rule is not None and var.name in rule.variables:
                value = _fill_labels(rule.variables[var.name], {**labels, **annotations})
            if value is not None:
                variables[var.name] = value
        severity = rule.severity if rule and rule.severity else None
        wanted = labels.get("signage_severity") or labels.get("severity", "")
        if severity is None and wanted:
            severity = next(
                (s for s in Severity if s.value.lower() == wanted.lower()),
                LABEL_SEVERITY.get(wanted.lower()),
            )
        tags = parse_tags(labels["signage_tags"]) if "signage_tags" in labels else None
        if tags is None and rule is not None:
            tags = rule.tags
        request = RaiseRequest(
            template=template_id,
            variables=variables,
            severity=severity,
            tags=tags,
            alert_id=alert_id,
        )
        actions.append(WebhookAction("raise", alert_id, request))
    return WebhookPlan(tuple(actions), tuple(skipped))
