"""``signage validate`` and ``signage schema`` as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from signage.cli import main
from tests.helpers_playlist import ContentRoot, valid_root

REPO = Path(__file__).resolve().parents[1]
LOCATED = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def signage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m signage`` in ``cwd`` (the package found through PYTHONPATH)."""
    return subprocess.run(
        [sys.executable, "-m", "signage", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PYTHONPATH": str(REPO),
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "SIGNAGE_LANGUAGE": "en",
        },
        check=False,
    )


def _broken_root(base: Path) -> ContentRoot:
    root = valid_root(base)
    root.playlist(
        "sala.yaml",
        """
        name: Sala de capacitación
        tagz: [capacitacion]
        slides:
          - image: assets/infografias/eficiencia.pgn
          - web: http://intranet.example.gov.co/indicadores
            duration: 30 segundos
        """,
    )
    return root


def test_valid_root_passes_with_a_summary(tmp_path: Path) -> None:
    valid_root(tmp_path)
    done = signage("validate", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "playlists/lobby.yaml: 'Lobby principal': 5 slides, loop 1m 6s, tags: lobby"
    ), "15s + 10s + the 1 s video measured from its mvhd box + 30s + 10s"
    assert lines[-1].endswith("all valid; 0 errors, 0 warnings")
    assert done.stderr == ""


def test_every_problem_is_printed_located_then_exit_1(tmp_path: Path) -> None:
    _broken_root(tmp_path)
    done = signage("validate", cwd=tmp_path)
    assert done.returncode == 1
    located = [m for m in map(LOCATED.match, done.stdout.splitlines()) if m]
    assert [(m["path"], int(m["line"]), int(m["col"])) for m in located] == [
        ("playlists/sala.yaml", 2, 1),
        ("playlists/sala.yaml", 4, 12),
        ("playlists/sala.yaml", 5, 10),
        ("playlists/sala.yaml", 6, 15),
    ]
    messages = [m["message"] for m in located]
    assert "did you mean 'tags'?" in messages[0]
    assert "does not look like an image" in messages[1]
    assert "only https://" in messages[2]
    assert "not a duration" in messages[3]
    assert "playlists/lobby.yaml: 'Lobby principal'" in done.stdout, "the good file still sums up"
    assert done.stdout.splitlines()[-1].endswith("1 file refused; 4 errors, 0 warnings")
    assert "Traceback" not in done.stderr


def test_paths_are_shown_as_typed_from_another_folder(tmp_path: Path) -> None:
    _broken_root(tmp_path / "sitio")
    done = signage("validate", "--root", "sitio", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("sitio/playlists/sala.yaml:2:1: unknown key 'tagz'")
    named = signage("validate", "sitio/playlists/sala.yaml", cwd=tmp_path)
    assert named.returncode == 1
    assert named.stdout.startswith("sitio/playlists/sala.yaml:2:1: ")
    assert "lobby" not in named.stdout, "only the named file is checked"


def test_allow_list_from_flags_and_config(tmp_path: Path) -> None:
    valid_root(tmp_path)
    done = signage("validate", "--allowed-host", "intranet.example.gov.co", cwd=tmp_path)
    assert done.returncode == 1
    assert "'encuestas.example.gov.co' is not on the allow-list" in done.stdout
    first = LOCATED.match(done.stdout.splitlines()[0])
    assert first is not None and (first["path"], first["line"]) == ("playlists/lobby.yaml", "8")
    config = tmp_path / "player.yaml"
    config.write_text("qr:\n  allowed_hosts: [encuestas.example.gov.co]\n", encoding="utf-8")
    both = signage(
        "validate", "--allowed-host", "intranet.example.gov.co", "--config", str(config),
        cwd=tmp_path,
    )  # fmt: skip
    assert both.returncode == 0, both.stdout


def test_bad_config_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    valid_root(tmp_path)
    done = signage("validate", "--config", "nowhere.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert "nowhere.yaml: no such configuration file" in done.stderr
    assert "Traceback" not in done.stderr


def test_hostile_files_get_messages(tmp_path: Path) -> None:
    root = valid_root(tmp_path)
    root.raw("playlists/imagen.yaml", (tmp_path / "assets/infografias/eficiencia.png").read_bytes())
    root.raw("playlists/latin1.yaml", "name: Sesión\n".encode("latin-1"))
    root.raw("playlists/bomba.yaml", b"a: &a [1, 2]\nb: [*a, *a]\n")
    root.raw("playlists/profundo.yaml", b"x: " + b"[" * 5000 + b"]" * 5000 + b"\n")
    done = signage("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "playlists/bomba.yaml:1:4: YAML anchors and aliases" in out
    assert "playlists/imagen.yaml:0:0: this is a binary file" in out
    assert "playlists/latin1.yaml:1:11: not UTF-8 text (byte 0xf3)" in out
    assert "playlists/profundo.yaml:1:" in out and "nested deeper than 50" in out


def test_missing_root_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--root", str(tmp_path / "nada")]) == 1
    assert "no playlists/ folder" in capsys.readouterr().out


def test_schema_command_prints_the_committed_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    committed = (REPO / "signage/schema/playlist.schema.json").read_text("utf-8")
    assert printed == committed
    assert json.loads(printed)["title"] == "signage playlist"
    out = tmp_path / "s.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert out.read_text("utf-8") == committed


def test_bundled_content_validates() -> None:
    assert (REPO / "playlists" / "lobby.yaml").is_file(), "the bundled content is missing"
    done = signage("validate", "--root", str(REPO), cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all valid" in done.stdout.splitlines()[-1]


def test_a_content_root_given_as_file_and_warnings_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = valid_root(tmp_path / "sitio")
    root.playlist("b.yaml", "name: B\nslides:\n  - text: {title: Hola}\n    muted: false\n")
    assert main(["validate", str(tmp_path / "sitio")]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path}/sitio/playlists/b.yaml:4:12: warning: 'muted' only matters" in out
    assert out.splitlines()[-1].endswith("all valid; 0 errors, 1 warning")


def test_schedules_that_ended_are_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ContentRoot(tmp_path)
    root.playlist(
        "viejo.yaml",
        """
        name: Campaña 2020
        schedule: {until: 2020-12-31}
        slides:
          - text: {title: Hola}
          - id: navidad
            text: {title: Feliz navidad}
            schedule: {from: 2020-12-01, until: 2020-12-25}
        """,
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0, "warnings do not fail validation"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "playlists/viejo.yaml:1:1: warning: this playlist ended on 2020-12-31 and will not "
        "play again; remove it or change 'until'"
    )
    assert out[1].startswith("playlists/viejo.yaml:5:5: warning: slide 'navidad' ended on 2020")
