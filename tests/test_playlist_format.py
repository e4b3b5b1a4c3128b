"""The playlist format: valid files load into the model, defaults apply, the schema is one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signage.model import Fit, QRCode, SlideKind, Transition, Weekday
from signage.playlist import (
    __all__ as public_names,
)
from signage.playlist import (
    check_url,
    json_schema,
    load_content_root,
    load_playlist_file,
    load_yaml_located,
    parse_duration,
    sniff_media,
)
from signage.validation import YMap, YScalar, YSeq
from tests.helpers_playlist import ContentRoot, make_image, make_svg, make_video, valid_root

REPO = Path(__file__).resolve().parents[1]


def test_contract_example_loads_with_defaults_applied(tmp_path: Path) -> None:
    valid_root(tmp_path)
    result = load_content_root(tmp_path)
    assert result.ok, [str(p) for p in result.problems]
    assert result.problems == ()
    (lobby,) = result.playlists
    assert (lobby.id, lobby.name, lobby.tags) == ("lobby", "Lobby principal", frozenset({"lobby"}))
    survey = QRCode(
        url="https://encuestas.example.gov.co/satisfaccion",
        caption="¿Cómo te fue? Escanea y opina",
    )
    by_id = {s.id: s for s in lobby.slides}
    assert [s.id for s in lobby.slides] == [
        "eficiencia",
        "webinar-ciberseguridad",
        "tutorial-citas",
        "indicadores",
        "sin-qr",
    ]
    eff = by_id["eficiencia"]
    assert (eff.kind, eff.source, eff.duration_s, eff.fit, eff.qr) == (
        SlideKind.IMAGE,
        "assets/infografias/eficiencia.png",
        15.0,
        Fit.CONTAIN,
        survey,
    )
    webinar = by_id["webinar-ciberseguridad"]
    assert webinar.text is not None and webinar.text.title.startswith("Webinar trimestral")
    webinars = "https://intranet.example.gov.co/webinars"
    assert webinar.qr == QRCode(url=webinars, caption="Inscríbete")
    assert webinar.duration_s == 10.0, "defaults.duration applies"
    assert webinar.schedule is not None
    assert webinar.schedule.days == frozenset(Weekday(i) for i in range(5))
    assert str(webinar.schedule.hours[0]) == "07:00-18:00"
    video = by_id["tutorial-citas"]
    assert (video.kind, video.duration_s, video.muted) == (SlideKind.VIDEO, None, True)
    assert video.qr == survey
    assert by_id["indicadores"].duration_s == 30.0
    assert by_id["sin-qr"].qr is None, "qr: false removes the default QR"
    assert all(s.transition is Transition.FADE for s in lobby.slides)
    assert eff.origin is not None and (eff.origin.line, eff.origin.col) == (11, 5)
    assert result.files == (tmp_path / "playlists" / "lobby.yaml",)


def test_derived_ids_are_unique_only_when_they_collide(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.image("assets/a/Portada Año.png")
    root.image("assets/b/Portada Año.png")
    root.image("assets/c/portada-ano-2.png")
    path = root.playlist(
        "p.yaml",
        """
        name: P
        slides:
          - image: "assets/a/Portada Año.png"
          - image: "assets/b/Portada Año.png"
          - image: assets/c/portada-ano-2.png
          - id: portada-ano-3
            text: {title: x}
          - text: {title: "¡Citas RUNT en línea!"}
          - web: https://intranet.example.gov.co/
        """,
    )
    playlist, problems = load_playlist_file(path, tmp_path)
    assert problems == []
    assert playlist is not None
    assert [s.id for s in playlist.slides] == [
        "portada-ano",
        "portada-ano-2",
        "portada-ano-2-2",
        "portada-ano-3",
        "citas-runt-en-linea",
        "intranet-example-gov-co",
    ]


def test_video_duration_only_when_written_and_defaults_override(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.video("assets/v.mp4")
    root.video("assets/w.webm", "webm")
    path = root.playlist(
        "p.yaml",
        """
        name: P
        defaults: {duration: 1m30s, transition: cut, fit: cover, qr: false}
        overlays: {clock: false}
        ticker: [Primera noticia, Segunda]
        attribution: {medium: null, screen: pantalla}
        slides:
          - video: assets/v.mp4
          - video: assets/w.webm
            duration: 20
            muted: false
          - text: {title: Hola}
            transition: fade
        """,
    )
    playlist, problems = load_playlist_file(path, tmp_path)
    assert problems == []
    assert playlist is not None
    v, w, t = playlist.slides
    assert (v.duration_s, w.duration_s, t.duration_s) == (None, 20.0, 90.0)
    assert (v.transition, t.transition, v.fit) == (Transition.CUT, Transition.FADE, Fit.COVER)
    assert w.muted is False
    assert all(s.qr is None for s in playlist.slides)
    assert playlist.overlays.clock is False and playlist.overlays.qr is True
    assert playlist.ticker == ("Primera noticia", "Segunda")
    assert playlist.attribution.medium is None
    assert playlist.attribution.screen == "pantalla"
    assert playlist.attribution.slide == "utm_content"


def test_theme_is_read(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    make_svg(tmp_path / "assets/marca/logo.svg")
    root.playlist("a.yaml", "name: A\nslides: [{text: {title: x}}]\n")
    root.playlist(
        "theme.yaml",
        "background: '#102030'\naccent: '#ABCDEF'\nlogo: assets/marca/logo.svg\n"
        "organisation: Alcaldía\n",
    )
    result = load_content_root(tmp_path)
    assert result.ok, result.problems
    assert (result.theme.background, result.theme.accent) == ("#102030", "#ABCDEF")
    assert result.theme.logo == "assets/marca/logo.svg"
    assert result.theme.foreground == "#ffffff"
    assert [p.id for p in result.playlists] == ["a"], "theme.yaml is not a playlist"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("1h 2m 3s", 3723.0),
        ("1.5s", 1.5),
        ("45", 45.0),
        (12, 12.0),
        (2.5, 2.5),
        (" 3 min ", 180.0),
    ],
)
def test_parse_duration_accepts(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "not a duration"),
        ("10 sec", "not a duration"),
        ("m", "not a duration"),
        ("-5s", "not a duration"),
        (0, "more than 0"),
        (float("nan"), "more than 0"),
        (True, "not a duration"),
        (None, "duration is empty"),
        ("48h", "longer than a day"),
    ],
)
def test_parse_duration_refuses(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_duration(value)


def test_check_url() -> None:
    allowed = frozenset({"encuestas.example.gov.co"})
    assert check_url("https://encuestas.example.gov.co/x?a=1", allowed) is None
    assert check_url("https://ENCUESTAS.example.gov.co/x", allowed) is None
    assert check_url("https://anything.example/x", frozenset()) is None
    refused = {
        "http://encuestas.example.gov.co/": "only https://",
        "javascript:alert(1)": "only https://",
        "https:///path": "no host",
        "https://otro.example/": "not on the allow-list",
        "https://encuestas.example.gov.co/a b": "spaces",
        "https://[::1": "not a valid URL",
    }
    for url, fragment in refused.items():
        message = check_url(url, allowed)
        assert message is not None and fragment in message, (url, message)


def test_media_sniffing_reads_real_files(tmp_path: Path) -> None:
    made = {
        "png": make_image(tmp_path / "a.png", "PNG"),
        "jpeg": make_image(tmp_path / "a.jpg", "JPEG"),
        "webp": make_image(tmp_path / "a.webp", "WEBP"),
        "gif": make_image(tmp_path / "a.gif", "GIF"),
        "svg": make_svg(tmp_path / "a.svg"),
        "mp4": make_video(tmp_path / "a.mp4"),
        "webm": make_video(tmp_path / "a.webm", "webm"),
    }
    assert {kind: sniff_media(path) for kind, path in made.items()} == {k: k for k in made}
    (tmp_path / "x.svg").write_text("<html><svg></svg></html>", encoding="utf-8")
    assert sniff_media(tmp_path / "x.svg") is None
    assert sniff_media(tmp_path / "missing.png") is None


def test_located_nodes_keep_lines_and_raw_keys() -> None:
    node, problems = load_yaml_located("a: 1\non: [x, 'y']\nb:\n  c: 2027-01-04\n", "t.yaml")
    assert problems == []
    assert isinstance(node, YMap)
    assert node.keys() == ("a", "on", "b"), "YAML 1.1 'on' stays a key, not True"
    seq = node.get("on")
    assert isinstance(seq, YSeq) and (seq.line, seq.col) == (2, 5)
    y = seq.items[1]
    assert isinstance(y, YScalar) and (y.value, y.quoted, y.col) == ("y", True, 9)
    inner = node.get("b")
    assert isinstance(inner, YMap)
    c = inner.get("c")
    assert isinstance(c, YScalar) and (c.line, c.col, str(c.value)) == (4, 6, "2027-01-04")


def test_committed_schema_is_the_generated_one() -> None:
    committed = json.loads((REPO / "signage/schema/playlist.schema.json").read_text("utf-8"))
    fix = "run: signage schema --out signage/schema/playlist.schema.json"
    assert committed == json_schema(), fix


def test_committed_theme_schema_is_the_generated_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from signage.cli import main
    from signage.playlist import theme_json_schema

    text = (REPO / "signage/schema/theme.schema.json").read_text("utf-8")
    assert json.loads(text) == theme_json_schema()
    assert main(["schema", "--theme"]) == 0
    assert capsys.readouterr().out == text
    assert theme_json_schema()["properties"] == json_schema()["$defs"]["theme"]["properties"]


def test_schema_mirrors_the_field_tables() -> None:
    schema = json_schema()
    assert schema["required"] == ["name", "slides"]
    assert schema["additionalProperties"] is False
    slide = schema["properties"]["slides"]["items"]
    assert set(slide["properties"]) == {
        "id", "image", "video", "web", "text", "duration", "transition", "fit", "qr",
        "schedule", "muted", "data",
    }  # fmt: skip
    kinds = ("image", "video", "web", "text", "data")
    assert slide["oneOf"] == [{"required": [k]} for k in kinds]
    assert slide["properties"]["transition"]["enum"] == ["fade", "cut"]
    qr = slide["properties"]["qr"]["anyOf"]
    assert qr[0] == {"const": False} and qr[1]["required"] == ["url"]
    theme = schema["$defs"]["theme"]["properties"]
    assert theme["accent"]["pattern"] == "^(?:#[0-9a-fA-F]{6})$"


def test_bundled_playlists_reference_the_schema_and_pass() -> None:
    folder = REPO / "playlists"
    files = sorted(
        p for p in folder.glob("*.yaml") if p.name not in ("theme.yaml", "settings.yaml")
    )
    assert files, f"no bundled playlists in {folder}"
    for path in files:
        first = path.read_text("utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../signage/schema/playlist.schema.json", (
            path.name
        )
    result = load_content_root(REPO)
    assert result.ok, "\n".join(str(p) for p in result.problems)
    assert len(result.playlists) >= 3
    assert sum(len(p.slides) for p in result.playlists) >= 12


def test_public_surface() -> None:
    assert {
        "load_content_root", "load_playlist_file", "parse_duration", "check_url", "json_schema",
        "load_yaml_located", "LoadResult", "Record", "Field", "Context",
    } <= set(public_names)  # fmt: skip
    import signage.playlist as package

    assert all(hasattr(package, name) for name in public_names)


def test_unquoted_colour_is_explained(tmp_path: Path) -> None:
    from signage.playlist import load_theme_file

    root = ContentRoot(tmp_path)
    path = root.playlist("theme.yaml", "background: #0b2545\naccent: '#f4b400'\n")
    theme, problems = load_theme_file(path, tmp_path)
    assert theme is None
    assert [(p.line, p.col) for p in problems] == [(1, 12)]
    assert "write the colour in quotes" in problems[0].message


@pytest.mark.parametrize("faststart", [False, True])
def test_video_length_read_from_the_mp4_header(tmp_path: Path, faststart: bool) -> None:
    import shutil
    import subprocess

    from signage.playlist import video_duration

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    out = tmp_path / "v.mp4"
    flags = ["-movflags", "+faststart"] if faststart else []
    subprocess.run(
        [
            "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", "testsrc=size=64x36:rate=10:duration=2.5", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", *flags, str(out),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    data = out.read_bytes()
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    assert (moov < mdat) == faststart, "the two layouts really differ"
    length = video_duration(out)
    assert length is not None and abs(length - 2.5) < 0.05
    (tmp_path / "cut.mp4").write_bytes(data[: min(moov, mdat)])
    assert video_duration(tmp_path / "cut.mp4") is None, "a truncated file has no length"
    assert video_duration(make_video(tmp_path / "w.webm", "webm")) is None
