"""Messages in the user's language: gettext catalogs (Babel-managed) and the language choice.

Every message meant for people goes through ``_()`` (or ``ngettext`` for counts); texts
written in a table before the language is known (a record's title, a command's help) are
marked with ``N_()`` and translated where they are shown. The source texts (msgids) are
English; ``signage/locale/<lang>/LC_MESSAGES/signage.po`` holds each language's texts and
the compiled ``signage.mo`` next to it is what runs (committed, so a wheel or a kiosk
needs no build step; ``tests/test_i18n.py`` fails when a ``.mo`` is stale or a message
lacks a translation). ``scripts/i18n.sh`` extracts, updates and compiles with Babel.

Which language, first that says one:

1. ``SIGNAGE_LANGUAGE`` (an explicit override: tests, a technician reading a log);
2. the content root's ``playlists/settings.yaml`` ``language:`` (``use_settings``);
3. ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` (``C``/``POSIX`` mean English);
4. Spanish, the language of the bundled content.

One answer may speak another language than the process (``speaking``): the hub answers a
request in the language its ``Accept-Language`` asks for (``language_from_accept``).

Machine-read parts (event names, JSON keys, exit codes) are never translated.
"""

from __future__ import annotations

import contextlib
import gettext as _gettext
import io
import os
import struct
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Msg",
    "_",
    "current_language",
    "gettext_for",
    "language_from_accept",
    "language_from_env",
    "ngettext",
    "set_language",
    "speaking",
    "use_settings",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "signage"
LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"

_state: dict[str, object] = {}
# The language of what is being answered now, when it differs from the process's (one
# request's answer); a context variable, so concurrent requests each keep their own.
_speaking: ContextVar[str | None] = ContextVar("signage_speaking", default=None)
_loaded: dict[str, _gettext.NullTranslations] = {}
MAX_ACCEPT_CHARS = 512
MAX_ACCEPT_ITEMS = 16


def _normalise(value: str | None) -> str | None:
    """``es_CO.UTF-8`` -> ``es``; ``C``/``POSIX`` -> ``en``; unknown languages -> ``None``."""
    if not value:
        return None
    for part in value.split(":"):  # LANGUAGE may list several
        code = part.split(".")[0].split("@")[0].split("_")[0].split("-")[0].strip().lower()
        if code in ("c", "posix"):
            return "en"
        if code in LANGUAGES:
            return code
    return None


def language_from_env(environ: dict[str, str] | None = None) -> str | None:
    """The language the environment asks for (gettext's variables, in gettext's order)."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return _normalise(value)
    return None


def _override(environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return _normalise(env.get("SIGNAGE_LANGUAGE"))


def choose_language(settings_language: str | None, environ: dict[str, str] | None = None) -> str:
    """The language to speak: override, settings, environment, then Spanish (a pure choice)."""
    return (
        _override(environ)
        or _normalise(settings_language)
        or language_from_env(environ)
        or DEFAULT_LANGUAGE
    )


MAX_CATALOG_BYTES = 16 * 1024 * 1024  # ours are ~140 kB; a larger file is not read


class CompiledCatalog(_gettext.NullTranslations):
    """A compiled catalog (``.mo``) looked up where it lies: a binary search over its sorted
    msgids, the same answers as ``gettext.GNUTranslations`` for the catalogs Babel writes.

    ``GNUTranslations`` decodes every entry into a dict first: ~2 ms of every start for our
    ~1,400 messages, of which a player's start looks up about twenty (its command line).
    Here opening costs one pass over the index (checking the order the search relies on)
    and a message's first lookup decodes its text (kept for the next). Raises ValueError
    for what it does not read (another byte order, an unsorted index, message contexts,
    another charset or plural rule); ``_load`` then uses ``GNUTranslations``. No fallback
    catalogs (signage chains none).
    """

    _MAGIC = 0x950412DE

    def __init__(self, data: bytes) -> None:
        super().__init__()
        if len(data) < 28:
            raise ValueError("too short for a .mo file")
        magic, _version, count, ids_at, texts_at = struct.unpack_from("<5I", data, 0)
        if magic != self._MAGIC:
            raise ValueError("not a little-endian .mo file")
        try:
            self._ids = struct.unpack_from(f"<{2 * count}I", data, ids_at)
            self._texts = struct.unpack_from(f"<{2 * count}I", data, texts_at)
        except struct.error as exc:
            raise ValueError(f"index out of the file: {exc}") from None
        self._data = data
        self._count = count
        # Texts already found (a hub says the same ones on every page); only the catalog's
        # own messages, so at most its size.
        self._said: dict[str, str] = {}
        previous = b""
        for i in range(count):
            size, at = self._ids[2 * i], self._ids[2 * i + 1]
            text_size, text_at = self._texts[2 * i], self._texts[2 * i + 1]
            if at + size > len(data) or text_at + text_size > len(data):
                raise ValueError("an entry runs past the end of the file")
            key = data[at : at + size]
            if key < previous or b"\x04" in key:
                raise ValueError("unsorted, or with message contexts")
            previous = key
        header = self._text(0).decode("utf-8") if count and self._id(0) == b"" else ""
        info = {}
        for line in header.splitlines():
            name, _sep, value = line.partition(":")
            info[name.strip().lower()] = value.strip()
        self._info = info
        self._charset = "utf-8"
        content_type = info.get("content-type", "text/plain; charset=UTF-8").lower()
        plurals = info.get("plural-forms", "nplurals=2; plural=(n != 1);").replace(" ", "")
        if "charset=utf-8" not in content_type or plurals.rstrip(";") not in (
            "nplurals=2;plural=(n!=1)",
            "nplurals=2;plural=n!=1",
        ):
            raise ValueError("another charset or plural rule")

    def _id(self, i: int) -> bytes:
        size, at = self._ids[2 * i], self._ids[2 * i + 1]
        return self._data[at : at + size]

    def _text(self, i: int) -> bytes:
        size, at = self._texts[2 * i], self._texts[2 * i + 1]
        return self._data[at : at + size]

    def _first_at_least(self, key: bytes) -> int:
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            if self._id(middle) < key:
                low = middle + 1
            else:
                high = middle
        return low

    def _forms(self, singular: str) -> list[str] | None:
        """A plural entry's texts (``singular\\0plural`` in the file), or ``None``."""
        key = singular.encode("utf-8") + b"\0"
        i = self._first_at_least(key)
        if i < self._count and self._id(i).startswith(key):
            return self._text(i).decode("utf-8").split("\0")
        return None

    def gettext(self, message: str) -> str:
        said = self._said.get(message)
        if said is not None:
            return said
        key = message.encode("utf-8")
        i = self._first_at_least(key)
        if i < self._count and self._id(i) == key:
            said = self._said[message] = self._text(i).decode("utf-8")
            return said
        forms = self._forms(message)  # as GNUTranslations: a plural entry's form for 1
        if forms:
            return forms[0]
        return message  # not kept: a text already made may be anything (a server's words)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self._forms(msgid1)
        index = 1 if n != 1 else 0
        if forms is not None and index < len(forms):
            return forms[index]
        return msgid1 if n == 1 else msgid2


def _load(language: str) -> _gettext.NullTranslations:
    try:
        with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as fh:
            data = fh.read(MAX_CATALOG_BYTES + 1)
    except OSError:
        return _gettext.NullTranslations()
    if len(data) > MAX_CATALOG_BYTES:
        return _gettext.NullTranslations()
    try:
        return CompiledCatalog(data)
    except ValueError:
        return _gettext.GNUTranslations(io.BytesIO(data))


def set_language(language: str) -> None:
    """Speaks ``language`` (``es``, ``en``; anything else: the default) from now on."""
    code = _normalise(language) or DEFAULT_LANGUAGE
    _state["language"] = code
    _state["translations"] = _load(code)


def use_settings(settings_language: str | None) -> str:
    """Chooses the language given a content root's settings (``None``: no settings)."""
    code = choose_language(settings_language)
    set_language(code)
    return code


def language_from_accept(header: str | None) -> str | None:
    """The language of ours an ``Accept-Language`` header prefers (``None``: neither).

    The highest ``q`` among ``es``/``en`` tags (``es-CO`` counts as ``es``) wins, the
    earlier on a tie; ``*`` and ``q=0`` choose nothing. Only the first ``MAX_ACCEPT_CHARS``
    characters and ``MAX_ACCEPT_ITEMS`` items are read (the header is the client's).
    """
    if not header:
        return None
    best: tuple[float, str] | None = None
    for item in header[:MAX_ACCEPT_CHARS].split(",")[:MAX_ACCEPT_ITEMS]:
        tag, _sep, params = item.strip().partition(";")
        code = tag.strip().split("-")[0].split("_")[0].lower()
        if code not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip()[:8])
                except ValueError:
                    q = 0.0
        if not 0 < q <= 1:
            continue
        if best is None or q > best[0]:
            best = (q, code)
    return best[1] if best else None


@contextlib.contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Messages in ``language`` within this context only (``None``: the process's).

    For one answer in another language than the process's (the hub answering a request in
    the language it asked for). A context variable, so threads and tasks started inside
    (Starlette's thread pool copies the context) speak it too, and others do not.
    """
    code = _normalise(language) if language else None
    token = _speaking.set(code)
    try:
        yield
    finally:
        _speaking.reset(token)


def current_language() -> str:
    """The language messages are in now (chosen from the environment on first use)."""
    spoken = _speaking.get()
    if spoken is not None:
        return spoken
    if "language" not in _state:
        set_language(choose_language(None))
    return str(_state["language"])


def _translations() -> _gettext.NullTranslations:
    spoken = _speaking.get()
    if spoken is not None:
        if spoken not in _loaded:
            _loaded[spoken] = _load(spoken)
        return _loaded[spoken]
    current_language()
    translations = _state["translations"]
    assert isinstance(translations, _gettext.NullTranslations)  # noqa: S101 - set together
    return translations


def gettext_for(locale: str) -> Callable[[str], str]:
    """``_`` for one audience's ``locale`` (``es-CO``, ``en``; others: Spanish).

    What a screen shows follows the screen's ``locale`` (its config), not the language of
    the process that runs it, which speaks to the technician reading its log.
    """
    code = _normalise(locale) or DEFAULT_LANGUAGE
    if code not in _loaded:
        _loaded[code] = _load(code)
    return _loaded[code].gettext


def _(message: str) -> str:
    """``message`` (an English msgid) in the current language."""
    return _translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural text for ``n``, in the current language."""
    return _translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for extraction without translating it (translated where shown)."""
    return message


# argparse's own texts (it calls gettext's ``_``): listed here so Babel extracts them into
# our catalogs; ``translate_argparse`` points argparse at our translations.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("can't open '%(filename)s': %(error)s"),
)


def translate_argparse() -> None:
    """Makes argparse's usage, help headings and errors speak the current language.

    argparse looks its ``_`` and ``ngettext`` up in its own module each time it formats a
    message, so pointing those names at ours is enough (and affects only argparse).
    """
    import argparse

    setattr(argparse, "_", _)  # noqa: B010 - a module global argparse reads at call time
    setattr(argparse, "ngettext", ngettext)  # noqa: B010


class Msg:
    """A message kept as its msgid and named arguments, said when and to whom it is shown.

    ``str()`` is the English text (what logs, events and heartbeats record, whatever the
    language); ``said()`` is the same message in the current language. An argument that is
    itself a ``Msg`` (or has ``said()``, like a ``SignageError``) is said in that language
    too. A msgid given without arguments is not formatted (a text already made, braces and
    all); one whose placeholders do not fit its arguments is shown as it is, never raised.
    """

    __slots__ = ("args", "msgid")

    def __init__(self, msgid: str, /, **args: object) -> None:
        self.msgid = msgid
        self.args = args

    def _fill(self, text: str, args: dict[str, object]) -> str:
        if not args:
            return text
        try:
            return text.format(**args)
        except (KeyError, IndexError, ValueError, AttributeError):
            return text

    def __str__(self) -> str:
        return self._fill(self.msgid, self.args)

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r}, **{self.args!r})"

    def said(self) -> str:
        """The message in the current language (``_()`` of the msgid, then its arguments)."""
        args = {k: _said(v) for k, v in self.args.items()}
        return self._fill(_(self.msgid), args)


def _said(value: object) -> object:
    said = getattr(value, "said", None)
    return said() if callable(said) else value
