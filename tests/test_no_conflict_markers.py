"""No merge-conflict markers are committed: many branches merge into this tree, and a
marker left in a doc or a YAML file breaks nothing a linter sees."""

from __future__ import annotations

import subprocess

from tests.helpers_feed import REPO

MARKERS = ("<<<<<<< ", ">>>>>>> ")


def test_no_tracked_text_file_holds_a_conflict_marker() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, listed):
        path = REPO / name.decode()
        if not path.is_file() or path.suffix in (".png", ".jpg", ".mp4", ".mo", ".pem"):
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if line.startswith(MARKERS) or line == "=======":
                found.append(f"{name.decode()}:{number}: {line[:40]}")
    assert not found, "merge-conflict markers committed:\n" + "\n".join(found)
