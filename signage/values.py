"""Small values room: equality, hash and repr for a few tiny value types, without a dataclass.

A subclass lists its fields in ``_fields`` (declaration order), keeps them in ``__slots__``
and sets them once in a written-out ``__init__``. ``Value`` then gives what a frozen
dataclass would: equality with values of the same class field by field, a hash of the
fields, ``Name(a=1, b='x')`` as its repr.

Why not a dataclass: the types that use it are made before a player's first frame, and
Python 3.11 compiles the source of every dataclass's generated methods when the class is
created (~0.5 ms each, issue 17.2); these types are defined once and never need
``dataclasses.replace`` or ``fields``. Not frozen at run time: the fields are annotated
``Final`` so mypy refuses an assignment after ``__init__``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Value"]


class Value:
    """Base of a tiny value type: ``==``, ``hash`` and ``repr`` over ``_fields``."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{self.__class__.__qualname__}({shown})"
