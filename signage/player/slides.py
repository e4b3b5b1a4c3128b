"""Which view shows a slide: the one factory from a slide's kind to its widget.

Kept apart from ``views`` (the widgets) so the video and web modules, which build on
``views``, are imported from here only when a slide needs them (QtMultimedia and
QtWebEngine are slow to load) and no module imports one that imports it back.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from signage.model import Slide, SlideKind
from signage.player.views import ImageView, SlideResources, SlideView, TextView

__all__ = ["make_view"]


def make_view(
    parent: QWidget | None, slide: Slide, res: SlideResources, *, qr_side: int | None = None
) -> SlideView:
    """The widget for a slide of any kind (not prepared yet).

    ``qr_side``: the side of the QR drawn over it (text slides keep clear), ``None`` for none.
    """
    if slide.kind is SlideKind.IMAGE:
        return ImageView(parent, slide, res)
    if slide.kind is SlideKind.TEXT:
        return TextView(parent, slide, res, qr_side=qr_side)
    if slide.kind is SlideKind.VIDEO:
        from signage.player.video import VideoView

        return VideoView(parent, slide, res)
    if slide.kind is SlideKind.DATA:
        from signage.player.dataview import DataView

        return DataView(parent, slide, res)
    if slide.kind is SlideKind.WEB:
        if res.web is None:
            return _Unplayable(parent, slide, res, "web slides need QtWebEngine, not available")
        return res.web.make_view(parent, slide, res)
    return _Unplayable(parent, slide, res, f"unknown slide kind {slide.kind}")


class _Unplayable(SlideView):
    def __init__(
        self, parent: QWidget | None, slide: Slide, res: SlideResources, reason: str
    ) -> None:
        super().__init__(parent, slide, res)
        self._reason = reason

    def _load(self) -> None:
        raise ValueError(self._reason)
