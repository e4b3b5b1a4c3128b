"""Test helpers for the hub: start ``python -m signage serve`` as a real subprocess.

Use ``run_hub(...)`` (a context manager) in your own fixture, or the ``hub_server`` fixture
(a small content root served in root mode with a token). Both wait for ``/healthz`` and
always stop the process (SIGTERM, then SIGKILL)::

    @pytest.fixture
    def hub(tmp_path):
        root = make_content_root(tmp_path / "root")
        with run_hub(data=tmp_path / "hubdata", root=root) as running:
            yield running   # .url, .token, .auth, .pubkey, .root, .feed_dir, .data_dir

    def test_something(hub):
        r = requests.post(hub.url + "/api/v1/republish", headers=hub.auth, timeout=5)

``push_messages(response)`` parses the SSE push channel of a ``stream=True`` request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
LISTENING = "signage hub listening on "
PUBKEY = "signage hub public key: "
DEFAULT_TOKEN = "test-token-0123456789"

LOBBY_YAML = """\
name: Lobby de prueba
defaults:
  duration: 5s
slides:
  - id: bienvenida
    text:
      title: "Bienvenidos"
      body: "Oficina Asesora de Informática"
"""


def make_content_root(root: Path, playlist: str = LOBBY_YAML) -> Path:
    """A minimal valid content root: ``playlists/lobby.yaml`` (one text slide), ``assets/``."""
    (root / "playlists").mkdir(parents=True, exist_ok=True)
    (root / "assets").mkdir(exist_ok=True)
    (root / "playlists" / "lobby.yaml").write_text(playlist, encoding="utf-8")
    return root


@dataclass
class RunningHub:
    """A hub subprocess that answered ``/healthz``.

    Args:
        url: base URL, ``http://127.0.0.1:PORT`` (no trailing slash).
        token: the bearer token write endpoints accept (``None``: none configured).
        token_file, key_path: the files given to it (``key_path`` is the generated
            ``DATA/hub-key.pem`` in root mode without ``key``).
        pubkey: the public key the hub printed (base64), ``None`` without a key.
        root, feed_dir, data_dir: its folders.
        screen_token, screen_token_file: the token given as ``--screen-token-file``
            (``None``: none), what screens hold for heartbeats and proof-of-play.
    """

    url: str
    token: str | None
    token_file: Path | None
    key_path: Path | None
    pubkey: str | None
    root: Path | None
    feed_dir: Path
    data_dir: Path
    process: subprocess.Popen[str]
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)
    screen_token: str | None = None
    screen_token_file: Path | None = None

    @property
    def auth(self) -> dict[str, str]:
        """The ``Authorization`` header for write endpoints."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def screen_auth(self) -> dict[str, str]:
        """The ``Authorization`` header a screen sends (the screen token)."""
        return {"Authorization": f"Bearer {self.screen_token}"}

    def stderr(self) -> str:
        """What the hub has logged so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def version(self) -> int:
        """The version ``/healthz`` reports now."""
        r = requests.get(self.url + "/healthz", timeout=5)
        r.raise_for_status()
        return int(r.json()["version"])

    def wait_version(self, above: int, timeout: float = 10.0) -> int:
        """Polls ``/healthz`` until the version is above ``above``; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.version()
            if v > above:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"hub still at version {v} after {timeout}s; stderr:\n{self.stderr()}"
                )
            time.sleep(0.02)


def _drain(stream: IO[str], lines: list[str], first: threading.Event) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        if len(lines) >= 3:
            first.set()
    first.set()


def hub_env(language: str | None = None) -> dict[str, str]:
    """The test process's environment for a ``signage`` subprocess (``language``: its
    ``SIGNAGE_LANGUAGE``, else the suite's English)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if language is not None:
        env["SIGNAGE_LANGUAGE"] = language
    return env


@contextmanager
def run_hub(
    *,
    data: Path,
    root: Path | None = None,
    feed: Path | None = None,
    token: str | None = DEFAULT_TOKEN,
    key: Path | None = None,
    screen_token: str | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
    open_files: int | None = None,
    language: str | None = None,
) -> Iterator[RunningHub]:
    """Starts ``python -m signage serve`` on a free loopback port and yields it running.

    Args:
        data: the hub's ``--data`` folder (created).
        root / feed: what it serves (exactly one).
        token: written to ``data/../token`` and passed as ``--token-file`` (``None``: none).
        key: ``--key`` (root mode generates one in ``data`` when absent).
        screen_token: written to ``data/../DATA.screen-token`` and passed as
            ``--screen-token-file`` (``None``: none).
        extra_args: more ``serve`` flags, e.g. ``["--keepalive", "1"]``.
        timeout: seconds to wait for ``/healthz``.
        open_files: run the hub under ``ulimit -n`` this (soft and hard ``RLIMIT_NOFILE``).
        language: the hub's ``SIGNAGE_LANGUAGE`` (``None``: the suite's English).
    """
    if (root is None) == (feed is None):
        raise ValueError("run_hub needs exactly one of root= or feed=")
    data.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "signage", "serve", "--port", "0", "--data", str(data)]
    args += ["--root", str(root)] if root is not None else ["--feed", str(feed)]
    token_file: Path | None = None
    if token is not None:
        token_file = data.parent / f"{data.name}.token"
        token_file.write_text(token + "\n", encoding="utf-8")
        token_file.chmod(0o600)  # as an operator should; a group/world-readable one is warned
        args += ["--token-file", str(token_file)]
    screen_token_file: Path | None = None
    if screen_token is not None:
        screen_token_file = data.parent / f"{data.name}.screen-token"
        screen_token_file.write_text(screen_token + "\n", encoding="utf-8")
        screen_token_file.chmod(0o600)
        args += ["--screen-token-file", str(screen_token_file)]
    if key is not None:
        args += ["--key", str(key)]
    args += list(extra_args)
    if open_files is not None:  # util-linux prlimit execs the hub: same pid, lower limit
        args = ["prlimit", f"--nofile={open_files}:{open_files}", "--", *args]
    stderr_path = data.parent / f"{data.name}.stderr.log"
    with stderr_path.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=hub_env(language),
            cwd=str(REPO),
        )
    lines: list[str] = []
    first = threading.Event()
    assert proc.stdout is not None
    reader = threading.Thread(target=_drain, args=(proc.stdout, lines, first), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        while not any(line.startswith(LISTENING) for line in lines):
            if proc.poll() is not None or time.monotonic() > deadline:
                reader.join(timeout=1)
                raise AssertionError(
                    f"hub did not start (exit {proc.poll()}); stdout: {lines}; stderr:\n"
                    + stderr_path.read_text(encoding="utf-8", errors="replace")
                )
            first.wait(0.05)
        url = next(line for line in lines if line.startswith(LISTENING))[len(LISTENING) :]
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "hub never answered /healthz; stderr:\n"
                    + stderr_path.read_text(encoding="utf-8", errors="replace")
                )
            time.sleep(0.05)
        pub = next((ln[len(PUBKEY) :] for ln in lines if ln.startswith(PUBKEY)), None)
        feed_dir = feed.resolve() if feed is not None else data.resolve() / "feed"
        key_path = key if key is not None else (data / "hub-key.pem" if root else None)
        yield RunningHub(
            url=url,
            token=token,
            token_file=token_file,
            key_path=key_path,
            pubkey=pub,
            root=root,
            feed_dir=feed_dir,
            data_dir=data,
            process=proc,
            stderr_path=stderr_path,
            stdout_lines=lines,
            screen_token=screen_token,
            screen_token_file=screen_token_file,
        )
    finally:
        stop_process(proc)
        reader.join(timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()


def stop_process(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; reaps the process."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[RunningHub]:
    """A hub serving a small content root (``tmp_path/root``) with a token, keepalive 1 s."""
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, extra_args=["--keepalive", "1"]) as hub:
        yield hub


@dataclass(frozen=True)
class PushMessage:
    """One item read from the push channel: an event (``event``, ``data``) or a comment."""

    event: str
    data: str
    comment: bool = False

    def version(self) -> int:
        return int(json.loads(self.data)["version"])


def push_messages(response: requests.Response) -> Iterator[PushMessage]:
    """Parses a ``stream=True`` response of ``/api/v1/push`` into messages, as they arrive.

    Comments (keep-alives) come out as ``PushMessage("", text, comment=True)``. The read
    timeout of the request bounds each wait. Keep the generator while the channel should
    stay open: when it is garbage-collected the response is closed and the hub drops the
    subscription.
    """
    buffer = ""
    for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event, data, comments = "message", [], []
            for line in block.split("\n"):
                if line.startswith(":"):
                    comments.append(line[1:].strip())
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
            if data:
                yield PushMessage(event, "\n".join(data))
            elif comments:
                yield PushMessage("", "\n".join(comments), comment=True)
