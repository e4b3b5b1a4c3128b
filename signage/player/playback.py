"""Playback decisions room: pure functions for what plays next and what a change does.

The player keeps a plan (the schedule's active slides, in order) and the slide on screen.
When content or the schedule changes, ``decide`` says whether to keep the current slide,
jump to another one at once, or show the idle screen. No Qt, no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from typing import Final

from signage.values import Value

SlideKey = tuple[str, str]  # (playlist id, slide id)


class Entry(Value):
    """One slide of a plan as the decision sees it.

    ``Entry`` and ``Decision`` are small values (``signage.values``), not dataclasses: they
    are defined before a start's first frame, where each dataclass costs ~0.5 ms to create.

    Args:
        key: playlist id and slide id.
        fingerprint: anything that changes when what the slide shows changes (the slide
            value, its playlist's overlays and ticker, its asset files' identity).
    """

    __slots__ = ("fingerprint", "key")
    _fields = ("key", "fingerprint")

    def __init__(self, key: SlideKey, fingerprint: Hashable) -> None:
        self.key: Final = key
        self.fingerprint: Final = fingerprint


class Action(enum.StrEnum):
    IDLE = "idle"  # nothing to play: the branded idle screen
    KEEP = "keep"  # the slide on screen stays; ``index`` is its place in the new plan
    JUMP = "jump"  # show ``index`` as soon as it is ready


class Decision(Value):
    """What ``decide`` says: an action and, for KEEP and JUMP, the slide's place in the plan."""

    __slots__ = ("action", "index")
    _fields = ("action", "index")

    def __init__(self, action: Action, index: int = 0) -> None:
        self.action: Final = action
        self.index: Final = index


def decide(
    previous: Sequence[Entry],
    current: SlideKey | None,
    new: Sequence[Entry],
    *,
    show_changes: bool,
) -> Decision:
    """What to do when the plan changes from ``previous`` to ``new``.

    Rules, in order:
      1. an empty plan shows the idle screen;
      2. with ``show_changes`` (an edit or a new feed version), the first slide that is new
         or whose fingerprint changed is shown at once, so a saved edit is on screen within
         a second instead of after the loop comes round;
      3. the current slide, still in the plan and unchanged, keeps playing;
      4. otherwise the plan starts from its first slide.
    """
    if not new:
        return Decision(Action.IDLE)
    if show_changes:
        before = {e.key: e.fingerprint for e in previous}
        for i, entry in enumerate(new):
            if entry.key not in before or before[entry.key] != entry.fingerprint:
                return Decision(Action.JUMP, i)
    for i, entry in enumerate(new):
        if entry.key == current:
            return Decision(Action.KEEP, i)
    return Decision(Action.JUMP, 0)


def following(index: int, count: int) -> int:
    """The place after ``index`` in a looping plan of ``count`` slides."""
    return 0 if count <= 0 else (index + 1) % count
