"""The console's history room: every save is a commit of the content root, driven by git.

Why git (the CLI, not a library or our own snapshots): its diffs are real diffs of the
YAML people wrote, a restore is the files of an earlier commit written back, it is robust
(atomic refs, fsck, decades of use) and an admin can inspect or repair it with the
standard tools: ``git --git-dir DATA/history.git --work-tree ROOT log -p``.

The repository lives in the hub's data folder (``DATA/history.git``) with the content
root as its work tree, so a content root that is already someone's git checkout is left
alone. Only ``playlists/`` and ``assets/`` are recorded (not ``alerts/``, not dot-files).
Edits made by hand on the server are committed as such before the next console save.
"""

from __future__ import annotations

import os
import subprocess
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from signage.console.files import atomic_write
from signage.i18n import N_, _
from signage.logs import area_logger

log = area_logger("hub.console")

TRACKED = ("playlists", "assets")
# commit messages, written in the language of whoever made the change (stored as written)
HAND_EDITS = N_("Changes made outside the editor (by hand on the server, or uploaded files)")
GIT_TIMEOUT_S = 60.0
MAX_DIFF_BYTES = 512 * 1024


class HistoryError(Exception):
    """Raised when git fails or an unknown version is asked for."""


@dataclass(frozen=True, slots=True)
class Version:
    """One recorded state of the content root."""

    id: str
    ts: float
    author: str
    message: str

    @property
    def short(self) -> str:
        return self.id[:10]


def _is_commit_id(text: str) -> bool:
    return 4 <= len(text) <= 64 and all(c in "0123456789abcdef" for c in text)


class History:
    """The git history of one content root.

    Args:
        root: the content root (the work tree).
        git_dir: where the repository lives (created on first use).
    """

    def __init__(self, root: Path, git_dir: Path) -> None:
        self.root = root.resolve()
        self.git_dir = git_dir.resolve()
        self._lock = threading.RLock()
        self._ready = False
        self._versions_cache: tuple[tuple[str, int], tuple[Version, ...]] | None = None

    def _git(self, *args: str, check: bool = True) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.git_dir),
            "GIT_DIR": str(self.git_dir),
            "GIT_WORK_TREE": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
        cmd = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.quotepath=off", *args]
        try:
            done = subprocess.run(
                cmd,
                env=env,
                cwd=self.root,
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HistoryError(f"git {args[0]}: {exc}") from None
        if check and done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip()
            raise HistoryError(f"git {args[0]} failed: {err[:500]}")
        return done.stdout.decode("utf-8", "replace")

    def ensure(self) -> None:
        """Creates the repository (and its first commit) when it does not exist yet."""
        with self._lock:
            if self._ready:
                return
            # watchdog (the hub's watcher of the root, which may hold DATA) warns once per
            # folder git creates under objects/ ("Callback with id ... already exists"); the
            # hub ignores those events anyway, so the warning is noise in its log.
            warnings.filterwarnings(
                "ignore", message="Callback with id", category=RuntimeWarning, module="watchdog"
            )
            if not (self.git_dir / "HEAD").exists():
                self.git_dir.parent.mkdir(parents=True, exist_ok=True)
                self._git("init", "--quiet", "--initial-branch=main")
                exclude = self.git_dir / "info" / "exclude"
                exclude.parent.mkdir(parents=True, exist_ok=True)
                exclude.write_text(".*\n*~\n*.swp\n#*#\n", encoding="utf-8")
            self._ready = True
            if not self._git("rev-parse", "--verify", "-q", "HEAD", check=False).strip():
                self.commit(_("The content root as it first was"), "signage")

    def head(self) -> str | None:
        self.ensure()
        out = self._git("rev-parse", "--verify", "-q", "HEAD", check=False).strip()
        return out or None

    def commit(self, message: str, author: str) -> str | None:
        """Records the tracked folders as they are now; returns the new (or unchanged) head."""
        with self._lock:
            self.ensure()
            present = [t for t in TRACKED if (self.root / t).exists()]
            if present:
                self._git("add", "--all", "--", *present)
            status = self._git("status", "--porcelain", "--", *TRACKED)
            has_head = bool(self._git("rev-parse", "--verify", "-q", "HEAD", check=False))
            if not status.strip() and has_head:
                return self.head()
            safe_author = "".join(c for c in author if c.isprintable() and c not in "<>")[:64]
            self._git(
                "-c",
                f"user.name={safe_author or 'signage'}",
                "-c",
                "user.email=console@signage.invalid",
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                message,
            )
            return self.head()

    def versions(self, limit: int = 100) -> list[Version]:
        """The newest ``limit`` versions, newest first (cached until the branch moves)."""
        self.ensure()
        try:
            tip = (self.git_dir / "refs" / "heads" / "main").read_text().strip()
        except OSError:
            tip = ""
        cached = self._versions_cache
        if tip and cached is not None and cached[0] == (tip, limit):
            return list(cached[1])
        out = self._git("log", f"-n{int(limit)}", "--format=%H%x1f%at%x1f%an%x1f%s%x1e")
        versions = []
        for record in out.split("\x1e"):
            parts = record.strip().split("\x1f")
            if len(parts) == 4:
                versions.append(Version(parts[0], float(parts[1]), parts[2], parts[3]))
        if tip:
            self._versions_cache = ((tip, limit), tuple(versions))
        return versions

    def resolve(self, version: str) -> str:
        if not _is_commit_id(version):
            raise HistoryError(f"{version!r} is not a version id")
        self.ensure()
        out = self._git("rev-parse", "--verify", "-q", f"{version}^{{commit}}", check=False)
        if not out.strip():
            raise HistoryError(f"no version {version}")
        return out.strip()

    def diff(self, version: str) -> str:
        """What ``version`` changed, as a unified diff (binary files named, not shown)."""
        full = self.resolve(version)
        out = self._git("show", "--format=", "--no-color", "--no-ext-diff", full, "--", *TRACKED)
        if len(out) > MAX_DIFF_BYTES:
            out = out[:MAX_DIFF_BYTES] + "\n… (diferencia recortada)\n"
        return out

    def restore(self, version: str, author: str) -> str | None:
        """Writes back the tracked files of ``version`` and records that as a new version."""
        with self._lock:
            full = self.resolve(version)
            self.commit(_(HAND_EDITS), _("server"))
            wanted = set(
                self._git("ls-tree", "-r", "--name-only", full, "--", *TRACKED).split("\n")
            )
            wanted.discard("")
            current = set(self._git("ls-files", "--", *TRACKED).split("\n"))
            current.discard("")
            for name in sorted(wanted):
                target = self._inside(name)
                data = subprocess_bytes(self, f"{full}:{name}")
                try:
                    if target.read_bytes() == data:
                        continue
                except OSError:
                    pass
                atomic_write(target, data)
            for name in sorted(current - wanted):
                target = self._inside(name)
                try:
                    target.unlink()
                except OSError as exc:
                    log.warning("restore: could not remove %s: %s", target, exc)
            return self.commit(_("Restored version {version}").format(version=full[:10]), author)

    def _inside(self, name: str) -> Path:
        target = (self.root / name).resolve()
        if self.root not in target.parents:
            raise HistoryError(f"{name!r} is outside the content root")
        return target


def subprocess_bytes(history: History, spec: str) -> bytes:
    """The raw bytes of ``rev:path`` (``git cat-file blob``)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_DIR": str(history.git_dir),
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(history.git_dir),
    }
    try:
        done = subprocess.run(
            ["git", "cat-file", "blob", spec],
            env=env,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HistoryError(f"git cat-file: {exc}") from None
    if done.returncode != 0:
        raise HistoryError(f"git cat-file {spec}: {done.stderr.decode('utf-8', 'replace')[:300]}")
    return done.stdout
