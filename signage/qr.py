"""QR codes on screens: attributed survey URLs, short tracked hub links and scannable images.

Pure functions, no Qt: the player and the alert layer draw the PIL image this module
returns, the hub computes the same tracked codes to count scans. The sizing rule for
reading from 2–3 m is written down in ``docs/qr.md`` and in :func:`qr_layout`.

Names used by other areas:

- :func:`attributed_url` -- the author's URL plus screen / playlist / slide parameters.
- :func:`encoded_url` -- what the QR really holds (the attributed URL, or a short hub link).
- :func:`track_code` -- the deterministic code of a tracked QR (player and hub agree).
- :func:`qr_image` -- black on white, 4-module quiet zone, integer pixels per module.
- :func:`drawable` -- whether a URL may be drawn at all (https, host on the allow-list).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import qrcode
import qrcode.constants
import qrcode.exceptions
from PIL import Image

from signage.logs import area_logger
from signage.model import Attribution, Playlist, QRCode

__all__ = [
    "QUIET_ZONE_MODULES",
    "QRLayout",
    "TrackedQR",
    "attributed_url",
    "check_url",
    "drawable",
    "encoded_url",
    "min_module_px",
    "qr_image",
    "qr_layout",
    "safe_screen_id",
    "track_code",
    "tracked_codes",
    "tracked_link",
]

log = area_logger("qr")

QUIET_ZONE_MODULES = 4
"""White border around the symbol, in modules (the QR standard's minimum)."""

MIN_MODULE_PX_AT_1080 = 8
"""Smallest module at 1080 lines: 8 px is about 4 mm on a 43-inch panel (see docs/qr.md)."""

MAX_SIDE_FRACTION = 0.40
"""Largest QR side (quiet zone included) as a share of the screen height, when it fits."""

TRACK_CODE_LENGTH = 10
"""Characters of base32 SHA-256 in a tracked code: 50 bits, collisions are not a concern."""

_SCREEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Higher error correction first: on a tie in module size the sturdier symbol wins.
_LEVELS: tuple[tuple[str, int], ...] = (
    ("H", qrcode.constants.ERROR_CORRECT_H),
    ("Q", qrcode.constants.ERROR_CORRECT_Q),
    ("M", qrcode.constants.ERROR_CORRECT_M),
    ("L", qrcode.constants.ERROR_CORRECT_L),
)

_LEVEL_NAMES = tuple(name for name, _ in _LEVELS)


def check_url(url: str, allowed_hosts: frozenset[str]) -> str | None:
    """``None`` when the URL may be shown, else why not (the playlist validator's own rule).

    Delegates to ``signage.playlist.check_url`` so the validator and the screen can never
    disagree about what is allowed: https only, and the host on the list when it is set.
    """
    from signage.playlist import check_url as playlist_check_url

    return playlist_check_url(url, allowed_hosts)


def drawable(url: str, allowed_hosts: frozenset[str]) -> bool:
    """Whether a QR holding ``url`` may be drawn; a refused URL is logged, never drawn."""
    problem = check_url(url, allowed_hosts)
    if problem is not None:
        log.warning("QR not drawn: %s (%s)", problem, url)
        return False
    return True


def attributed_url(
    qr: QRCode, attribution: Attribution, screen: str, playlist: str, slide: str
) -> str:
    """The author's URL with where-it-was-scanned parameters added.

    Adds the screen id, ``medium_value`` (``pantalla``), the playlist id and the slide id
    under the names in ``attribution`` (UTM by default); a name set to ``None`` is left out.
    The author's own query string is kept byte for byte, in its order, and so is the
    fragment. A parameter the author already wrote is never added again: the author wins
    (``?utm_source=boletin`` stays ``boletin``).
    """
    parts = urlsplit(qr.url)
    present = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    wanted: list[tuple[str | None, str]] = [
        (attribution.screen, screen),
        (attribution.medium, attribution.medium_value),
        (attribution.playlist, playlist),
        (attribution.slide, slide),
    ]
    added: list[tuple[str, str]] = []
    for name, value in wanted:
        if name is None or name in present:
            continue
        present.add(name)
        added.append((name, value))
    if not added:
        return qr.url
    extra = urlencode(added, quote_via=quote, safe="")
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def track_code(playlist: str, slide: str, url: str) -> str:
    """The short code of a tracked QR: first 10 characters of base32 SHA-256, lower case.

    Computed from the playlist id, the slide id and the author's URL, so a player and the
    hub derive the same code from the same content without asking each other.
    """
    digest = hashlib.sha256(f"{playlist}\x1f{slide}\x1f{url}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:TRACK_CODE_LENGTH].lower()


def safe_screen_id(screen: str) -> str | None:
    """The screen id if it is 1–64 of ``A-Z a-z 0-9 . _ -``, else ``None``."""
    return screen if _SCREEN_ID.fullmatch(screen) else None


def tracked_link(link_base: str, code: str, screen: str) -> str:
    """``{link_base}/q/{code}?s={screen}``: the short hub link a tracked QR holds."""
    return f"{link_base.rstrip('/')}/q/{code}?s={quote(screen, safe='')}"


@dataclass(frozen=True, slots=True)
class TrackedQR:
    """A tracked QR as the hub registers it: its code and where a scan redirects.

    Args:
        code: :func:`track_code` of playlist, slide and url.
        url: the author's URL; the redirect adds the scanning screen's attribution to it.
    """

    code: str
    playlist: str
    slide: str
    url: str
    attribution: Attribution

    def target(self, screen: str) -> str:
        """The attributed URL a scan from ``screen`` is redirected to."""
        return attributed_url(QRCode(self.url), self.attribution, screen, self.playlist, self.slide)


def tracked_codes(playlists: Iterable[Playlist]) -> list[TrackedQR]:
    """Every tracked QR (``track: true``) of these playlists, one per code."""
    found: dict[str, TrackedQR] = {}
    for playlist in playlists:
        for slide in playlist.slides:
            qr = slide.qr
            if qr is None or not qr.track:
                continue
            code = track_code(playlist.id, slide.id, qr.url)
            found[code] = TrackedQR(code, playlist.id, slide.id, qr.url, playlist.attribution)
    return list(found.values())


@functools.cache
def _warn_untracked(playlist: str, slide: str) -> None:
    log.warning(
        "QR of %s/%s asks for tracking but no link base is configured (qr.link_base in the "
        "player configuration): showing the survey URL itself, scans are not counted",
        playlist,
        slide,
    )


def encoded_url(
    qr: QRCode,
    attribution: Attribution,
    screen: str,
    playlist: str,
    slide: str,
    *,
    link_base: str | None,
) -> str:
    """What the QR actually encodes.

    For ``qr.track`` with a ``link_base`` (the hub's public URL): the short hub link
    ``{link_base}/q/{code}?s={screen}``, which counts the scan and redirects to the
    attributed URL. Otherwise the attributed URL; a tracked QR without a link base falls
    back to it and says so once in the log.
    """
    if qr.track:
        if link_base:
            return tracked_link(link_base, track_code(playlist, slide, qr.url), screen)
        _warn_untracked(playlist, slide)
    return attributed_url(qr, attribution, screen, playlist, slide)


@dataclass(frozen=True, slots=True)
class QRLayout:
    """How a URL is drawn on a screen of a given height.

    Args:
        level: error correction, ``L``/``M``/``Q``/``H``.
        version: QR version (1–40); the symbol is ``17 + 4 * version`` modules wide.
        modules: modules across, quiet zone included.
        module_px: screen pixels per module (an integer: every module is pixel-exact).
    """

    level: str
    version: int
    modules: int
    module_px: int

    @property
    def side_px(self) -> int:
        return self.modules * self.module_px


def _symbol(url: str, level: int) -> qrcode.QRCode[Any]:
    """A QR symbol for ``url`` at ``level`` with its version fitted (the matrix not built:
    that, with its eight mask trials, is the slow part and is done once, for the winner)."""
    code: qrcode.QRCode[Any] = qrcode.QRCode(
        version=None, error_correction=level, box_size=1, border=QUIET_ZONE_MODULES
    )
    code.add_data(url.encode("utf-8"))
    try:
        code.best_fit()
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:
        raise ValueError(
            f"URL of {len(url)} characters is too long for a QR code; shorten it or use "
            "'track: true' so the code holds a short hub link"
        ) from exc
    return code


def min_module_px(screen_height: int) -> int:
    """The smallest module for this screen: 8 px per 1080 lines, rounded up, at least 2."""
    return max(2, math.ceil(MIN_MODULE_PX_AT_1080 * screen_height / 1080))


_Candidate = tuple[QRLayout, "qrcode.QRCode[Any]"]


def _layouts(url: str, screen_height: int) -> list[_Candidate]:
    floor_px = min_module_px(screen_height)
    max_side = int(screen_height * MAX_SIDE_FRACTION)
    out: list[_Candidate] = []
    for name, level in _LEVELS:
        try:
            code = _symbol(url, level)
        except ValueError:
            continue
        version = int(code.version)
        modules = 17 + 4 * version + 2 * QUIET_ZONE_MODULES
        module_px = max(floor_px, max_side // modules)
        out.append((QRLayout(name, version, modules, module_px), code))
    if not out:
        _symbol(url, qrcode.constants.ERROR_CORRECT_L)  # raises the explanatory ValueError
    return out


def _choose(candidates: list[_Candidate], screen_height: int) -> _Candidate:
    max_side = int(screen_height * MAX_SIDE_FRACTION)
    fitting = [c for c in candidates if c[0].side_px <= max_side]
    if fitting:
        # Largest module first; ``max`` keeps the first maximum, the highest level.
        return max(fitting, key=lambda c: c[0].module_px)
    # Nothing fits at the smallest module: the smallest symbol (lowest level) wins.
    return min(candidates, key=lambda c: (c[0].side_px, -_LEVEL_NAMES.index(c[0].level)))


def qr_layout(url: str, screen_height: int) -> QRLayout:
    """The error correction and module size chosen for ``url`` on a screen this tall.

    Rule (why: docs/qr.md): modules are never smaller than 8 px per 1080 lines (4 mm on a
    43-inch 1080p panel, 2 preview pixels for a phone at 3 m); within a side of 40 %
    of the screen height the module is made as large as fits. Among error-correction levels
    the one giving the largest module wins, ties going to the higher level (H, Q, M, L), so
    short links get both big modules and strong correction against glare. When even the
    smallest module overflows that side, the smallest symbol wins (usually level L).
    """
    if screen_height <= 0:
        raise ValueError(f"screen height must be positive, got {screen_height}")
    return _choose(_layouts(url, screen_height), screen_height)[0]


def qr_image(url: str, screen_height: int) -> Image.Image:
    """The QR for ``url`` as an RGB image, black on white, 4-module quiet zone included.

    Each module is an integer number of pixels (nearest-neighbour scaling), sized by
    :func:`qr_layout` for a screen ``screen_height`` pixels tall. Draw it unscaled (or
    scaled by a whole number) so modules stay sharp. Raises ``ValueError`` for a URL too
    long for any QR code.
    """
    if screen_height <= 0:
        raise ValueError(f"screen height must be positive, got {screen_height}")
    layout, code = _choose(_layouts(url, screen_height), screen_height)
    code.make(fit=False)
    matrix: list[list[bool]] = code.get_matrix()
    n = layout.modules
    if len(matrix) != n:  # the library's fit and ours must agree
        raise AssertionError(f"QR matrix is {len(matrix)} modules, expected {n}")
    raw = bytes(0 if cell else 255 for row in matrix for cell in row)
    small = Image.frombytes("L", (n, n), raw)
    big = small.resize((layout.side_px, layout.side_px), Image.Resampling.NEAREST)
    return big.convert("RGB")
