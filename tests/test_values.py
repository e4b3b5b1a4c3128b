"""signage.values.Value: the equality, hash and repr a frozen dataclass would give, for the
tiny types made before a player's first frame (issue 17.2)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import pytest

from signage.values import Value

# Every module defining a Value type (each is checked below).
MODULES = (
    "signage.logs",
    "signage.schedule",
    "signage.timebase",
    "signage.feed.store",
    "signage.feed.manifest",
    "signage.kiosk.notify",
    "signage.player.layout",
    "signage.player.playback",
    "signage.player.overlays",
    "signage.player.probe",
    "signage.player.textfit",
    "signage.player.player",
    "signage.player.views",
)


@dataclass(frozen=True)
class Twin:
    at: datetime
    name: str
    tags: frozenset[str] | None = None


class Small(Value):
    __slots__ = ("at", "name", "tags")
    _fields = ("at", "name", "tags")

    def __init__(self, at: datetime, name: str, tags: frozenset[str] | None = None) -> None:
        self.at: Final = at
        self.name: Final = name
        self.tags: Final = tags


class Other(Small):
    __slots__ = ()


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_a_value_says_what_the_frozen_dataclass_says():
    made = Small(NOW, "lobby 'uno'", frozenset({"a"}))
    twin = Twin(NOW, "lobby 'uno'", frozenset({"a"}))
    assert repr(made) == repr(twin).replace("Twin(", "Small(", 1)
    assert hash(made) == hash(twin)
    assert made == Small(NOW, "lobby 'uno'", frozenset({"a"}))
    assert made != Small(NOW, "lobby 'dos'", frozenset({"a"}))
    assert made != Other(NOW, "lobby 'uno'", frozenset({"a"}))  # another class: never equal
    assert made != (NOW, "lobby 'uno'", frozenset({"a"}))
    assert len({made, Small(NOW, "lobby 'uno'", frozenset({"a"}))}) == 1
    with pytest.raises(AttributeError):
        made.extra = 1  # type: ignore[attr-defined]  # __slots__: no stray attributes


def test_every_value_type_compares_all_its_fields():
    types = set()
    for name in MODULES:
        module = importlib.import_module(name)
        types |= {
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, Value) and v.__module__ == name
        }
    names = {t.__qualname__ for t in types}
    assert {"Rect", "QRKey", "StoreState", "Entry", "LastError", "_Frame"} <= names
    for kind in types:
        # A field missing from _fields would be left out of ==, hash and repr.
        assert sorted(kind._fields) == sorted(kind.__slots__), kind.__qualname__
        assert "__dict__" not in dir(kind), kind.__qualname__


def test_the_player_types_read_as_before():
    from signage.player.layout import Rect
    from signage.player.playback import Action, Decision

    assert repr(Rect(1, 2, 3, 4)) == "Rect(x=1, y=2, w=3, h=4)"
    assert Rect(1, 2, 3, 4) == Rect(1, 2, 3, 4) != Rect(1, 2, 3, 5)
    assert repr(Decision(Action.JUMP, 2)) == "Decision(action=<Action.JUMP: 'jump'>, index=2)"
    assert {Decision(Action.IDLE): 1}[Decision(Action.IDLE, 0)] == 1
