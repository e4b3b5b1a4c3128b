"""Each class of playlist error is reported at the exact file and line, with a useful message."""

# ruff: noqa: E501  (the table of cases reads best one case per line)
from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from signage.errors import Problem
from signage.playlist import load_content_root, load_playlist_file
from tests.helpers_playlist import ContentRoot

HEAD = """\
name: Sala de capacitación
slides:
"""


def _root(tmp_path: Path) -> ContentRoot:
    root = ContentRoot(tmp_path)
    root.image("assets/a.png")
    root.image("assets/foto.jpg", "JPEG")
    root.image("assets/b.webp", "WEBP")
    root.image("assets/c.gif", "GIF")
    root.video("assets/v.mp4")
    root.raw("assets/texto.png", b"this is just text, not a picture\n")
    root.image("assets/disfrazada.png", "JPEG")
    root.image("assets/imagen.mp4", "PNG")
    return root


def _check(
    tmp_path: Path, text: str, allowed: frozenset[str] = frozenset()
) -> tuple[Path, list[Problem], object]:
    root = _root(tmp_path)
    path = root.playlist("p.yaml", text)
    playlist, problems = load_playlist_file(path, tmp_path, allowed_hosts=allowed)
    return path, problems, playlist


def _line(text: str, marker: str) -> int:
    for number, line in enumerate(textwrap.dedent(text).lstrip("\n").splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"marker {marker!r} not in the text")


# (case id, playlist text, marker on the expected line, message fragment)
CASES = [
    ("yaml-syntax-tab", HEAD + "  - image: assets/a.png\n\t  duration: 5s\n", "\t", "tabs"),
    (
        "yaml-syntax-colon",
        HEAD + "  - text:\n      title: Hora: 10:00 hoy: sala 3\n",
        "Hora:",
        "put the whole value in quotes",
    ),
    ("unknown-top-key", "nmae: x\nslides:\n  - image: assets/a.png\n", "nmae", "did you mean 'name'"),
    ("unknown-slide-key", HEAD + "  - image: assets/a.png\n    duraton: 5s\n", "duraton",
     "did you mean 'duration'"),
    ("unknown-far-key", HEAD + "  - image: assets/a.png\n    zzz: 1\n", "zzz",
     "a slide takes: id, image"),
    ("missing-name", "slides:\n  - image: assets/a.png\n", "slides", "missing the required key 'name'"),
    ("tags-not-list", "name: x\ntags: lobby\nslides:\n  - image: assets/a.png\n", "tags",
     "expected a list"),
    ("name-not-text", "name: [a, b]\nslides:\n  - image: assets/a.png\n", "name", "expected text"),
    ("muted-not-bool", HEAD + "  - video: assets/v.mp4\n    muted: quizás\n", "muted",
     "expected true or false"),
    ("duration-words", HEAD + "  - image: assets/a.png\n    duration: 10 segundos\n", "duration",
     "not a duration"),
    ("duration-zero", HEAD + "  - image: assets/a.png\n    duration: 0\n", "duration",
     "more than 0 seconds"),
    ("duration-sexagesimal", HEAD + "  - image: assets/a.png\n    duration: 1:30\n", "duration",
     "write 1m30s"),
    ("date-impossible", HEAD + "  - image: assets/a.png\n    schedule: {from: 2027-13-45}\n",
     "schedule", "there is no month 13"),
    ("date-words", HEAD + "  - image: assets/a.png\n    schedule:\n      until: mañana\n",
     "until", "YYYY-MM-DD"),
    ("day-unknown", HEAD + "  - image: assets/a.png\n    schedule:\n      days: [mon, tues]\n",
     "days", "did you mean 'tue'"),
    ("day-range-backwards", HEAD + "  - image: assets/a.png\n    schedule:\n      days: fri-mon\n",
     "days", "goes forward"),
    ("hours-format", HEAD + "  - image: assets/a.png\n    schedule:\n      hours: 7am-6pm\n",
     "hours", "HH:MM-HH:MM"),
    ("hours-out-of-day", HEAD + "  - image: assets/a.png\n    schedule:\n      hours: '25:00-26:00'\n",
     "hours", "not a time of day"),
    ("hours-empty", HEAD + "  - image: assets/a.png\n    schedule:\n      hours: '10:00-10:00'\n",
     "hours", "never plays"),
    ("until-before-from",
     HEAD + "  - image: assets/a.png\n    schedule:\n      from: 2027-02-10\n      until: 2027-02-01\n",
     "until", "is before 'from'"),
    ("days-outside-dates",
     HEAD + "  - image: assets/a.png\n    schedule:\n      from: 2027-01-04\n      until: 2027-01-05\n"
     "      days: [sat, sun]\n",
     "days", "falls between 2027-01-04 and 2027-01-05"),
    ("slide-outside-playlist-dates",
     "name: x\nschedule: {from: 2027-01-01, until: 2027-01-31}\nslides:\n  - image: assets/a.png\n"
     "    schedule: {from: 2027-03-01}\n",
     "2027-03-01", "never meets its playlist's schedule"),
    ("slide-days-outside-playlist-days",
     "name: x\nschedule: {days: [mon, tue]}\nslides:\n  - image: assets/a.png\n"
     "    schedule: {days: [sat]}\n",
     "sat", "never meets its playlist's schedule"),
    ("slide-hours-outside-playlist-hours",
     "name: x\nschedule: {hours: '06:00-12:00'}\nslides:\n  - image: assets/a.png\n"
     "    schedule: {hours: ['13:00-14:00', '20:00-05:00']}\n",
     "13:00", "never meets its playlist's schedule"),
    ("duplicate-id",
     HEAD + "  - id: portada\n    image: assets/a.png\n  - {id: portada, text: {title: Hola}}\n",
     "Hola", "duplicate slide id 'portada' (first used on line 3)"),
    ("no-kind", HEAD + "  - id: vacia\n    duration: 5s\n", "id: vacia", "needs one of image, video"),
    ("two-kinds", HEAD + "  - image: assets/a.png\n    web: https://intranet.example.gov.co\n", "web",
     "has image, web"),
    ("asset-missing", HEAD + "  - image: assets/aa.png\n", "aa.png", "did you mean 'a.png'"),
    ("asset-text-as-png", HEAD + "  - image: assets/texto.png\n", "texto", "is not PNG"),
    ("asset-jpeg-named-png", HEAD + "  - image: assets/disfrazada.png\n", "disfrazada",
     "its content is JPEG; rename"),
    ("asset-png-as-video", HEAD + "  - video: assets/imagen.mp4\n", "imagen", "is not MP4"),
    ("asset-wrong-kind", HEAD + "  - image: assets/v.mp4\n", "v.mp4", "does not look like an image"),
    ("asset-escapes-root", HEAD + "  - image: ../../etc/passwd.png\n", "passwd", "leaves the content root"),
    ("asset-absolute", HEAD + "  - image: /etc/logo.png\n", "/etc/logo.png", "absolute path"),
    ("web-http", HEAD + "  - web: http://intranet.example.gov.co/x\n", "web", "only https://"),
    ("qr-http", HEAD + "  - image: assets/a.png\n    qr: {url: 'ftp://x.example/y'}\n", "qr",
     "only https://"),
    ("qr-true", HEAD + "  - image: assets/a.png\n    qr: true\n", "qr", "give the settings"),
    ("qr-no-url", HEAD + "  - image: assets/a.png\n    qr: {caption: Escanea}\n", "qr",
     "missing the required key 'url'"),
    ("transition-typo", HEAD + "  - image: assets/a.png\n    transition: fadde\n", "transition",
     "did you mean 'fade'"),
    ("duplicate-key", HEAD + "  - image: assets/a.png\n    duration: 5s\n    duration: 6s\n",
     "duration: 6s", "duplicate key 'duration' (first written on line 4)"),
    ("empty-slides", "name: x\nslides: []\n", "slides", "at least 1"),
    ("bad-slide-id", HEAD + "  - id: Portada Principal\n    image: assets/a.png\n", "Portada",
     "lower-case letters"),
    ("misplaced-top-level", "name: x\nimage: assets/a.png\nslides:\n  - text: {title: x}\n", "image:",
     "'image' belongs in a slide (under 'slides:'"),
    ("misplaced-title", HEAD + "  - text:\n    title: Hola\n", "title", "'title' belongs in 'text:'"),
    ("empty-text", HEAD + "  - text:\n    title: Hola\n", "text:", "a text slide is empty"),
    ("misplaced-url", HEAD + "  - text: {title: x}\n    url: https://x.example\n", "url",
     "'url' belongs in 'qr:'"),
    ("python-tag", HEAD + "  - image: !!python/object/apply:os.system [echo]\n", "python",
     "unsupported YAML tag"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "marker", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_error_is_located(tmp_path: Path, text: str, marker: str, fragment: str) -> None:
    path, problems, playlist = _check(tmp_path, text)
    assert playlist is None, "a file with an error must be refused"
    errors = [p for p in problems if p.severity == "error"]
    matching = [p for p in errors if fragment in p.message]
    assert matching, f"no problem mentions {fragment!r}; got: {[str(p) for p in problems]}"
    problem = matching[0]
    assert problem.path == str(path)
    assert problem.line == _line(text, marker), str(problem)
    assert problem.col >= 1 or problem.line == 0


def test_host_not_on_allow_list(tmp_path: Path) -> None:
    text = (
        HEAD
        + "  - web: https://intranet.example.gov.co/x\n    qr: {url: 'https://evil.example/q'}\n"
    )
    _, problems, playlist = _check(tmp_path, text, frozenset({"intranet.example.gov.co"}))
    assert playlist is None
    assert [(p.line, p.col) for p in problems] == [(4, 15)]
    assert "'evil.example' is not on the allow-list" in problems[0].message
    # the same file passes when the host is allowed
    _, problems, playlist = _check(
        tmp_path, text, frozenset({"intranet.example.gov.co", "evil.example"})
    )
    assert playlist is not None, problems


def test_every_problem_is_collected_not_just_the_first(tmp_path: Path) -> None:
    text = (
        HEAD
        + "  - image: assets/nope.png\n"
        + "    duration: never\n"
        + "  - web: http://x.example\n"
        + "  - text: {title: ''}\n"
    )
    _, problems, _ = _check(tmp_path, text)
    assert [p.line for p in problems] == [3, 4, 5, 6]


def test_symlink_leaving_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    root = _root(tmp_path / "root")
    (tmp_path / "root" / "assets" / "link.png").symlink_to(root.root / "assets" / "a.png")
    outside.mkdir()
    from tests.helpers_playlist import make_image

    make_image(outside / "secret.png")
    (tmp_path / "root" / "assets" / "evil.png").symlink_to(outside / "secret.png")
    path = root.playlist(
        "p.yaml", HEAD + "  - image: assets/link.png\n  - image: assets/evil.png\n"
    )
    playlist, problems = load_playlist_file(path, root.root)
    assert [(p.line, "outside the content root" in p.message) for p in problems] == [(4, True)]
    assert playlist is None


# --------------------------------------------------------------------------- hostile input


def _load_text(tmp_path: Path, data: bytes) -> list[Problem]:
    root = ContentRoot(tmp_path)
    path = root.raw("playlists/hostil.yaml", data)
    started = time.monotonic()
    playlist, problems = load_playlist_file(path, tmp_path)
    assert time.monotonic() - started < 5, "hostile input must be refused quickly"
    assert playlist is None
    assert problems and all(p.path == str(path) for p in problems)
    return problems


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "\n".join(["name: bomba", *lines, "slides: *a9", ""])
    problems = _load_text(tmp_path, bomb.encode())
    assert problems[0].line == 2
    assert "anchors and aliases" in problems[0].message


def test_huge_file_is_refused(tmp_path: Path) -> None:
    data = b"name: x\nticker:\n" + b"  - " + b"a" * 100 + b"\n" * 1 + b"  - b\n" * 400_000
    problems = _load_text(tmp_path, data)
    assert "limited to 1,000,000 bytes" in problems[0].message


def test_binary_file_is_refused(tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    problems = _load_text(tmp_path, buf.getvalue())
    assert "binary file" in problems[0].message


def test_non_utf8_text_names_the_line(tmp_path: Path) -> None:
    data = "name: Sala\nslides:\n  - text: {title: Capacitación}\n".encode("latin-1")
    problems = _load_text(tmp_path, data)
    assert (problems[0].line, problems[0].col) == (3, 29)
    assert "not UTF-8" in problems[0].message


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_deep_nesting_is_refused(tmp_path: Path, opener: str) -> None:
    if opener == "- ":
        data = "".join("  " * i + "- \n" for i in range(200)).encode()
        data = b"".join(b"  " * i + b"-\n" for i in range(200))
    else:
        closer = "]" if opener == "[" else "}"
        data = ("x: " + opener * 100_000 + closer * 100_000 + "\n").encode()
    problems = _load_text(tmp_path, data)
    assert "nested deeper than 50 levels" in problems[0].message


def test_control_characters_are_refused(tmp_path: Path) -> None:
    problems = _load_text(tmp_path, b"name: Sala\nticker: [\x07bell]\n")
    assert (problems[0].line, problems[0].col) == (2, 10)
    assert "control character" in problems[0].message


def test_two_documents_are_refused(tmp_path: Path) -> None:
    problems = _load_text(tmp_path, b"name: a\n---\nname: b\n")
    assert problems[0].line == 2
    assert "one playlist per file" in problems[0].message


@pytest.mark.parametrize("data", [b"", b"# only a comment\n", b"   \n"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    problems = _load_text(tmp_path, data)
    assert "empty" in problems[0].message


def test_document_that_is_not_a_mapping(tmp_path: Path) -> None:
    problems = _load_text(tmp_path, b"- just\n- a list\n")
    assert (problems[0].line, problems[0].col) == (1, 1)
    assert "must be a mapping" in problems[0].message


def test_bad_file_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    root = _root(tmp_path)
    root.playlist("a.yaml", "name: A\nslides:\n  - image: assets/a.png\n")
    root.playlist("b.yaml", "name: B\nslides:\n  - image: assets/none.png\n")
    root.playlist("c.yml", "name: C\nslides:\n  - text: {title: Hola}\n")
    root.playlist("theme.yaml", "accent: amarillo\n")
    root.raw("playlists/alerts/caida.yaml", b"not: a playlist\n")
    result = load_content_root(tmp_path)
    assert [p.id for p in result.playlists] == ["a", "c"]
    assert not result.ok
    by_file = result.errors_by_file()
    assert sorted(Path(k).name for k in by_file) == ["b.yaml", "theme.yaml"]
    theme_problem = by_file[str(tmp_path / "playlists" / "theme.yaml")][0]
    assert (theme_problem.line, "#rrggbb" in theme_problem.message) == (1, True)
    assert result.theme.accent == "#f4b400", "an invalid theme falls back to the defaults"


def test_same_stem_twice_is_an_error(tmp_path: Path) -> None:
    root = _root(tmp_path)
    root.playlist("a.yaml", "name: A\nslides:\n  - image: assets/a.png\n")
    root.playlist("a.yml", "name: A2\nslides:\n  - image: assets/a.png\n")
    result = load_content_root(tmp_path)
    assert [p.name for p in result.playlists] == ["A"]
    assert "another playlist file has the id 'a'" in result.problems[0].message


def test_missing_playlists_folder(tmp_path: Path) -> None:
    result = load_content_root(tmp_path / "nowhere")
    assert not result.ok
    assert "no playlists/ folder" in result.problems[0].message


def test_pure_python_parser_gives_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where PyYAML lacks libyaml, the pure-Python parser must locate errors the same way."""
    import yaml

    from signage.validation import located as _yaml

    texts = [c[1] for c in CASES] + ["x: " + "[" * 200 + "]" * 200 + "\n"]
    root = _root(tmp_path)
    path = root.playlist("p.yaml", "")

    def run_all() -> list[list[tuple[int, int, str]]]:
        out = []
        for text in texts:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
            _, problems = load_playlist_file(path, tmp_path)
            out.append([(p.line, p.col, p.message.split(":")[0]) for p in problems])
        return out

    fast = run_all()
    monkeypatch.setattr(_yaml, "_PARSER_LOADER", yaml.SafeLoader)
    assert run_all() == fast
