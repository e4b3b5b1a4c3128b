"""Playback decisions room: pure functions for what plays next and what a change does.

The player keeps a plan (the schedule's active slides, in order) and the slide on screen.
When content or the schedule changes, ``decide`` says whether to keep the current slide,
jump to another one at once, or show the idle screen. No Qt, no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from typing import Final

SlideKey = tuple[str, str]  # (playlist id, slide id)


class Entry:
    """One slide of a plan as the decision sees it.

    ``Entry`` and ``Decision`` are plain classes with the equality, hash and repr a frozen
    dataclass would give them: they are defined before a start's first frame, where each
    dataclass costs ~0.5 ms (Python 3.11 compiles its generated methods).

    Args:
        key: playlist id and slide id.
        fingerprint: anything that changes when what the slide shows changes (the slide
            value, its playlist's overlays and ticker, its asset files' identity).
    """

    __slots__ = ("fingerprint", "key")

    def __init__(self, key: SlideKey, fingerprint: Hashable) -> None:
        self.key: Final = key
        self.fingerprint: Final = fingerprint

    def _values(self) -> tuple[SlideKey, Hashable]:
        return (self.key, self.fingerprint)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"Entry(key={self.key!r}, fingerprint={self.fingerprint!r})"


class Action(enum.StrEnum):
    IDLE = "idle"  # nothing to play: the branded idle screen
    KEEP = "keep"  # the slide on screen stays; ``index`` is its place in the new plan
    JUMP = "jump"  # show ``index`` as soon as it is ready


class Decision:
    """What ``decide`` says: an action and, for KEEP and JUMP, the slide's place in the plan."""

    __slots__ = ("action", "index")

    def __init__(self, action: Action, index: int = 0) -> None:
        self.action: Final = action
        self.index: Final = index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision) or other.__class__ is not self.__class__:
            return NotImplemented
        return (self.action, self.index) == (other.action, other.index)

    def __hash__(self) -> int:
        return hash((self.action, self.index))

    def __repr__(self) -> str:
        return f"Decision(action={self.action!r}, index={self.index!r})"


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
