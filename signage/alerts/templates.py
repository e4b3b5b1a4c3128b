"""Alert templates: prepared crisis wording in ``playlists/alerts/*.yaml``, rendered into Alerts.

A template is YAML validated "like playlists" (the playlist package's located-YAML reader
and field specs), so every mistake reads ``path:line:col: message``::

    name: Interrupción del servicio          # required, shown by `signage alert templates`
    description: Un sistema no está disponible
    severity: Severe                          # Extreme | Severe | Moderate | Minor
    lifetime: 4h                              # default expiry after raising (default 4h)
    category: Infra                           # CAP category used by export-cap
    sender: oai@alcaldia.example.gov.co       # optional
    status_url: https://estado.example.gov.co # optional, may use {variables}
    tags: [lobby]                             # optional default screens (absent: every one)
    variables:                                # every {name} used below must be declared
      sistema: {description: El sistema afectado, example: Correo institucional}
      canal_soporte: {description: ..., default: "la extensión 4455"}
    texts:                                    # one block per language; the first is fallback
      es: {headline: "{sistema} fuera de servicio", description: ..., instruction: ...}
      en: {headline: "Service down: {sistema}", ...}   # values are Spanish: see below

Values are written once, in Spanish, with their article, so an English text puts each value
where an article does not matter (after a colon, in quotes or brackets); a value may also be
given for one language, ``NAME.LANGUAGE`` (``--set sistema.en="institutional e-mail"``),
which that language's texts use instead.

Rendering (``render_template``) refuses, with AlertError: an unknown template (with "did you
mean"), a missing variable (naming it and listing what the template takes), an unknown
variable, a variable with an empty value and an expiry that is not in the future.
``alertmanager.yaml`` in the same folder is the Alertmanager label mapping, not a template.
"""

from __future__ import annotations

import difflib
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from signage.errors import AlertError, Problem
from signage.i18n import N_, _
from signage.model import Alert, AlertStatus, AlertText, Settings, Severity
from signage.playlist import Duration, check_url
from signage.validation import (
    INVALID,
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
    did_you_mean,
    kind_of,
    load_yaml_located,
)

DEFAULT_LIFETIME = timedelta(hours=4)
DEFAULT_SENDER = "oai-signage"
MAPPING_FILE = "alertmanager.yaml"
_VARIABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_CAP_CATEGORIES = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
    "Infra", "CBRNE", "Other",
)  # fmt: skip


def bundled_templates_dir() -> Path:
    """The templates shipped with this checkout (``playlists/alerts`` beside the package)."""
    return Path(__file__).resolve().parents[2] / "playlists" / "alerts"


@dataclass(frozen=True, slots=True)
class Variable:
    """One ``{name}`` a template takes; required unless it has a default."""

    name: str
    description: str = ""
    example: str = ""
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A template's words in one language, with ``{variables}`` still in them."""

    language: str
    headline: str
    description: str = ""
    instruction: str = ""


@dataclass(frozen=True, slots=True)
class AlertTemplate:
    """A validated template from ``playlists/alerts/<id>.yaml``."""

    id: str
    name: str
    severity: Severity
    texts: tuple[TextBlock, ...]
    variables: tuple[Variable, ...] = ()
    description: str = ""
    lifetime: timedelta = DEFAULT_LIFETIME
    category: str = "Infra"
    sender: str = DEFAULT_SENDER
    status_url: str | None = None
    tags: frozenset[str] | None = None
    path: str = ""

    def variable_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def languages(self) -> tuple[str, ...]:
        """The languages of the texts, the fallback first (``es``, ``en``)."""
        return tuple(t.language for t in self.texts)

    def needs(self) -> str:
        """``sistema, hora_retorno (optional)``: what to pass, for messages and listings."""
        parts = [
            v.name if v.required else _("{name} (optional)").format(name=v.name)
            for v in self.variables
        ]
        return ", ".join(parts) or "no variables"


def placeholders(text: str) -> list[str]:
    """The ``{names}`` used in ``text`` (``{{`` and ``}}`` are literal braces).

    Raises:
        ValueError: for a brace that is not closed or a placeholder that is not a plain name.
    """
    names = []
    for _literal, field_name, spec, conversion in string.Formatter().parse(text):
        if field_name is None:
            continue
        if spec or conversion or not _VARIABLE_NAME.fullmatch(field_name):
            raise ValueError(
                _(
                    "'{{{field_name}}}' is not a variable; use {{name}} with lowercase "
                    "letters, digits and _ (write {{{{ and }}}} for literal braces)"
                ).format(field_name=field_name)
            )
        names.append(field_name)
    return names


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by its value (names checked at load time)."""
    out = []
    for literal, field_name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if field_name is not None:
            out.append(values[field_name])
    return "".join(out)


# {token} in a variable's default -> what playlists/settings.yaml says (apply_settings)
SETTINGS_TOKENS = (
    "correo_mesa_de_ayuda",
    "extension_mesa_de_ayuda",
    "pagina_de_estado",
    "organizacion",
)


def settings_values(settings: Settings) -> dict[str, str | None]:
    """The settings' contacts by the names a template default may use."""
    return {
        "correo_mesa_de_ayuda": settings.contacts.help_desk_email,
        "extension_mesa_de_ayuda": settings.contacts.help_desk_extension,
        "pagina_de_estado": settings.contacts.status_page,
        "organizacion": settings.organisation,
    }


class _SettingsDefault(Spec[str]):
    """A default value; its ``{names}`` may only be the settings' contacts."""

    def __init__(self) -> None:
        self.inner = Text(min_len=0, max_len=500)

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        value = self.inner.convert(node, ctx)
        if isinstance(value, Invalid):
            return value
        try:
            names = placeholders(value)
        except ValueError as exc:
            return ctx.error(node, str(exc))
        for name in names:
            if name not in SETTINGS_TOKENS:
                return ctx.error(
                    node,
                    _(
                        "'{{{name}}}' is not one of the settings' contacts a default may use: "
                        "{tokens}"
                    ).format(name=name, tokens=", ".join(SETTINGS_TOKENS))
                    + (did_you_mean(close[0]) if (close := _close(name)) else ""),
                )
        return value

    def schema(self) -> dict[str, object]:
        return self.inner.schema()


def _close(name: str) -> list[str]:
    return difflib.get_close_matches(name, SETTINGS_TOKENS, n=1)


def apply_settings(template: AlertTemplate, settings: Settings) -> AlertTemplate:
    """The template with its defaults' ``{contacts}`` filled from the settings.

    A default that names a contact the settings do not give is dropped, so the variable
    becomes required (``raise`` then says which value to pass) instead of printing a
    placeholder on a wall. Without its own ``status_url`` the template takes the
    settings' status page (the QR code of an alert screen).
    """
    values = settings_values(settings)
    variables = []
    for var in template.variables:
        default = var.default
        if default is not None and placeholders(default):
            given = {n: values.get(n) for n in placeholders(default)}
            default = (
                fill(default, {k: v for k, v in given.items() if v is not None})
                if all(v is not None for v in given.values())
                else None
            )
        variables.append(replace(var, default=default))
    status_url = template.status_url or settings.contacts.status_page
    return replace(template, variables=tuple(variables), status_url=status_url)


def split_languages(
    variables: Mapping[str, str], names: Iterable[str], languages: Iterable[str]
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """``variables`` split into plain values and per-language ones (``NAME.LANGUAGE`` for a
    declared name and one of the texts' languages); anything else stays plain (and is then
    refused as unknown). Pure."""
    known, spoken = set(names), set(languages)
    plain: dict[str, str] = {}
    per_language: dict[str, dict[str, str]] = {}
    for key, value in variables.items():
        name, dot, language = key.partition(".")
        if dot and name in known and language in spoken:
            per_language.setdefault(language, {})[name] = value
        else:
            plain[key] = value
    return plain, per_language


def in_language(
    values: Mapping[str, str], per_language: Mapping[str, Mapping[str, str]], language: str
) -> dict[str, str]:
    """The values one language's texts are filled with: its own where given. Pure."""
    own = per_language.get(language, {})
    return {**values, **{name: value.strip() for name, value in own.items()}}


def capitalised(text: str) -> str:
    """A sentence that starts with a capital, whatever value opened it ("el correo ..." ->
    "El correo ..."): variables are written as they read mid-sentence, with their article."""
    return text[:1].upper() + text[1:]


class _TemplateText(Spec[str]):
    """Text that may hold ``{variables}``; the names are checked against ``variables``."""

    def __init__(self, max_len: int, description: str) -> None:
        self.inner = Text(max_len=max_len, description=description)
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        value = self.inner.convert(node, ctx)
        if isinstance(value, Invalid):
            return value
        try:
            placeholders(value)
        except ValueError as exc:
            return ctx.error(node, str(exc))
        return value

    def schema(self) -> dict[str, object]:
        return self.inner.schema()


_VARIABLE = Record(
    {
        "description": Field(Text(max_len=200), description="what the value is, for IT staff"),
        "example": Field(Text(max_len=200), description="an example value"),
        "default": Field(
            _SettingsDefault(),
            description="used when none is given; may name the settings' contacts: "
            + ", ".join("{" + t + "}" for t in SETTINGS_TOKENS),
        ),
    },
    lambda v, _ctx: Variable(
        name="",
        description=v.get("description", ""),
        example=v.get("example", ""),
        default=v.get("default", None),
    ),
    title=N_("a variable"),
)

_TEXT_BLOCK = Record(
    {
        "headline": Field(_TemplateText(160, "the headline, large on screen"), required=True),
        "description": Field(_TemplateText(800, "what is happening")),
        "instruction": Field(_TemplateText(500, "what to do")),
    },
    lambda v, _ctx: TextBlock(
        language="",
        headline=v.get("headline", ""),
        description=v.get("description", ""),
        instruction=v.get("instruction", ""),
    ),
    title=N_("a language block"),
)


N = TypeVar("N")


class _Named(Spec[tuple[tuple[str, YScalar, N], ...]]):
    """A mapping whose keys are names chosen by the author (variables, languages)."""

    def __init__(self, item: Record[N], key: re.Pattern[str], noun: str, hint: str) -> None:
        self.item = item
        self.key = key
        self.noun = noun
        self.hint = hint

    def convert(self, node: YNode, ctx: Context) -> tuple[tuple[str, YScalar, N], ...] | Invalid:
        if not isinstance(node, YMap):
            return ctx.error(
                node,
                _("expected a mapping of {noun}s, found {found}").format(
                    noun=self.noun, found=kind_of(node)
                ),
            )
        out = []
        for key, value in node.items:
            if not self.key.fullmatch(key.raw):
                ctx.error(
                    key,
                    _("{raw} is not a valid {noun} name: {hint}").format(
                        raw=repr(key.raw), noun=self.noun, hint=self.hint
                    ),
                )
                continue
            converted = self.item.convert(value, ctx)
            if not isinstance(converted, Invalid):
                out.append((key.raw, key, converted))
        return tuple(out)

    def schema(self) -> dict[str, object]:
        return {
            "type": "object",
            "propertyNames": {"pattern": f"^(?:{self.key.pattern})$"},
            "additionalProperties": self.item.schema(),
        }


def _build(v: Values, ctx: Context) -> AlertTemplate | Invalid:
    raw_vars: tuple[tuple[str, YScalar, object], ...] = v.get("variables", ())
    raw_texts: tuple[tuple[str, YScalar, object], ...] = v.get("texts", ())
    variables = []
    for name, _node, value in raw_vars:
        if isinstance(value, Variable):
            variables.append(Variable(name, value.description, value.example, value.default))
    texts = []
    for language, _node, value in raw_texts:
        if isinstance(value, TextBlock):
            texts.append(TextBlock(language, value.headline, value.description, value.instruction))
    if v.written("texts") and not texts and v.has("texts"):
        return ctx.error(v.at("texts"), _("give the words in at least one language, e.g. 'es:'"))
    declared = {var.name for var in variables}
    used: set[str] = set()
    ok = True
    texts_node = v.at("texts")
    for block in texts:
        block_node = texts_node.get(block.language) if isinstance(texts_node, YMap) else None
        for key in ("headline", "description", "instruction"):
            text = getattr(block, key)
            names = placeholders(text)
            used.update(names)
            for name in names:
                if name not in declared:
                    ok = False
                    where = block_node.get(key) if isinstance(block_node, YMap) else None
                    close = difflib.get_close_matches(name, sorted(declared), n=1)
                    hint = did_you_mean("{" + close[0] + "}") if close else ""
                    ctx.error(
                        where or texts_node,
                        _("'{{{name}}}' is not declared under 'variables'{hint}").format(
                            name=name, hint=hint
                        ),
                    )
    status_url = v.get("status_url", None)
    if status_url is not None:
        for name in placeholders(status_url):
            used.add(name)
            if name not in declared:
                ok = False
                ctx.error(
                    v.at("status_url"),
                    _("'{{{name}}}' is not declared under 'variables'").format(name=name),
                )
    vars_node = v.at("variables")
    for var in variables:
        if var.name not in used:
            node = vars_node.key_node(var.name) if isinstance(vars_node, YMap) else None
            ctx.warn(
                node, _("variable '{name}' is declared but no text uses it").format(name=var.name)
            )
    if not ok or not texts or not v.has("name") or not v.has("severity"):
        return INVALID
    tags = v.get("tags", None)
    return AlertTemplate(
        id="",
        name=v.get("name", ""),
        severity=v.get("severity", Severity.MODERATE),
        texts=tuple(texts),
        variables=tuple(variables),
        description=v.get("description", ""),
        lifetime=timedelta(seconds=v.get("lifetime", DEFAULT_LIFETIME.total_seconds())),
        category=v.get("category", "Infra"),
        sender=v.get("sender", DEFAULT_SENDER),
        status_url=status_url,
        tags=frozenset(tags) if tags else None,
        path=ctx.path,
    )


class _Severity(Spec[Severity]):
    """CAP severity, written as CAP spells it (``Severe``) or in lowercase."""

    def convert(self, node: YNode, ctx: Context) -> Severity | Invalid:
        if isinstance(node, YScalar) and isinstance(node.value, str):
            for member in Severity:
                if member.value.lower() == node.value.strip().lower():
                    return member
        raw = node.raw if isinstance(node, YScalar) else kind_of(node)
        choices = [s.value for s in Severity]
        close = difflib.get_close_matches(str(raw).capitalize(), choices, n=1)
        hint = did_you_mean(close[0]) if close else ""
        return ctx.error(
            node,
            _("{raw} is not one of {items}{hint}").format(
                raw=repr(raw), items=", ".join(choices), hint=hint
            ),
        )

    def schema(self) -> dict[str, object]:
        return {"enum": [s.value for s in Severity]}


TEMPLATE = Record(
    {
        "name": Field(Text(max_len=100), required=True, description="shown in listings"),
        "description": Field(Text(max_len=300), description="when to use it"),
        "severity": Field(_Severity(), required=True, description="CAP severity"),
        "lifetime": Field(Duration(), description="expiry after raising (default 4h)"),
        "category": Field(
            Text(pattern="|".join(_CAP_CATEGORIES), hint=", ".join(_CAP_CATEGORIES)),
            description="CAP category for export-cap",
        ),
        "sender": Field(
            Text(max_len=200, pattern=r"[^\s,<&]+", hint="no spaces, commas, < or &"),
            description="who raises it (CAP sender)",
        ),
        "status_url": Field(
            _TemplateText(500, "https status page shown as a QR"), description="QR target"
        ),
        "tags": Field(ListOf(Text(max_len=60)), description="default screens (absent: all)"),
        "variables": Field(
            _Named(
                _VARIABLE,
                _VARIABLE_NAME,
                "variable",
                "lowercase letters, digits and _, starting with a letter",
            )
        ),
        "texts": Field(
            _Named(
                _TEXT_BLOCK,
                re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*"),
                "language",
                "a language code such as es, en or es-CO",
            ),
            required=True,
        ),
    },
    _build,
    title=N_("an alert template"),
)


def template_schema() -> dict[str, object]:
    """The JSON Schema of the template format (same definition as the validator)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **TEMPLATE.schema()}


def load_template_file(
    path: Path, display: str | None = None
) -> tuple[AlertTemplate | None, list[Problem]]:
    """One template file: the template (or None) and every problem, located."""
    where = display or str(path)
    node, problems = load_yaml_located(path, where)
    if node is None:
        return None, problems
    ctx = Context(path=where, problems=list(problems))
    built = TEMPLATE.convert(node, ctx)
    errors = [p for p in ctx.problems if p.severity == "error"]
    if isinstance(built, Invalid) or errors:
        return None, ctx.problems
    return _with_id(built, path.stem), ctx.problems


def _with_id(template: AlertTemplate, template_id: str) -> AlertTemplate:
    return AlertTemplate(
        id=template_id,
        name=template.name,
        severity=template.severity,
        texts=template.texts,
        variables=template.variables,
        description=template.description,
        lifetime=template.lifetime,
        category=template.category,
        sender=template.sender,
        status_url=template.status_url,
        tags=template.tags,
        path=template.path,
    )


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """Every template in a folder: the valid ones by id, and every problem found."""

    folder: Path
    templates: Mapping[str, AlertTemplate]
    problems: tuple[Problem, ...]
    broken: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def get(self, template_id: str) -> AlertTemplate:
        """The template; AlertError with "did you mean" or the file's problems otherwise."""
        found = self.templates.get(template_id)
        if found is not None:
            return found
        if template_id in self.broken:
            errors = [str(p) for p in self.problems if p.path.endswith(f"{template_id}.yaml")]
            raise AlertError(
                _("template '{id}' has errors; fix them first:").format(id=template_id)
                + "\n"
                + "\n".join(errors)
            )
        known = sorted(self.templates)
        close = difflib.get_close_matches(template_id, known, n=1, cutoff=0.5)
        hint = _("did you mean '{name}'? ").format(name=close[0]) if close else ""
        raise AlertError(
            _("unknown template '{template_id}' in {folder}; {hint}available: {value}").format(
                template_id=template_id,
                folder=self.folder,
                hint=hint,
                value=", ".join(known) or "none",
            )
        )


def template_files(folder: Path) -> list[Path]:
    """The template files of a folder (``*.yaml``/``*.yml``, not the Alertmanager mapping)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in [*folder.glob("*.yaml"), *folder.glob("*.yml")]
        if p.name != MAPPING_FILE and not p.name.startswith(".")
    )


def _settings_for(folder: Path) -> Settings:
    """The settings of the content root whose ``playlists/alerts`` is ``folder``; a root
    without a settings file of its own (a copy of the bundled templates, say) takes the
    bundled ones, whose contacts those templates were written for."""
    from signage.playlist import load_settings

    own = folder.parent / "settings.yaml"
    if folder.name == "alerts" and folder.parent.name == "playlists" and own.is_file():
        return load_settings(folder.parent.parent)[0]
    bundled = bundled_templates_dir().parent.parent
    return load_settings(bundled)[0]


def load_templates(folder: Path | None = None) -> TemplateSet:
    """Loads and validates every template in ``folder`` (default: the bundled ones)."""
    folder = folder if folder is not None else bundled_templates_dir()
    templates: dict[str, AlertTemplate] = {}
    problems: list[Problem] = []
    broken: set[str] = set()
    settings = _settings_for(folder)
    for path in template_files(folder):
        template, found = load_template_file(path)
        problems.extend(found)
        if template is None:
            broken.add(path.stem)
        else:
            templates[template.id] = apply_settings(template, settings)
    return TemplateSet(folder, templates, tuple(problems), frozenset(broken))


def new_alert_id(template_id: str, now: datetime) -> str:
    """``interrupcion-servicio-20261128-144121-3fa2``: readable, sortable, unique enough."""
    return f"{template_id[:60]}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def render(
    template: AlertTemplate,
    variables: Mapping[str, str],
    *,
    now: datetime,
    severity: Severity | None = None,
    expires: datetime | timedelta | None = None,
    tags: Iterable[str] | None = None,
    exercise: bool = False,
    alert_id: str | None = None,
) -> Alert:
    """An Alert from a validated template; AlertError for wrong variables or expiry.

    ``variables`` may also give a value for one language of the texts, ``NAME.LANGUAGE``
    (``sistema.en: institutional e-mail``): that language's texts use it instead of
    ``NAME``'s value, which is still needed (the other languages and ``status_url`` use it).
    """
    sent = now.replace(microsecond=0)
    names = template.variable_names()
    variables, per_language = split_languages(variables, names, template.languages())
    unknown = sorted(set(variables) - set(names))
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, names, n=1)
            hints.append(f"'{name}'" + (did_you_mean(close[0]) if close else ""))
        raise AlertError(
            _("template '{id}' has no variable {items}; it takes: {needs}").format(
                id=template.id, items=", ".join(hints), needs=template.needs()
            )
        )
    values: dict[str, str] = {}
    missing = []
    for var in template.variables:
        given = variables.get(var.name)
        if given is not None and not given.strip():
            raise AlertError(
                _("variable '{name}' is empty; give it a value or leave it out").format(
                    name=var.name
                )
            )
        value = given if given is not None else var.default
        if value is None:
            missing.append(var.name)
        else:
            values[var.name] = value.strip()
    for language, given_values in per_language.items():
        for name, given in given_values.items():
            if not given.strip():
                raise AlertError(
                    _("variable '{name}' is empty; give it a value or leave it out").format(
                        name=f"{name}.{language}"
                    )
                )
    if missing:
        examples = " ".join(
            f"--set {v.name}={v.example or '...'!r}"
            for v in template.variables
            if v.name in missing
        )
        raise AlertError(
            _("template '{id}' needs {items}; it takes: {needs}. For example: {examples}").format(
                id=template.id,
                items=", ".join(repr(m) for m in missing),
                needs=template.needs(),
                examples=examples,
            )
        )
    if expires is None:
        expiry = sent + template.lifetime
    elif isinstance(expires, timedelta):
        if expires <= timedelta(0):
            raise AlertError(
                _("expiry {expires} is not in the future; give a positive duration").format(
                    expires=expires
                )
            )
        expiry = sent + expires
    else:
        expiry = expires
    if expiry.tzinfo is None:
        raise AlertError(_("expiry needs a time zone offset, e.g. 2026-11-28T18:00-05:00"))
    if expiry <= now:
        raise AlertError(
            _(
                "expiry {isoformat} is in the past (now {isoformat2}); nothing would be shown"
            ).format(
                isoformat=expiry.isoformat(timespec="minutes"),
                isoformat2=now.isoformat(timespec="minutes"),
            )
        )
    texts = tuple(
        AlertText(
            language=b.language,
            headline=capitalised(fill(b.headline, in_language(values, per_language, b.language))),
            description=capitalised(
                fill(b.description, in_language(values, per_language, b.language))
            ),
            instruction=capitalised(
                fill(b.instruction, in_language(values, per_language, b.language))
            ),
        )
        for b in template.texts
    )
    status_url = fill(template.status_url, values) if template.status_url else None
    if status_url is not None:
        problem = check_url(status_url, frozenset())
        if problem is not None:
            raise AlertError(
                _("template '{id}': status page {problem}").format(id=template.id, problem=problem)
            )
    chosen_tags = frozenset(t.strip() for t in tags if t.strip()) if tags is not None else None
    return Alert(
        id=alert_id or new_alert_id(template.id, sent),
        severity=severity or template.severity,
        texts=texts,
        sender=template.sender,
        sent=sent,
        expires=expiry,
        status=AlertStatus.EXERCISE if exercise else AlertStatus.ACTUAL,
        tags=chosen_tags or template.tags,
        status_url=status_url,
        template=template.id,
    )


def render_template(
    name: str,
    variables: Mapping[str, str],
    *,
    now: datetime,
    severity: Severity | None = None,
    expires: datetime | timedelta | None = None,
    tags: Iterable[str] | None = None,
    exercise: bool = False,
    folder: Path | None = None,
    alert_id: str | None = None,
) -> Alert:
    """Renders template ``name`` from ``folder`` (default: the bundled templates).

    Raises:
        AlertError: unknown template (with "did you mean"), a template file with errors,
            a missing, unknown or empty variable, an expiry not in the future.
    """
    template = load_templates(folder).get(name)
    return render(
        template,
        variables,
        now=now,
        severity=severity,
        expires=expires,
        tags=tags,
        exercise=exercise,
        alert_id=alert_id,
    )
