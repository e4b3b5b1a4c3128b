"""Thousands of generated and mutated playlists: each accepted or refused with located problems.

Nothing may escape as an exception, hang, or come back refused without a message; accepted
playlists must be well-formed (slides present, ids unique).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signage.model import Playlist
from signage.playlist import load_playlist_file
from tests.helpers_playlist import VALID_PLAYLIST, valid_root

# ~50 s on the shared 2-core box (2,100 generated documents); scripts/test.sh and CI run
# slow tests too (pytest runs every marker unless told `-m "not slow"`).
pytestmark = pytest.mark.slow

KEYS = [
    "name", "tags", "defaults", "schedule", "overlays", "ticker", "attribution", "slides",
    "id", "image", "video", "web", "text", "title", "body", "duration", "transition", "fit",
    "qr", "url", "caption", "track", "from", "until", "days", "hours", "muted", "clock",
    "logo", "medium", "medium_value", "screen", "playlist", "slide",
]  # fmt: skip
WORDS = [
    "10s", "1m30s", "0", "-3", "fade", "cut", "contain", "cover", "mon", "sun", "mon-fri",
    "07:00-18:00", "22:00-06:00", "10:00-10:00", "2027-01-04", "2027-02-30",
    "https://intranet.example.gov.co/x", "http://x", "assets/infografias/eficiencia.png",
    "assets/videos/tutorial-citas.mp4", "../x.png", "/etc/passwd", "lobby", "true", "null",
    "~", "yes", "on", "1:30", "", " ", "Á", "\u202e", "{", "*",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=20),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.dates(),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6),
    ),
    max_leaves=30,
)
playlist_like = st.fixed_dictionaries(
    {"name": scalars, "slides": st.lists(trees, max_size=4)},
    optional=dict.fromkeys(("tags", "defaults", "schedule", "overlays", "ticker"), trees),
)

SPECIAL = ":-[]{}&*!|>#'\"\t\n ,?%@`\\\x00\x07é😀"


@st.composite
def mutated_valid(draw: st.DrawFn) -> bytes:
    """The contract's example with a few random edits: deletions, insertions, line moves."""
    lines = VALID_PLAYLIST.lstrip("\n").splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "dup", "swap", "indent", "token"]))
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if op == "delete":
            a = draw(st.integers(0, len(line)))
            b = draw(st.integers(a, len(line)))
            lines[i] = line[:a] + line[b:]
        elif op == "insert":
            a = draw(st.integers(0, len(line)))
            chunk = draw(st.text(alphabet=SPECIAL + "abc019", min_size=1, max_size=4))
            lines[i] = line[:a] + chunk + line[a:]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + line.lstrip(" ")
        else:
            key, _, _ = line.partition(":")
            lines[i] = f"{key}: {draw(st.sampled_from(WORDS))!s}\n"
    return "".join(lines).encode("utf-8", errors="surrogatepass")


@pytest.fixture(scope="module")
def content_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fuzz")
    valid_root(base)
    return base


def _check(root: Path, data: bytes) -> None:
    path = root / "playlists" / "fuzz.yaml"
    path.write_bytes(data)
    playlist, problems = load_playlist_file(path, root)
    # YAML 1.1 also breaks lines at NEL, LS and PS (a generated key may hold one)
    text = data.decode("utf-8", errors="replace")
    line_count = data.count(b"\n") + sum(text.count(c) for c in "\x85\u2028\u2029") + 2
    for problem in problems:
        assert problem.path == str(path)
        assert 0 <= problem.line <= line_count, problem
        assert problem.col >= 0
        assert problem.message.strip()
        assert "Traceback" not in problem.message
    errors = [p for p in problems if p.severity == "error"]
    if playlist is None:
        assert errors, "refused without saying why"
    else:
        assert not errors
        assert isinstance(playlist, Playlist)
        assert playlist.slides
        ids = [s.id for s in playlist.slides]
        assert len(ids) == len(set(ids)), ids
        assert all(s.duration_s is None or s.duration_s > 0 for s in playlist.slides)


FUZZ = settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(tree=trees)
def test_random_yaml_trees(content_root: Path, tree: object) -> None:
    _check(content_root, yaml.safe_dump(tree, allow_unicode=True).encode("utf-8", "surrogatepass"))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=playlist_like)
def test_random_playlist_shaped_documents(content_root: Path, doc: dict[str, object]) -> None:
    _check(content_root, yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", "surrogatepass"))


@FUZZ
@given(data=mutated_valid())
def test_mutations_of_a_valid_playlist(content_root: Path, data: bytes) -> None:
    _check(content_root, data)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=300) | st.text(SPECIAL + "ab:", max_size=80).map(str.encode))
def test_random_bytes(content_root: Path, data: bytes) -> None:
    _check(content_root, data)


def test_the_unmutated_example_is_accepted(content_root: Path) -> None:
    path = content_root / "playlists" / "fuzz.yaml"
    path.write_text(VALID_PLAYLIST, encoding="utf-8")
    playlist, problems = load_playlist_file(path, content_root)
    assert playlist is not None and problems == []
