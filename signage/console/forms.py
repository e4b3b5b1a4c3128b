"""The console's editor room: the playlist form <-> the YAML document, round-trip.

A playlist file is read with ruamel.yaml's round-trip loader, so comments, key order and
quoting survive; the editor's form is applied to that document key by key, and a key whose
value the form did not change is left exactly as written. ``field_locations`` maps each
line of the text about to be saved back to the form field that wrote it, so a problem the
validator finds at ``line:col`` is shown beside its field.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from signage.console import data_form
from signage.console.yamlnode import set_key as _set
from signage.console.yamlnode import text as _text
from signage.i18n import N_

KINDS = ("image", "video", "web", "text", "data")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = {  # translated where shown
    "mon": N_("Mon"),
    "tue": N_("Tue"),
    "wed": N_("Wed"),
    "thu": N_("Thu"),
    "fri": N_("Fri"),
    "sat": N_("Sat"),
    "sun": N_("Sun"),
}
OVERLAYS = ("qr", "clock", "ticker", "logo")
MAX_SLIDES = 500


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load_doc(text: str) -> Any:
    """The round-trip document of a playlist's YAML text (raises ruamel's YAMLError)."""
    return _yaml().load(text)


def dump_doc(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


# ------------------------------------------------------------------------ form values


@dataclass
class SlideForm:
    """One slide as the editor shows it; every value is the text of a form control."""

    key: str = ""  # "3": slide 3 of the file as opened; "": new; "dup3": a copy of slide 3
    kind: str = "image"
    id: str = ""
    src: str = ""
    title: str = ""
    body: str = ""
    duration: str = ""
    fit: str = ""
    transition: str = ""
    qr_mode: str = "inherit"  # inherit | none | custom
    qr_url: str = ""
    qr_caption: str = ""
    date_from: str = ""
    date_until: str = ""
    days: tuple[str, ...] = ()
    hours: str = ""
    posted_as: int = -1  # N of the ``sN.`` fields it came from in a submitted form
    data: data_form.DataFields = field(default_factory=data_form.DataFields)  # kind "data"


@dataclass
class PlaylistForm:
    name: str = ""
    tags: str = ""
    duration: str = ""
    transition: str = ""
    fit: str = ""
    qr_mode: str = "none"  # none | custom (defaults)
    qr_url: str = ""
    qr_caption: str = ""
    overlays: tuple[str, ...] = OVERLAYS
    ticker: str = ""
    date_from: str = ""  # the whole playlist's schedule
    date_until: str = ""
    days: tuple[str, ...] = ()
    hours: str = ""
    slides: list[SlideForm] = field(default_factory=list)


def expand_days(value: Any) -> tuple[str, ...]:
    """``[mon, tue]``, ``mon-fri`` or ``[mon-wed, sat]`` as the list of day keys."""
    words: list[str] = []
    items = value if isinstance(value, list) else [value] if value else []
    for item in items:
        for word in re.split(r"[,\s]+", str(item).strip().lower()):
            if "-" in word:
                a, _, b = word.partition("-")
                if a in DAYS and b in DAYS and DAYS.index(a) <= DAYS.index(b):
                    words.extend(DAYS[DAYS.index(a) : DAYS.index(b) + 1])
                    continue
            if word:
                words.append(word)
    return tuple(d for d in DAYS if d in words) + tuple(w for w in words if w not in DAYS)


def _hours_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return _text(value)


def slide_form(node: Any, key: str) -> SlideForm:
    """The form values of one slide of the document."""
    if not isinstance(node, Mapping):
        return SlideForm(key=key, kind="image")
    kind = next((k for k in KINDS if k in node), "image")
    form = SlideForm(key=key, kind=kind, id=_text(node.get("id")))
    if kind == "text":
        text = node.get("text")
        if isinstance(text, Mapping):
            form.title = _text(text.get("title"))
            form.body = _text(text.get("body"))
    elif kind == "data":
        form.data, form.src, form.title = data_form.read_fields(node.get("data"))
    else:
        form.src = _text(node.get(kind))
    form.duration = _text(node.get("duration"))
    form.fit = _text(node.get("fit"))
    form.transition = _text(node.get("transition"))
    qr = node.get("qr")
    if qr is False:
        form.qr_mode = "none"
    elif isinstance(qr, Mapping):
        form.qr_mode = "custom"
        form.qr_url = _text(qr.get("url"))
        form.qr_caption = _text(qr.get("caption"))
    schedule = node.get("schedule")
    if isinstance(schedule, Mapping):
        form.date_from = _text(schedule.get("from"))
        form.date_until = _text(schedule.get("until"))
        form.days = expand_days(schedule.get("days"))
        form.hours = _hours_text(schedule.get("hours"))
    return form


def playlist_form(doc: Any) -> PlaylistForm:
    """The editor's form values for a whole playlist document."""
    form = PlaylistForm()
    if not isinstance(doc, Mapping):
        return form
    form.name = _text(doc.get("name"))
    tags = doc.get("tags")
    form.tags = ", ".join(str(t) for t in tags) if isinstance(tags, list) else _text(tags)
    defaults = doc.get("defaults")
    if isinstance(defaults, Mapping):
        form.duration = _text(defaults.get("duration"))
        form.transition = _text(defaults.get("transition"))
        form.fit = _text(defaults.get("fit"))
        qr = defaults.get("qr")
        if isinstance(qr, Mapping):
            form.qr_mode = "custom"
            form.qr_url = _text(qr.get("url"))
            form.qr_caption = _text(qr.get("caption"))
    overlays = doc.get("overlays")
    if isinstance(overlays, Mapping):
        form.overlays = tuple(o for o in OVERLAYS if overlays.get(o, True) is not False)
    ticker = doc.get("ticker")
    if isinstance(ticker, list):
        form.ticker = "\n".join(str(t) for t in ticker)
    schedule = doc.get("schedule")
    if isinstance(schedule, Mapping):
        form.date_from = _text(schedule.get("from"))
        form.date_until = _text(schedule.get("until"))
        form.days = expand_days(schedule.get("days"))
        form.hours = _hours_text(schedule.get("hours"))
    slides = doc.get("slides")
    if isinstance(slides, list):
        form.slides = [slide_form(s, str(i)) for i, s in enumerate(slides[:MAX_SLIDES])]
    return form


def form_from_post(post: Mapping[str, Any], getlist: Any) -> PlaylistForm:
    """The editor's form values from a submitted form (``getlist(name)`` for multi-values).

    Slides come back in the order of their ``s{N}.pos`` fields (drag and drop renumbers
    them in the browser), so the order on screen is the order saved.
    """

    def get(name: str) -> str:
        value = post.get(name)
        return value.strip() if isinstance(value, str) else ""

    form = PlaylistForm(
        name=get("name"),
        tags=get("tags"),
        duration=get("d.duration"),
        transition=get("d.transition"),
        fit=get("d.fit"),
        qr_mode="custom" if get("d.qr_url") else "none",
        qr_url=get("d.qr_url"),
        qr_caption=get("d.qr_caption"),
        overlays=tuple(o for o in OVERLAYS if o in getlist("overlays")),
        ticker=get("ticker"),
        date_from=get("p.from"),
        date_until=get("p.until"),
        days=tuple(d for d in DAYS if d in getlist("p.days")),
        hours=get("p.hours"),
    )
    indexes = sorted(
        {int(m.group(1)) for k in post for m in [re.match(r"^s(\d{1,3})\.kind$", k)] if m}
    )
    slides: list[tuple[float, int, SlideForm]] = []
    for i in indexes[:MAX_SLIDES]:
        p = f"s{i}."
        kind = get(p + "kind")
        slide = SlideForm(
            key=get(p + "key"),
            kind=kind if kind in KINDS else "image",
            id=get(p + "id"),
            src=get(p + "src"),
            title=get(p + "title"),
            body=get(p + "body"),
            duration=get(p + "duration"),
            fit=get(p + "fit"),
            transition=get(p + "transition"),
            qr_mode=get(p + "qr_mode") or "inherit",
            qr_url=get(p + "qr_url"),
            qr_caption=get(p + "qr_caption"),
            date_from=get(p + "from"),
            date_until=get(p + "until"),
            days=tuple(d for d in DAYS if d in getlist(p + "days")),
            hours=get(p + "hours"),
            posted_as=i,
        )
        if slide.kind == "data":
            slide.data = data_form.from_post(get, getlist, p)
        try:
            pos = float(get(p + "pos") or i)
        except ValueError:
            pos = float(i)
        slides.append((pos, i, slide))
    form.slides = [s for _, _, s in sorted(slides, key=lambda t: (t[0], t[1]))]
    return form


def structural(form: PlaylistForm, action: str) -> PlaylistForm:
    """Applies an editor button that changes the slide list without saving: ``add:KIND``,
    ``dup:N``, ``del:N``, ``up:N``, ``down:N``. Unknown actions change nothing."""
    verb, _, arg = action.partition(":")
    slides = list(form.slides)
    if verb == "add" and arg in KINDS and len(slides) < MAX_SLIDES:
        slides.append(SlideForm(kind=arg))
        return replace(form, slides=slides)
    if not arg.isdigit() or int(arg) >= len(slides):
        return form
    n = int(arg)
    if verb == "dup" and len(slides) < MAX_SLIDES:
        source = slides[n]
        key = source.key if source.key.startswith("dup") or not source.key else f"dup{source.key}"
        copy_id = f"{source.id}-copia" if source.id else ""
        slides.insert(n + 1, replace(source, key=key, id=copy_id, data=copy.copy(source.data)))
    elif verb == "del":
        del slides[n]
    elif verb == "up" and n > 0:
        slides[n - 1], slides[n] = slides[n], slides[n - 1]
    elif verb == "down" and n + 1 < len(slides):
        slides[n + 1], slides[n] = slides[n], slides[n + 1]
    return replace(form, slides=slides)


def focus_after(form: PlaylistForm, action: str) -> str:
    """The control to focus after ``structural(form, action)`` redrew the editor: the new
    slide's first field, or the moved slide's same button (so pressing it again keeps
    moving it). "" when nothing in particular."""
    verb, _, arg = action.partition(":")
    count = len(form.slides)
    if verb == "add" and count:
        slide = form.slides[-1]
        first = {"image": "upload", "video": "upload", "web": "src", "text": "title"}
        first["data"] = "data_from"
        return f"s{count - 1}.{first.get(slide.kind, 'id')}"
    if not arg.isdigit():
        return ""
    n = int(arg)
    if verb == "cols" and n < count:  # "Leer las columnas del archivo": on to the columns
        return f"s{n}.label"
    target = {"dup": n + 1, "up": n - 1, "down": n + 1}.get(verb)
    if target is None or not 0 <= target < count:
        return ""
    if verb == "dup":
        return f"s{target}.id"
    if verb == "up" and target == 0:
        return f"s{target}.down"
    if verb == "down" and target == count - 1:
        return f"s{target}.up"
    return f"s{target}.{verb}"


# --------------------------------------------------------------- applying to the document


def _duration(text: str) -> Any:
    return int(text) if text.isdigit() else text


def parse_date(text: str) -> Any:
    """``dd/mm/aaaa`` or ``aaaa-mm-dd`` as a date; anything else as typed (the validator
    then says what is wrong with it)."""
    text = text.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return text


def _flow(items: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def apply_slide(node: CommentedMap, form: SlideForm) -> None:
    for kind in KINDS:
        if kind != form.kind:
            node.pop(kind, None)
    _set(node, "id", form.id, position=0)
    at = 1 if "id" in node else 0
    if form.kind == "text":
        text = node.get("text")
        if not isinstance(text, CommentedMap):
            text = CommentedMap()
            node.insert(min(at, len(node)), "text", text)
        _set(text, "title", form.title)
        _set(text, "body", form.body)
    elif form.kind == "data":
        data = node.get("data")
        if not isinstance(data, CommentedMap):
            data = CommentedMap()
            node.insert(min(at, len(node)), "data", data)
        data_form.apply(data, form.data, form.src, form.title)
    else:
        _set(node, form.kind, form.src, position=at)
        if not form.src:  # keep the key so the validator names the missing file there
            node.insert(min(at, len(node)), form.kind, "")
    _set(node, "duration", _duration(form.duration))
    _set(node, "fit", form.fit)
    _set(node, "transition", form.transition)
    if form.qr_mode == "none":
        if node.get("qr") is not False:
            node["qr"] = False
    elif form.qr_mode == "custom":
        qr = node.get("qr")
        if not isinstance(qr, CommentedMap):
            qr = CommentedMap()
            node["qr"] = qr
        _set(qr, "url", form.qr_url)
        if "url" not in qr:
            qr["url"] = ""
        _set(qr, "caption", form.qr_caption)
    else:
        node.pop("qr", None)
    apply_schedule(node, form.date_from, form.date_until, form.days, form.hours)


def apply_schedule(
    node: CommentedMap, date_from: str, date_until: str, days: tuple[str, ...], hours_text: str
) -> None:
    """Sets (or removes, when every part is empty) ``node``'s ``schedule``."""
    schedule = node.get("schedule")
    if not (date_from or date_until or days or hours_text):
        node.pop("schedule", None)
        return
    if not isinstance(schedule, CommentedMap):
        schedule = CommentedMap()
        node["schedule"] = schedule
    _set(schedule, "from", parse_date(date_from) if date_from else "")
    _set(schedule, "until", parse_date(date_until) if date_until else "")
    if expand_days(schedule.get("days")) != days:
        _set(schedule, "days", _flow(days) if days else "")
    hours = [h.strip() for h in hours_text.split(",") if h.strip()]
    written = [h.strip() for h in _hours_text(schedule.get("hours")).split(",") if h.strip()]
    if hours != written:
        _set(schedule, "hours", hours[0] if len(hours) == 1 else _flow(hours))


def apply_form(doc: Any, form: PlaylistForm) -> Any:
    """Applies the editor's values to ``doc`` (the file as it is on disk), in place when it
    is a mapping; returns the document to save."""
    if not isinstance(doc, CommentedMap):
        doc = CommentedMap()
    _set(doc, "name", form.name, position=0)
    if "name" not in doc:
        doc.insert(0, "name", "")
    tags = [t.strip() for t in form.tags.split(",") if t.strip()]
    current_tags = doc.get("tags")
    current = [str(t) for t in current_tags] if isinstance(current_tags, list) else None
    if tags != current and (tags or current_tags is not None):
        _set(doc, "tags", _flow(tags) if tags else "", position=1)
    defaults = doc.get("defaults")
    wants_defaults = form.duration or form.transition or form.fit or form.qr_url
    if wants_defaults or isinstance(defaults, CommentedMap):
        if not isinstance(defaults, CommentedMap):
            defaults = CommentedMap()
            doc.insert(min(2, len(doc)), "defaults", defaults)
        _set(defaults, "duration", _duration(form.duration))
        _set(defaults, "transition", form.transition)
        _set(defaults, "fit", form.fit)
        qr = defaults.get("qr")
        if form.qr_url:
            if not isinstance(qr, CommentedMap):
                qr = CommentedMap()
                defaults["qr"] = qr
            _set(qr, "url", form.qr_url)
            _set(qr, "caption", form.qr_caption)
        elif isinstance(qr, CommentedMap):
            defaults.pop("qr")
        if not defaults:
            doc.pop("defaults")
    overlays = doc.get("overlays")
    off = [o for o in OVERLAYS if o not in form.overlays]
    if isinstance(overlays, CommentedMap) or off:
        if not isinstance(overlays, CommentedMap):
            overlays = CommentedMap()
            doc["overlays"] = overlays
        for o in OVERLAYS:
            shown = o in form.overlays
            if overlays.get(o, True) is not shown:
                overlays[o] = shown
    ticker = [t.strip() for t in form.ticker.splitlines() if t.strip()]
    current_ticker = doc.get("ticker")
    if ticker != ([str(t) for t in current_ticker] if isinstance(current_ticker, list) else []):
        _set(doc, "ticker", CommentedSeq(ticker) if ticker else "")
    wants_schedule = form.date_from or form.date_until or form.days or form.hours
    if wants_schedule and "schedule" not in doc and "slides" in doc:
        # A new playlist schedule goes above the slides, where people look for it.
        doc.insert(list(doc).index("slides"), "schedule", CommentedMap())
    if wants_schedule or "schedule" in doc:
        apply_schedule(doc, form.date_from, form.date_until, form.days, form.hours)
    old = doc.get("slides")
    old_list = list(old) if isinstance(old, list) else []
    new: list[Any] = []
    for slide in form.slides:
        key = slide.key
        base: Any = None
        if key.startswith("dup") and key[3:].isdigit() and int(key[3:]) < len(old_list):
            base = copy.deepcopy(old_list[int(key[3:])])
        elif key.isdigit() and int(key) < len(old_list):
            base = old_list[int(key)]
        if not isinstance(base, CommentedMap):
            base = CommentedMap()
        apply_slide(base, slide)
        new.append(base)
    if isinstance(old, CommentedSeq):
        old[:] = new
    else:
        doc["slides"] = CommentedSeq(new)
    return doc


# ------------------------------------------------------------------ locating problems


def _field_of(path: tuple[Any, ...]) -> str:
    """The form field that writes the value at ``path`` of the document."""
    if not path:
        return ""
    head = path[0]
    if head == "slides" and len(path) >= 2 and isinstance(path[1], int):
        p = f"s{path[1]}."
        rest = path[2:]
        if not rest:
            return p + "src"
        key = rest[0]
        if key in ("image", "video", "web"):
            return p + "src"
        if key == "text":
            return p + ("body" if rest[1:2] == ("body",) else "title")
        if key == "data":
            return data_form.field_of(p, rest[1:])
        if key == "qr":
            return p + ("qr_caption" if rest[1:2] == ("caption",) else "qr_url")
        if key == "schedule":
            sub = rest[1] if len(rest) > 1 else "from"
            return p + {"until": "until", "days": "days", "hours": "hours"}.get(str(sub), "from")
        if key in ("id", "duration", "fit", "transition"):
            return p + str(key)
        return p + "src"
    if head == "defaults":
        sub = path[1] if len(path) > 1 else "duration"
        if sub == "qr":
            return "d.qr_caption" if path[2:3] == ("caption",) else "d.qr_url"
        return f"d.{sub}" if sub in ("duration", "transition", "fit") else "d.duration"
    if head == "schedule":
        sub = path[1] if len(path) > 1 else "from"
        return "p." + {"until": "until", "days": "days", "hours": "hours"}.get(str(sub), "from")
    if head in ("name", "tags", "ticker", "overlays"):
        return str(head)
    return ""


def field_locations(text: str) -> list[tuple[int, int, str]]:
    """``(line, col, field)`` (1-based) for every key and value of ``text``, sorted."""
    try:
        doc = load_doc(text)
    except Exception:  # a text the validator will refuse anyway; nothing to locate
        return []
    out: list[tuple[int, int, str]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, CommentedMap):
            for key, value in node.items():
                pos = node.lc.data.get(key)
                child = (*path, key)
                if pos:
                    out.append((pos[0] + 1, pos[1] + 1, _field_of(child)))
                    out.append((pos[2] + 1, pos[3] + 1, _field_of(child)))
                stack.append((value, child))
        elif isinstance(node, CommentedSeq):
            for i, value in enumerate(node):
                pos = node.lc.data.get(i)
                child = (*path, i)
                if pos:
                    out.append((pos[0] + 1, pos[1] + 1, _field_of(child)))
                stack.append((value, child))
    return sorted(out)


def locate(locations: Sequence[tuple[int, int, str]], line: int, col: int) -> str:
    """The field a problem at ``line:col`` belongs to ("" when it concerns the whole file)."""
    if line <= 0:
        return ""
    same = [f for ln, c, f in locations if ln == line and c <= max(col, 1)]
    if same:
        return same[-1]
    same_line = [f for ln, _, f in locations if ln == line]
    if same_line:
        return same_line[0]
    before = [f for ln, _, f in locations if ln < line]
    return before[-1] if before else ""
