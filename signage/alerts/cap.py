"""CAP 1.2 in and out: OASIS Common Alerting Protocol messages parsed (hardened) and written.

Import rules (``parse_cap``):
    * XML is parsed with defusedxml: a DTD, an entity declaration or an external reference
      is refused (billion laughs, XXE), and so is a message over 1 MiB.
    * The root must be ``<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">`` with the
      required header elements; ``identifier`` and ``sender`` may not hold spaces, commas,
      ``<`` or ``&``; times must carry an offset.
    * ``status`` Actual and Exercise produce an Alert (Exercise is marked and shown only on
      exercise screens); Test, Draft and System produce none: never shown.
    * ``scope`` Public shows on every screen; Restricted becomes an alert for staff
      (``Alert.restriction`` = the ``restriction`` text, else "Restricted"), shown only on
      screens with ``audience: internal``; Private produces none (it names addressees, and
      a screen is nobody's inbox).
    * ``effective`` / ``onset`` (per ``info``; the later of the two) set when the alert
      starts showing (the earliest among the blocks); it is stored at once and appears
      when due. One that starts at or after its expiry is refused.
    * ``msgType`` Alert and Update produce an Alert (an Update replaces the alerts its
      ``references`` name); Cancel produces none and names the alerts it removes; Ack and
      Error are not for screens and produce none.
    * Each ``info`` block gives one AlertText per language (the first block of a language
      wins; the first block overall is the fallback). Severity is the most severe among the
      blocks (CAP's ``Unknown`` is shown as Moderate). ``expires`` is the earliest given;
      with none, ``sent`` + 4 h. A message already expired at ``now`` is refused.
    * Our own extensions, as CAP ``parameter`` elements: ``signage:tags`` (comma-separated
      screen tags; absent = every screen) and ``signage:template``; ``web`` becomes the
      status page shown as a QR.

Our alert id for a CAP message is derived from its sender and identifier, so an Update or a
Cancel that references ``sender,identifier,sent`` finds the alert it means.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET  # only to BUILD export XML; parsing goes through defusedxml
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from signage.errors import AlertError
from signage.model import Alert, AlertStatus, AlertText, Severity

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MAX_CAP_BYTES = 1 << 20
DEFAULT_LIFETIME = timedelta(hours=4)
TAGS_PARAMETER = "signage:tags"
TEMPLATE_PARAMETER = "signage:template"

_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
_MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
_SCOPES = ("Public", "Restricted", "Private")
_SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
_URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
_CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
_FORBIDDEN = re.compile(r"[\s,<&]")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class CapReference:
    """One earlier message named in ``references`` as ``sender,identifier,sent``."""

    sender: str
    identifier: str
    sent: str

    @property
    def alert_id(self) -> str:
        return cap_alert_id(self.sender, self.identifier)


@dataclass(frozen=True, slots=True)
class CapMessage:
    """A parsed CAP message and what it means for our screens.

    Args:
        alert: the Alert to raise (Alert/Update with status Actual or Exercise), else None.
        references: the earlier messages an Update replaces or a Cancel removes.
        ignored: why nothing is shown (status Test, Draft, System; msgType Ack, Error), or "".
    """

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    references: tuple[CapReference, ...] = ()
    alert: Alert | None = None
    ignored: str = ""

    @property
    def alert_id(self) -> str:
        return cap_alert_id(self.sender, self.identifier)


def cap_alert_id(sender: str, identifier: str) -> str:
    """Our alert id for a CAP message: readable, file-safe, and unique per sender."""
    digest = hashlib.sha256(f"{sender},{identifier}".encode()).hexdigest()[:10]
    slug = _SLUG.sub("-", identifier).strip("-._")[:60] or "cap"
    return f"cap-{slug}-{digest}"


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _text(parent: ET.Element, name: str, where: str, *, required: bool) -> str:
    node = parent.find(_q(name))
    value = (node.text or "").strip() if node is not None else ""
    if required and not value:
        raise AlertError(f"{where}: <{name}> is required and missing")
    return value


def _choice(parent: ET.Element, name: str, where: str, choices: tuple[str, ...]) -> str:
    value = _text(parent, name, where, required=True)
    if value not in choices:
        raise AlertError(f"{where}: <{name}> is {value!r}; CAP 1.2 allows {', '.join(choices)}")
    return value


def _time(value: str, name: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise AlertError(
            f"{where}: <{name}> {value!r} is not a CAP time like 2026-11-28T14:41:00-05:00"
        ) from None
    if moment.tzinfo is None:
        raise AlertError(f"{where}: <{name}> {value!r} needs a UTC offset, e.g. -05:00")
    return moment


def _parse_xml(xml: bytes) -> ET.Element:
    if len(xml) > MAX_CAP_BYTES:
        raise AlertError(f"CAP message refused: {len(xml)} bytes is over the 1 MiB limit")
    try:
        root: ET.Element = SafeET.fromstring(
            xml, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise AlertError(
            f"CAP message refused: it declares a DTD or entities ({type(exc).__name__}); "
            "CAP needs neither, and they are how entity-expansion and external-entity "
            "attacks work"
        ) from None
    except ParseError as exc:
        raise AlertError(f"CAP message refused: not well-formed XML ({exc})") from None
    if root.tag != _q("alert"):
        raise AlertError(
            f"CAP message refused: the root element is {root.tag!r}; expected <alert> in "
            f"the CAP 1.2 namespace {CAP_NS}"
        )
    return root


def _references(raw: str, where: str) -> tuple[CapReference, ...]:
    refs = []
    for item in raw.split():
        parts = item.split(",")
        if len(parts) != 3 or not all(parts):
            raise AlertError(
                f"{where}: <references> item {item!r} must be 'sender,identifier,sent'"
            )
        refs.append(CapReference(parts[0], parts[1], parts[2]))
    return tuple(refs)


def _severity(values: list[str]) -> Severity:
    ranks = [Severity.MODERATE if v == "Unknown" else Severity(v) for v in values]
    return min(ranks, key=lambda s: s.rank)


def _alert_from_infos(
    root: ET.Element, header: CapMessage, now: datetime, restriction: str | None = None
) -> Alert:
    identifier, sender, sent, status = header.identifier, header.sender, header.sent, header.status
    infos = root.findall(_q("info"))
    if not infos:
        raise AlertError("CAP message refused: it has no <info> block, so nothing to show")
    texts: dict[str, AlertText] = {}
    severities: list[str] = []
    expiries: list[datetime] = []
    starts: list[datetime] = []
    tags: frozenset[str] | None = None
    template: str | None = None
    web: str | None = None
    for i, info in enumerate(infos, start=1):
        where = f"CAP <info> #{i}"
        if not info.findall(_q("category")):
            raise AlertError(f"{where}: <category> is required and missing")
        event = _text(info, "event", where, required=True)
        _choice(info, "urgency", where, _URGENCIES)
        severities.append(_choice(info, "severity", where, _SEVERITIES))
        _choice(info, "certainty", where, _CERTAINTIES)
        language = _text(info, "language", where, required=False) or "en-US"
        begin = [
            _time(value, name, where)
            for name in ("effective", "onset")
            if (value := _text(info, name, where, required=False))
        ]
        if begin:
            starts.append(max(begin))
        expires = _text(info, "expires", where, required=False)
        if expires:
            expiries.append(_time(expires, "expires", where))
        if language not in texts:
            texts[language] = AlertText(
                language=language,
                headline=_text(info, "headline", where, required=False) or event,
                description=_text(info, "description", where, required=False),
                instruction=_text(info, "instruction", where, required=False),
            )
        web = web or _text(info, "web", where, required=False) or None
        for param in info.findall(_q("parameter")):
            name = _text(param, "valueName", f"{where} <parameter>", required=True)
            value = _text(param, "value", f"{where} <parameter>", required=False)
            if name == TAGS_PARAMETER:
                words = frozenset(t.strip() for t in value.split(",") if t.strip())
                tags = words or None
            elif name == TEMPLATE_PARAMETER:
                template = value or None
    if web is not None and not web.startswith(("https://", "http://")):
        raise AlertError(f"CAP <web> {web!r} must be an http(s) URL")
    expiry = min(expiries) if expiries else sent + DEFAULT_LIFETIME
    if expiry <= now:
        raise AlertError(
            f"CAP message refused: it expired at {expiry.isoformat()}, before now "
            f"({now.isoformat(timespec='seconds')}); nothing to show"
        )
    if expiry <= sent:
        raise AlertError("CAP message refused: <expires> is not after <sent>")
    onset = min(starts) if starts else None
    if onset is not None and onset >= expiry:
        raise AlertError(
            f"CAP message refused: it starts ({onset.isoformat()}) only when it has already "
            f"expired ({expiry.isoformat()}); nothing would ever show"
        )
    return Alert(
        id=cap_alert_id(sender, identifier),
        severity=_severity(severities),
        texts=tuple(texts.values()),
        sender=sender,
        sent=sent,
        expires=expiry,
        status=AlertStatus(status),
        tags=tags,
        status_url=web,
        template=template,
        restriction=restriction,
        onset=onset if onset is not None and onset > sent else None,
    )


def parse_cap(xml: bytes, *, now: datetime) -> CapMessage:
    """Parses and checks one CAP 1.2 message; AlertError with the reason when it is refused.

    Args:
        xml: the message bytes as received (file or HTTP body).
        now: the aware current time, to refuse a message that has already expired.
    """
    root = _parse_xml(xml)
    where = "CAP <alert>"
    identifier = _text(root, "identifier", where, required=True)
    sender = _text(root, "sender", where, required=True)
    for name, value in (("identifier", identifier), ("sender", sender)):
        if _FORBIDDEN.search(value):
            raise AlertError(f"{where}: <{name}> {value!r} may not hold spaces, commas, < or &")
    sent = _time(_text(root, "sent", where, required=True), "sent", where)
    status = _choice(root, "status", where, _STATUSES)
    msg_type = _choice(root, "msgType", where, _MSG_TYPES)
    scope = _choice(root, "scope", where, _SCOPES)
    raw_refs = _text(root, "references", where, required=False)
    references = _references(raw_refs, where) if raw_refs else ()
    base = CapMessage(identifier, sender, sent, status, msg_type, references)
    if msg_type == "Cancel" and not references:
        raise AlertError(f"{where}: a Cancel must name what it cancels in <references>")
    if status not in ("Actual", "Exercise"):
        return _with(base, ignored=f"status {status}: never shown on screens")
    if msg_type in ("Ack", "Error"):
        return _with(base, ignored=f"msgType {msg_type}: nothing to show on screens")
    if scope == "Private" and msg_type != "Cancel":
        return _with(base, ignored="scope Private: addressed to named people, never on screens")
    if msg_type == "Cancel":
        return base
    restriction = None
    if scope == "Restricted":
        restriction = _text(root, "restriction", where, required=False) or "Restricted"
    return _with(base, alert=_alert_from_infos(root, base, now, restriction))


def _with(message: CapMessage, *, alert: Alert | None = None, ignored: str = "") -> CapMessage:
    return CapMessage(
        message.identifier,
        message.sender,
        message.sent,
        message.status,
        message.msg_type,
        message.references,
        alert,
        ignored,
    )


def cap_time(moment: datetime) -> str:
    """A CAP time: seconds, with an offset (UTC written ``-00:00`` as the spec asks)."""
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


_URGENCY_FOR = {
    Severity.EXTREME: "Immediate",
    Severity.SEVERE: "Immediate",
    Severity.MODERATE: "Expected",
    Severity.MINOR: "Future",
}


def export_cap(alert: Alert, *, category: str = "Infra", event: str | None = None) -> bytes:
    """A CAP 1.2 ``Alert`` message (UTF-8 XML) for ``alert``, one ``info`` per language.

    Args:
        category: the CAP category (``Infra`` for IT systems, ``Security`` for attacks).
        event: the CAP event name; defaults to the first text's headline.
    """
    ET.register_namespace("", CAP_NS)
    root = ET.Element(_q("alert"))

    def add(parent: ET.Element, name: str, value: str) -> ET.Element:
        node = ET.SubElement(parent, _q(name))
        node.text = value
        return node

    add(root, "identifier", _FORBIDDEN.sub("-", alert.id))
    add(root, "sender", _FORBIDDEN.sub("-", alert.sender) or "signage")
    add(root, "sent", cap_time(alert.sent))
    add(root, "status", alert.status.value)
    add(root, "msgType", "Alert")
    add(root, "scope", "Public" if alert.restriction is None else "Restricted")
    if alert.restriction is not None:
        add(root, "restriction", alert.restriction)
    for text in alert.texts:
        info = ET.SubElement(root, _q("info"))
        add(info, "language", text.language)
        add(info, "category", category)
        add(info, "event", event or alert.texts[0].headline)
        add(info, "urgency", _URGENCY_FOR[alert.severity])
        add(info, "severity", alert.severity.value)
        add(info, "certainty", "Observed")
        if alert.onset is not None:
            add(info, "effective", cap_time(alert.onset))
            add(info, "onset", cap_time(alert.onset))
        add(info, "expires", cap_time(alert.expires))
        add(info, "senderName", alert.sender)
        add(info, "headline", text.headline)
        if text.description:
            add(info, "description", text.description)
        if text.instruction:
            add(info, "instruction", text.instruction)
        if alert.status_url:
            add(info, "web", alert.status_url)
        for name, value in (
            (TAGS_PARAMETER, ",".join(sorted(alert.tags)) if alert.tags else ""),
            (TEMPLATE_PARAMETER, alert.template or ""),
        ):
            if value:
                param = ET.SubElement(info, _q("parameter"))
                add(param, "valueName", name)
                add(param, "value", value)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
