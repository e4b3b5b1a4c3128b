"""Picture-shape room: warns when a picture is drawn for the other orientation.

A playlist that declares ``orientation: portrait`` plays only on tall screens; a wide
picture in it shows as a band with empty space above and below (or cropped to a sliver with
``fit: cover``). The validator says so as a warning, located at the slide. Only picture
headers are read (Pillow opens lazily): never the pixels.
"""

from __future__ import annotations

from pathlib import Path

from signage.errors import Problem
from signage.i18n import _
from signage.model import Orientation, Playlist, SlideKind


def mismatch(orientation: Orientation, width: int, height: int) -> str | None:
    """Why a ``width`` × ``height`` picture does not suit a playlist of ``orientation``."""
    if orientation is Orientation.BOTH or width == height or width <= 0 or height <= 0:
        return None
    if Orientation.of(width, height) is orientation:
        return None
    if orientation is Orientation.PORTRAIT:
        text = _(
            "the picture is {width}×{height} (landscape) but the playlist is for portrait "
            "screens: draw it tall (e.g. 1080×1920), or change the playlist's 'orientation'"
        )
    else:
        text = _(
            "the picture is {width}×{height} (portrait) but the playlist is for landscape "
            "screens: draw it wide, or change the playlist's 'orientation'"
        )
    return text.format(width=width, height=height)


def picture_size(path: Path) -> tuple[int, int] | None:
    """A picture's size from its header; ``None`` when it cannot be read as a picture."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size
    except Exception:
        return None


def orientation_warnings(playlist: Playlist, root: Path) -> list[Problem]:
    """Warnings for image slides whose shape does not match the playlist's orientation."""
    if playlist.orientation is Orientation.BOTH:
        return []
    found: list[Problem] = []
    for slide in playlist.slides:
        if slide.kind is not SlideKind.IMAGE or not slide.source:
            continue
        size = picture_size(root / slide.source)
        why = mismatch(playlist.orientation, *size) if size else None
        if why is None:
            continue
        origin = slide.origin
        path, line, col = (origin.path, origin.line, origin.col) if origin else ("?", 0, 0)
        found.append(
            Problem(
                path,
                line,
                col,
                _("slide '{id}': {why}").format(id=slide.id, why=why),
                severity="warning",
            )
        )
    return found
