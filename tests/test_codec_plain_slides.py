"""The codec's short way for plain slides (``_slide_plain``) decodes exactly what the full
decoder does: on generated slides (good values, wrong types, nulls, missing keys, bad
schedules), either both give equal slides or the short way declines and the full decoder
answers, so a playlist decodes to the same value or fails with the same message. The
manifest's asset entries, which have a short way too, are refused as before."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.errors import FeedError
from signage.feed import codec
from signage.feed.codec import _slide, _slide_from_json, _slide_plain, playlist_from_json
from signage.feed.manifest import MAX_ASSET_SIZE, AssetEntry, _asset_entry
from signage.model import Fit, SlideKind, Transition

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _enum_value(kind: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from([m.value for m in kind]), _ANY)


_TEXT = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(st.text(max_size=5), _ANY),
        "body": st.one_of(st.text(max_size=5), _ANY),
        "image": st.one_of(st.just("assets/a.png"), _ANY),
        "background": st.one_of(st.just("assets/b.png"), _ANY),
        "tag": st.one_of(st.text(max_size=5), _ANY),
    },
)
_QR = st.fixed_dictionaries(
    {},
    optional={
        "url": st.one_of(st.just("https://example.org/"), _ANY),
        "caption": st.one_of(st.text(max_size=5), _ANY),
        "track": _ANY,
    },
)
_SCHEDULE = st.one_of(
    st.none(),
    st.just({"days": ["mon", "fri"], "hours": ["08:00-12:00"]}),
    st.just({"days": ["someday"]}),
    st.just({"hours": ["25:00-26:00"]}),
    st.just({"from": "2026-01-01", "until": "2026-12-31"}),
    _ANY,
)
_GOOD = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=5),
        "kind": st.sampled_from([m.value for m in SlideKind]),
        "source": st.sampled_from(["assets/x.png", ""]),
    },
    optional={
        "text": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"title": st.text(max_size=5)},
                optional={k: st.one_of(st.none(), st.text(max_size=3), _ANY) for k in
                          ("body", "image", "background", "tag")},
            ),
        ),
        "duration_s": st.one_of(
            st.none(), st.floats(0, 100), st.integers(0, 100),
            st.sampled_from([math.inf, -math.inf, math.nan, -1, -0.5, True, "5"]),
        ),
        "transition": st.one_of(st.none(), st.sampled_from([m.value for m in Transition])),
        "fit": st.one_of(st.none(), st.sampled_from([m.value for m in Fit])),
        "qr": st.one_of(st.none(), st.fixed_dictionaries(
            {"url": st.just("https://example.org/")},
            optional={"caption": st.one_of(st.none(), st.text(max_size=3), _ANY),
                      "track": st.one_of(st.none(), st.booleans(), _ANY)},
        )),
        "schedule": _SCHEDULE,
        "muted": st.one_of(st.none(), st.booleans()),
    },
)  # fmt: skip
_KEYS = ["id", "kind", "source", "text", "duration_s", "transition", "fit", "qr",
         "schedule", "muted", "data"]  # fmt: skip
_WRONG = {
    "kind": _enum_value(SlideKind),
    "text": st.one_of(_TEXT, _ANY),
    "transition": _enum_value(Transition),
    "fit": _enum_value(Fit),
    "qr": st.one_of(_QR, _ANY),
    "schedule": _SCHEDULE,
    "data": st.one_of(st.none(), st.just({"chart": "bar"})),
}


@st.composite
def _slides(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly good slides with up to three keys made wrong, null or missing."""
    value = dict(draw(_GOOD))
    for key in draw(st.lists(st.sampled_from(_KEYS), max_size=3)):
        if draw(st.booleans()):
            value.pop(key, None)
        else:
            value[key] = draw(_WRONG.get(key, _ANY))
    return value


_SLIDE = _slides()


def _full(value: Any) -> Any:
    try:
        return _slide_from_json(value, "playlists[0].slides[3]")
    except FeedError as exc:
        return ("refused", str(exc))


@settings(max_examples=1500, deadline=None)
@given(_SLIDE)
def test_the_short_way_agrees_with_the_full_decoder(value: dict[str, Any]) -> None:
    expected = _full(value)
    try:
        plain = _slide_plain(value)
    except FeedError:
        plain = None  # declined: the full decoder answers (what _slide does)
    if plain is not None:
        assert plain == expected
        if isinstance(plain.duration_s, float):
            assert isinstance(expected.duration_s, float)
            assert math.isfinite(plain.duration_s)
    got: Any
    try:
        got = _slide(value, "playlists[0].slides", 3)
    except FeedError as exc:
        got = ("refused", str(exc))
    assert got == expected


def test_plain_slides_take_the_short_way() -> None:
    """The shapes a published feed carries are decoded without the full decoder: image
    and video slides, text slides, a QR, a schedule (else there would be no gain)."""
    slides = [
        {"id": "a", "kind": "image", "source": "assets/a.png", "duration_s": 5.0,
         "transition": "fade", "fit": "contain", "qr": None, "schedule": None,
         "muted": True, "text": None},
        {"id": "b", "kind": "text", "text": {"title": "Hola", "body": None, "image": None}},
        {"id": "c", "kind": "video", "source": "assets/v.mp4", "duration_s": None,
         "qr": {"url": "https://example.org/", "caption": "Escanea", "track": True},
         "schedule": {"days": ["mon"], "hours": ["08:00-09:30"]}, "muted": False},
    ]  # fmt: skip
    for value in slides:
        assert _slide_plain(value) == _slide_from_json(value, "s")
        assert _slide_plain(value) is not None


def test_a_refused_slide_is_named_as_before() -> None:
    playlist = {
        "id": "p",
        "name": "P",
        "slides": [
            {"id": "a", "kind": "image", "source": "assets/a.png"},
            {"id": "b", "kind": "image", "source": "x", "schedule": {"hours": ["8-9"]}},
        ],
    }
    try:
        playlist_from_json(playlist, "playlists[2]")
    except FeedError as exc:
        assert "playlists[2].slides[1].schedule.hours[0]" in str(exc)
    else:
        raise AssertionError("a bad schedule was accepted")
    assert codec.playlist_from_json({**playlist, "slides": playlist["slides"][:1]}).slides


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"sha256": "A" * 64, "size": 1}, "sha256"),
        ({"sha256": "a" * 63, "size": 1}, "sha256"),
        ({"sha256": "a" * 64, "size": True}, "size"),
        ({"sha256": "a" * 64, "size": -1}, "size"),
        ({"sha256": "a" * 64, "size": 1.0}, "size"),
        ({"sha256": "a" * 64, "size": MAX_ASSET_SIZE + 1}, "size"),
        ({"sha256": "a" * 64, "size": 1, "type": "png"}, "type"),
        ({"sha256": "a" * 64, "size": 1, "type": None}, "type"),
        ([], "expected an object"),
    ],
)
def test_asset_entries_the_short_way_refuses_too(entry: Any, fragment: str) -> None:
    """The manifest's asset entries (a short way for the common case too) are refused as
    before, naming the entry."""
    with pytest.raises(FeedError, match=fragment) as caught:
        _asset_entry("assets/x.png", entry)
    assert "assets['assets/x.png']" in str(caught.value)
    good = {"sha256": "a" * 64, "size": MAX_ASSET_SIZE, "type": "image/png"}
    assert _asset_entry("p", good) == AssetEntry("a" * 64, MAX_ASSET_SIZE, "image/png")
    assert _asset_entry("p", {"sha256": "b" * 64, "size": 0}).media_type == (
        "application/octet-stream"
    )
