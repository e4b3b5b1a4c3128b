"""A content root's settings: ``playlists/settings.yaml`` to a ``Settings``, and what follows.

One file for what every tool applies by default (``validate``, ``preview``, ``publish``,
the hub): the organisation and its contacts, the QR/web allow-list, the public base of
tracked QR links (carried in the signed feed with the theme), the language of messages::

    organisation: Alcaldía de Cartagena · Oficina Asesora de Informática
    contacts:
      help_desk_email: mesadeayuda@cartagena.gov.co
      help_desk_extension: "4444"
      status_page: https://estado.cartagena.gov.co
    qr:
      allowed_hosts: [encuestas.cartagena.gov.co, intranet.cartagena.gov.co]
    links_base: https://pantallas.cartagena.gov.co
    language: es

``effective_hosts`` is the one rule for combining the root's allow-list with a screen's
or a flag's: the narrower wins, nothing widens it.
"""

from __future__ import annotations

from pathlib import Path

from signage.errors import Problem
from signage.i18n import N_, _
from signage.model import Contacts, Settings, narrowed_hosts
from signage.playlist._fields import ContentContext, HttpsUrl, display_path
from signage.safeopen import UnsafeFile, open_inside
from signage.validation import (
    JSON,
    MAX_BYTES,
    Context,
    Field,
    Invalid,
    ListOf,
    Record,
    Text,
    Values,
    load_yaml_located,
)
from signage.validation.located import too_big

SETTINGS_FILE = "settings.yaml"

_HOST = Text(
    max_len=253,
    pattern=r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+",
    hint=N_("a host name such as encuestas.cartagena.gov.co (no https://, no path)"),
)


def _build_contacts(v: Values, ctx: Context) -> Contacts:
    return Contacts(
        help_desk_email=v.get("help_desk_email", None),
        help_desk_extension=v.get("help_desk_extension", None),
        status_page=v.get("status_page", None),
    )


CONTACTS: Record[Contacts] = Record(
    {
        "help_desk_email": Field(
            Text(
                max_len=254,
                pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+",
                hint=N_("an e-mail address such as mesadeayuda@cartagena.gov.co"),
            ),
            description="the help desk's e-mail address",
        ),
        "help_desk_extension": Field(
            Text(max_len=20, pattern=r"[0-9 #*+-]+", hint=N_("digits, e.g. 4444")),
            description="the help desk's telephone extension",
        ),
        "status_page": Field(HttpsUrl(), description="the public status page (https)"),
    },
    _build_contacts,
    title=N_("the contacts"),
)


def _build_qr(v: Values, ctx: Context) -> frozenset[str]:
    hosts: tuple[str, ...] = v.get("allowed_hosts", ())
    return frozenset(h.strip().lower() for h in hosts)


QR_SETTINGS: Record[frozenset[str]] = Record(
    {
        "allowed_hosts": Field(
            ListOf(_HOST, max_items=200),
            description="hosts QR codes and web slides may use (absent: any https host)",
        )
    },
    _build_qr,
    title=N_("the QR settings"),
)


class _Language(Text):
    def __init__(self) -> None:
        super().__init__(max_len=2, pattern="es|en", hint=N_("es or en"))


def _build_settings(v: Values, ctx: Context) -> Settings:
    return Settings(
        organisation=v.get("organisation", None),
        contacts=v.get("contacts", Contacts()),
        allowed_hosts=v.get("qr", frozenset()),
        links_base=(v.get("links_base", None) or "").rstrip("/") or None,
        language=v.get("language", None),
    )


SETTINGS: Record[Settings] = Record(
    {
        "organisation": Field(Text(max_len=160), description="the organisation's name"),
        "contacts": Field(CONTACTS, description="help desk and status page"),
        "qr": Field(QR_SETTINGS, description="the QR and web allow-list"),
        "links_base": Field(
            HttpsUrl(),
            description="public https base of tracked QR links (the hub's public URL)",
        ),
        "language": Field(_Language(), description="language of messages: es or en"),
    },
    _build_settings,
    title=N_("the settings"),
    description="The content root's playlists/settings.yaml.",
)

__all__ = [
    "CONTACTS",
    "SETTINGS",
    "SETTINGS_FILE",
    "effective_hosts",
    "load_settings",
    "settings_json_schema",
]


def settings_json_schema() -> JSON:
    """The JSON Schema of ``playlists/settings.yaml``, from the table the checks use."""
    from signage.playlist._format import SCHEMA_ID

    schema: JSON = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.replace("playlist.schema", "settings.schema"),
        "title": "signage settings",
    }
    schema.update(SETTINGS.schema())
    return schema


def load_settings(root: Path) -> tuple[Settings, list[Problem]]:
    """The root's ``playlists/settings.yaml`` (``Settings()`` when absent or refused)."""
    path = root / "playlists" / SETTINGS_FILE
    if not path.is_file():
        return Settings(), []
    shown = display_path(path)
    try:
        fh, st = open_inside(path, root)
    except UnsafeFile as exc:
        return Settings(), [Problem(shown, 0, 0, exc.reason)]
    except OSError as exc:
        return Settings(), [
            Problem(
                shown, 0, 0, _("cannot read the file: {reason}").format(reason=exc.strerror or exc)
            )
        ]
    with fh:
        if st.st_size > MAX_BYTES:
            return Settings(), [Problem(shown, 0, 0, too_big(st.st_size))]
        try:
            data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            reason = exc.strerror or exc
            return Settings(), [
                Problem(shown, 0, 0, _("cannot read the file: {reason}").format(reason=reason))
            ]
    node, problems = load_yaml_located(data, shown)
    if node is None:
        return Settings(), problems
    # the settings' own URLs are checked for https only: the allow-list is what they set
    ctx = ContentContext(path=shown, root=root, check_assets=False, problems=problems)
    value = SETTINGS.convert(node, ctx)
    found = sorted(ctx.problems, key=lambda p: (p.line, p.col))
    if isinstance(value, Invalid) or any(p.severity == "error" for p in found):
        return Settings(), found
    return value, found


def effective_hosts(root_hosts: frozenset[str], narrower: frozenset[str]) -> frozenset[str]:
    """The allow-list to apply: the root's, narrowed by a screen's or a flag's, never widened
    (``signage.model.narrowed_hosts``, which the player applies to the feed's list too)."""
    return narrowed_hosts(root_hosts, narrower)
