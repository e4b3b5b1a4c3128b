"""Data slides: numbers read the es-CO way, every bad file refused with a located reason, and
the player drawing the very numbers of the file (text items and a pixel probe of the bars)."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from signage.data import DataProblem, format_number, parse_number, parse_table, series_of
from signage.data.drawing import TextItem, plan
from signage.model import Chart, DataContent, SlideKind, Theme
from signage.playlist import load_playlist_file
from tests.helpers_player import THEME, content, running_player, slide, solid_png, wait_until
from tests.helpers_playlist import ContentRoot

TICKETS = "trimestre,tickets\nT3 2025,1.240\nT4 2025,1.105\nT1 2026,930\nT2 2026,812\nT3 2026,705\n"
BARS = DataContent(
    chart=Chart.BAR,
    title="Menos tickets de soporte",
    tag="MÉTRICAS",
    label="trimestre",
    values=("tickets",),
    card="change",
    card_caption="tickets por trimestre en solo un año",
)


def fixed_measure(text: str, px: float, weight: str) -> float:
    return len(text) * px * 0.55


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.240", 1240.0), ("5,1", 5.1), ("12.400,25", 12400.25), ("−3,5 %", -3.5), ("87", 87.0)],
)
def test_numbers_are_read_the_es_co_way(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1.24", "abc", "", "1,2,3", "12.40.0", "1e5"])
def test_what_is_not_an_es_co_number_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a number \(write e\.g\. 1\.240 or 5,1\)"):
        parse_number(text)


def test_numbers_are_written_the_es_co_way() -> None:
    assert format_number(12400) == "12.400"
    assert format_number(5.14, decimals=1) == "5,1"
    assert format_number(-38.2, unit="%", sign=True) == "\u221238\u00a0%"
    assert format_number(0.2, sign=True) == "0"  # never "−0" or "+0"


# ----------------------------------------------------------------------------- bad files


def test_a_missing_column_names_the_file_and_the_columns_it_has() -> None:
    table = parse_table(TICKETS.encode(), "assets/datos/t.csv")
    with pytest.raises(DataProblem) as info:
        series_of(table, label="trimestre", values=["tiquetes"])
    assert "assets/datos/t.csv has no column 'tiquetes'" in str(info.value)
    assert "did you mean 'tickets'" in str(info.value)
    assert info.value.key == "values"


def test_text_where_a_number_belongs_is_located_by_line_and_column() -> None:
    bad = TICKETS.replace("930", "novecientos")
    table = parse_table(bad.encode(), "t.csv")
    with pytest.raises(DataProblem, match=r"t\.csv, line 4, column 'tickets': 'novecientos'"):
        series_of(table, label="trimestre", values=["tickets"])


def test_ten_million_rows_are_refused_by_size_before_being_read(tmp_path: Path) -> None:
    from signage.data.files import read_bounded

    path = tmp_path / "huge.csv"
    with path.open("w") as fh:
        fh.write("a,b\n")
        fh.writelines("x,1\n" for _ in range(10_000_000))
    with pytest.raises(DataProblem, match=r"huge\.csv is larger than 1024 KB"):
        read_bounded(path, tmp_path, "huge.csv")


def test_more_rows_than_a_slide_can_use_are_refused_even_when_small() -> None:
    body = "a,b\n" + "x,1\n" * 1001
    with pytest.raises(DataProblem, match=r"more than 1000 rows"):
        parse_table(body.encode(), "rows.csv")


def test_a_one_gigabyte_body_is_refused_without_parsing() -> None:
    with pytest.raises(DataProblem, match="larger than 1024 KB"):
        parse_table(b"a,b\n" + b"x" * ((1 << 20) + 1), "big.csv")


def test_a_json_bomb_is_refused_by_its_depth_without_recursion() -> None:
    bomb = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(DataProblem, match=r"bomb\.json: JSON nested 200000 levels deep"):
        parse_table(bomb, "bomb.json")


def test_json_rows_with_numbers_and_es_co_text_both_read() -> None:
    doc = b'{"rows": [{"mes": "oct", "n": 1240.5}, {"mes": "nov", "n": "1.300"}]}'
    s = series_of(parse_table(doc, "x.json"), label="mes", values=["n"])
    assert s.values == ((1240.5, 1300.0),)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"[1, 2]", "row 1: expected an object"),
        (b'{"a": 1}', "expected a list of rows"),
        (b"<html>oops</html>", "is an HTML or XML page, not CSV or JSON"),
        (b"a\n<b>,1\n", "line 2: 2 cells but the header has 1 columns"),
        (b"\xff\xfe\x00a", "is not UTF-8"),
        (b"", "is empty"),
    ],
)
def test_garbage_is_refused_with_a_named_reason(body: bytes, fragment: str) -> None:
    name = "g.json" if body.startswith((b"[", b"{")) else "g.csv"
    with pytest.raises(DataProblem, match=fragment.replace(".", r"\.")):
        table = parse_table(body, name)
        series_of(table, label="a", values=["b"])


# ----------------------------------------------------------------------------- validator


def _playlist(root: ContentRoot, body: str) -> tuple[object, list[str]]:
    path = root.playlist("p.yaml", "name: Datos\nslides:\n" + textwrap.indent(body, "  "))
    playlist, problems = load_playlist_file(path, root.root)
    return playlist, [f"{p.line}: {p.message}" for p in problems]


DATA_SLIDE = """\
- id: tickets
  data:
    file: assets/datos/t.csv
    chart: bar
    title: Menos tickets
    label: trimestre
    values: {values}
"""


def test_a_valid_data_slide_names_its_file_as_an_asset(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.raw("assets/datos/t.csv", TICKETS.encode())
    playlist, problems = _playlist(root, DATA_SLIDE.format(values="tickets"))
    assert problems == []
    (s,) = playlist.slides  # type: ignore[attr-defined]
    assert s.kind is SlideKind.DATA
    assert s.assets() == ("assets/datos/t.csv",)
    assert s.data.values == ("tickets",)


def test_the_validator_locates_a_missing_column_at_the_values_key(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.raw("assets/datos/t.csv", TICKETS.encode())
    _, problems = _playlist(root, DATA_SLIDE.format(values="[tickets, meta]"))
    assert len(problems) == 1
    assert problems[0].startswith("9: values: assets/datos/t.csv has no column 'meta'")


def test_the_validator_locates_a_bad_number_at_the_file_key(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.raw("assets/datos/t.csv", TICKETS.replace("812", "8l2").encode())
    _, problems = _playlist(root, DATA_SLIDE.format(values="tickets"))
    assert problems == [
        "5: assets/datos/t.csv, line 5, column 'tickets': '8l2' is not a number "
        "(write e.g. 1.240 or 5,1)"
    ]


def test_file_and_url_together_or_neither_are_refused(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.raw("assets/datos/t.csv", TICKETS.encode())
    body = DATA_SLIDE.format(values="tickets").replace(
        "    file: assets/datos/t.csv\n",
        "    file: assets/datos/t.csv\n    url: https://datos.example.gov.co/t.csv\n",
    )
    _, problems = _playlist(root, body)
    assert any("data needs one of 'file'" in p for p in problems)


# ----------------------------------------------------------------------------- drawing


def test_the_plan_draws_the_files_numbers_and_the_change_in_the_card() -> None:
    s = series_of(parse_table(TICKETS.encode(), "t.csv"), label="trimestre", values=["tickets"])
    drawing = plan(BARS, s, THEME, 1920, 1080, fixed_measure)
    assert drawing.texts("value") == ["1.240", "1.105", "930", "812", "705"]
    assert drawing.texts("label") == ["T3 2025", "T4 2025", "T1 2026", "T2 2026", "T3 2026"]
    assert drawing.texts("card") == ["\u221243\u00a0%"]  # (705 − 1240) / 1240
    bars = drawing.boxes("bar")
    assert [round(b.h / bars[0].h, 3) for b in bars] == [
        round(v / 1240, 3) for v in (1240, 1105, 930, 812, 705)
    ]
    # The chart keeps clear of the QR plate at the right (x >= 1360 at 1080p).
    assert max(b.x + b.w for b in bars) <= 1300


def test_a_portrait_screen_gets_a_tall_layout_inside_its_width() -> None:
    s = series_of(parse_table(TICKETS.encode(), "t.csv"), label="trimestre", values=["tickets"])
    drawing = plan(BARS, s, THEME, 1080, 1920, fixed_measure)
    bars = drawing.boxes("bar")
    assert all(b.x >= 0 and b.x + b.w <= 1080 for b in bars)
    # Everything ends above the QR plate (half the width, from y ~1110 at 1080x1920).
    from signage.player.layout import screen_layout

    plate = screen_layout(1080, 1920, qr=True).qr
    assert max(b.y + b.h for b in bars) < plate.y
    assert all(t.y + t.h <= plate.y for t in drawing.items if isinstance(t, TextItem))


# ----------------------------------------------------------------------------- player


@pytest.mark.parametrize(("width", "height"), [(960, 540), (1280, 720), (1920, 1080), (3840, 2160)])
def test_the_tag_fits_its_box_at_every_screen_size(qapp, width: int, height: int) -> None:
    # The console's 960 px preview drew "MÉTRIC…": the plan measured the tag at 27 px and
    # scaled the width, but the font drawn is 14 px (whole pixels, hinted): a letter too wide.
    from signage.player.dataview import qt_measure, single_line

    s = series_of(parse_table(TICKETS.encode(), "t.csv"), label="trimestre", values=["tickets"])
    drawing = plan(BARS, s, THEME, width, height, qt_measure(THEME))
    (tag,) = [t for t in drawing.items if isinstance(t, TextItem) and t.role == "tag"]
    font, words = single_line(tag, THEME)
    assert words == "MÉTRICAS"
    assert font.pixelSize() == round(tag.px)


def _grab(player) -> Image.Image:
    return Image.open(io.BytesIO(player.grab_png(max_width=10_000))).convert("RGB")


@pytest.mark.qt
def test_the_player_draws_a_data_slide_with_the_files_numbers(qapp, tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text(TICKETS)
    data_slide = slide("tickets", SlideKind.DATA, "assets/datos/t.csv", data=BARS, duration_s=30)
    c = content([data_slide], {"assets/datos/t.csv": csv})
    with running_player(qapp, c, size=(1280, 720)) as (player, _, trap):
        assert wait_until(qapp, lambda: trap.shown() == ["tickets"], 10)
        view = player.window.stage.current
        assert view is not None and view.plan is not None
        drawing = view.plan
        image = _grab(player)
    assert drawing.texts("value") == ["1.240", "1.105", "930", "812", "705"]
    assert drawing.texts("title") == ["Menos tickets de soporte"]
    bars = drawing.boxes("bar")
    bg = Image.new("RGB", (1, 1), THEME.background).getpixel((0, 0))
    for bar in bars:
        inside = image.getpixel((round(bar.x + bar.w / 2), round(bar.y + bar.h * 0.5)))
        above = image.getpixel((round(bar.x + bar.w / 2), round(bar.y - 4)))
        assert inside == Image.new("RGB", (1, 1), bar.colour).getpixel((0, 0)), bar
        assert above != inside
    # The tallest bar (1.240) is drawn 1240/705 times as tall as the last (705).
    assert bars[0].h / bars[-1].h == pytest.approx(1240 / 705, rel=0.02)
    assert bg != image.getpixel((round(bars[-1].x + bars[-1].w / 2), round(bars[-1].y + 4)))


@pytest.mark.qt
def test_bad_data_on_a_screen_is_skipped_with_its_reason(qapp, tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text(TICKETS.replace("930", "muchos"))
    photo = solid_png(tmp_path / "p.png", (30, 160, 60))
    slides = [
        slide("tickets", SlideKind.DATA, "assets/datos/t.csv", data=BARS, duration_s=0.5),
        slide("foto", SlideKind.IMAGE, "assets/p.png", duration_s=30),
    ]
    c = content(slides, {"assets/datos/t.csv": csv, "assets/p.png": photo})
    with running_player(qapp, c) as (_, _, trap):
        assert wait_until(qapp, lambda: "foto" in trap.shown(), 10)
        skipped = trap.skipped()
    assert "tickets" in skipped
    assert "line 4, column 'tickets': 'muchos' is not a number" in skipped["tickets"]


def test_a_data_slide_survives_the_feed_manifest_round_trip(tmp_path: Path) -> None:
    from signage.feed.codec import playlist_from_json, playlist_to_json

    c = content(
        [slide("tickets", SlideKind.DATA, "assets/datos/t.csv", data=BARS)],
        {"assets/datos/t.csv": tmp_path / "t.csv"},
    )
    (playlist,) = c.playlists
    back = playlist_from_json(playlist_to_json(playlist), "playlists[0]")
    assert back.slides[0].data == BARS
    assert back.slides[0].source == "assets/datos/t.csv"


def test_theme_colours_come_from_the_theme() -> None:
    s = series_of(parse_table(TICKETS.encode(), "t.csv"), label="trimestre", values=["tickets"])
    pink = Theme(accent="#ff00aa")
    drawing = plan(BARS, s, pink, 1920, 1080, fixed_measure)
    assert drawing.boxes("bar")[-1].colour == "#ff00aa"  # the latest bar is highlighted


def test_scans_of_a_slide_that_is_not_in_the_playlist_is_refused(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    body = "- id: gracias\n  data:\n    scans: encuestaa\n    chart: figure\n    title: Gracias\n"
    _, problems = _playlist(root, body)
    assert problems == ["3: scans: no slide 'encuestaa' in this playlist (or all, playlist)"]


def test_remote_data_shows_its_date_on_the_source_line() -> None:
    from dataclasses import replace
    from datetime import date

    s = series_of(parse_table(TICKETS.encode(), "t.csv"), label="trimestre", values=["tickets"])
    data = replace(BARS, credit="Mesa de ayuda OAI", as_of=date(2026, 11, 28))
    drawing = plan(data, s, THEME, 1920, 1080, fixed_measure)
    assert drawing.texts("source") == ["Mesa de ayuda OAI · Datos al 28 de noviembre de 2026"]


@pytest.mark.qt
def test_a_remote_data_slide_never_fetched_is_skipped_saying_so(qapp, tmp_path: Path) -> None:
    from dataclasses import replace

    photo = solid_png(tmp_path / "p.png", (30, 160, 60))
    remote = replace(BARS, url="https://datos.example.gov.co/t.csv")
    slides = [
        slide("remota", SlideKind.DATA, "", data=remote, duration_s=0.5),
        slide("foto", SlideKind.IMAGE, "assets/p.png", duration_s=30),
    ]
    with running_player(qapp, content(slides, {"assets/p.png": photo})) as (_, _, trap):
        assert wait_until(qapp, lambda: "foto" in trap.shown(), 10)
        skipped = trap.skipped()
    assert "never fetched by the publisher" in skipped["remota"]


def test_labels_are_drawn_without_control_or_bidi_characters() -> None:
    body = 'mes,n\n"oct\u202eubre\u200b\n2026",1\n'
    s = series_of(parse_table(body.encode(), "x.csv"), label="mes", values=["n"])
    assert s.labels == ("oct ubre 2026",)
