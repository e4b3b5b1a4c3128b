"""The sync client's refusals in the person's language, and in English where programs read.

A real loopback server offers a feed signed with another key, a replayed older version and
a missing folder (404); ``python -m signage sync --once`` runs in a subprocess with
``SIGNAGE_LANGUAGE=es`` and ``=en`` (and ``signage mirror`` for the first) and the stderr is
compared word for word. The same refusal stays English in ``str(exc)``, ``--json``, the log
and the player's ``feed_rejected`` event whatever the language. ``signage user``'s account
refusals are said in Spanish too.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from signage.config import PlayerConfig
from signage.errors import FeedError
from signage.events import EventLog, read_events
from signage.feed import signing
from signage.feed.errors import ConnectError, ReplayError, SignatureError
from signage.feed.manifest import canonical_json
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import RetryPolicy, SyncClient, Timeouts
from signage.feed.wire import ProtocolError
from signage.i18n import N_, Msg
from signage.sources.feed import FeedSource
from tests.helpers_feed import (
    FeedServer,
    KeyPair,
    make_keypair,
    make_root,
    serve_folder,
    write_asset,
)

REPO = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(attempts=2, base_s=0.01, max_s=0.05)
SHORT = Timeouts(connect=2.0, read=2.0)
MISMATCH_EN = "the signature does not match the manifest and the pinned public key"
MISMATCH_ES = "la firma del feed no coincide con la clave pública de esta pantalla"


class Screen:
    """A served feed folder, its key, and a cache that already holds version 1."""

    def __init__(self, tmp: Path, server: FeedServer, keys: KeyPair) -> None:
        self.tmp, self.server, self.keys = tmp, server, keys
        self.root, self.feed, self.cache = tmp / "root", server.folder, tmp / "cache"
        self.now = datetime.now(UTC)
        self.v1 = 0
        self.log_lines: list[str] = []

    def publish(self) -> int:
        return publish(self.root, self.feed, self.keys.key, now=self.now).version

    def sync_in_process(self) -> str:
        client = SyncClient(self.server.url, Store(self.cache), self.keys.pubkey, retry=FAST)
        try:
            return client.sync_once(self.now).status
        finally:
            client.close()

    def sign_with_another_key(self) -> None:
        doc = json.loads((self.feed / "feed.json").read_bytes())
        doc["version"] += 1
        data = canonical_json(doc)
        (self.feed / "feed.json").write_bytes(data)
        (self.feed / "feed.json.sig").write_text(signing.sign(data, signing.generate_key()))

    def sync(self, lang: str, feed: str | None = None, *extra: str) -> tuple[int, str, str]:
        """``python -m signage sync --once`` in ``lang``: (exit code, stdout, stderr)."""
        return self.run(lang, "sync", "--feed", feed or self.server.url,
                        "--cache", str(self.cache), *extra)  # fmt: skip

    def mirror(self, lang: str) -> tuple[int, str, str]:
        """``python -m signage mirror --once`` into a new folder, in ``lang``."""
        out = self.tmp / f"mirror-{lang}"
        return self.run(lang, "mirror", "--from", self.server.url, "--to", str(out))

    def run(self, lang: str, command: str, *args: str) -> tuple[int, str, str]:
        """``python -m signage COMMAND ARGS --pubkey K --once``: (exit code, stdout, the
        last line of stderr); the lines before it must be English log lines."""
        done = subprocess.run(
            [sys.executable, "-m", "signage", command, *args,
             "--pubkey", self.keys.pubkey, "--once"],
            capture_output=True, text=True, timeout=60, check=False, cwd=self.tmp,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "SIGNAGE_LANGUAGE": lang},
        )  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        # Before the person's line, the log line for IT: English whatever the language.
        *log_lines, said = done.stderr.strip().splitlines()
        assert all("signage.feed" in line for line in log_lines), log_lines
        assert all(not line.startswith("signage ") for line in log_lines), log_lines
        self.log_lines = log_lines
        return done.returncode, done.stdout, said


@pytest.fixture
def screen(tmp_path: Path) -> Iterator[Screen]:
    keys = make_keypair(tmp_path / "keys")
    make_root(tmp_path / "root", n_assets=2, size=3000)
    (tmp_path / "feed").mkdir()
    with serve_folder(tmp_path / "feed") as server:
        s = Screen(tmp_path, server, keys)
        s.v1 = s.publish()
        assert s.sync_in_process() == "updated"
        yield s


def test_a_feed_signed_with_another_key_is_refused_in_each_language(screen: Screen) -> None:
    screen.sign_with_another_key()
    assert screen.sync("es") == (1, "", f"signage sync: rechazado: {MISMATCH_ES}")
    assert screen.log_lines[-1].endswith(f"refused: {MISMATCH_EN}")
    assert screen.sync("en") == (1, "", f"signage sync: rejected: {MISMATCH_EN}")
    assert screen.mirror("es") == (1, "", f"signage mirror: rechazado: {MISMATCH_ES}")
    assert screen.mirror("en") == (1, "", f"signage mirror: rejected: {MISMATCH_EN}")
    # --json is read by programs: English whatever the language.
    code, out, _err = screen.sync("es", None, "--json")
    assert code == 1 and json.loads(out)["reason"] == MISMATCH_EN


def test_a_replayed_older_version_is_refused_in_each_language(screen: Screen) -> None:
    shutil.copytree(screen.feed, screen.tmp / "old-feed")
    write_asset(screen.root, 1, 5000, seed=2)
    v2 = screen.publish()
    assert screen.sync_in_process() == "updated"
    for name in ("feed.json", "feed.json.sig"):
        shutil.copy(screen.tmp / "old-feed" / name, screen.feed / name)
    assert screen.sync("es") == (
        1,
        "",
        f"signage sync: rechazado: la versión {screen.v1} es más antigua que la versión "
        f"aplicada {v2} (¿un feed viejo enviado de nuevo?)",
    )
    assert screen.sync("en") == (
        1,
        "",
        f"signage sync: rejected: version {screen.v1} is older than the applied version {v2} "
        "(a replayed feed?)",
    )


def test_a_missing_feed_is_said_in_each_language(screen: Screen) -> None:
    missing = screen.server.url + "no-such-folder/feed.json"
    # "Not Found" is the server's own reason phrase (its words, shown as sent).
    assert screen.sync("es", missing) == (
        1,
        "",
        "signage sync: falló: el índice del feed (feed.json): el servidor respondió 404 Not Found",
    )
    assert screen.sync("en", missing) == (
        1,
        "",
        "signage sync: failed: manifest: server answered 404 Not Found",
    )


def test_the_refusal_stays_english_in_exceptions_results_and_events(
    screen: Screen, language: Any
) -> None:
    language("es")
    screen.sign_with_another_key()
    data = (screen.feed / "feed.json").read_bytes()
    sig = (screen.feed / "feed.json.sig").read_text()
    with pytest.raises(SignatureError) as refused:
        Store(screen.cache).check(data, sig, pubkey_b64=screen.keys.pubkey, now=screen.now)
    assert str(refused.value) == refused.value.reason == MISMATCH_EN
    assert refused.value.said() == MISMATCH_ES

    log = EventLog(screen.tmp / "events.jsonl")
    config = PlayerConfig(
        screen="s1", feed=screen.server.url, pubkey=screen.keys.pubkey, cache=screen.cache
    )
    source = FeedSource(config, push=False, timeouts=SHORT, retry=FAST)
    source.start(lambda content: None, log)
    deadline = time.monotonic() + 30
    while source.last_result is None and time.monotonic() < deadline:
        time.sleep(0.02)
    source.stop()
    result = source.last_result
    assert result is not None and result.status == "rejected"
    assert result.reason == MISMATCH_EN and result.said() == MISMATCH_ES
    events = read_events(screen.tmp / "events.jsonl")
    rejected = [e["reason"] for e in events if e["event"] == "feed_rejected"]
    assert rejected == [f"rejected: {MISMATCH_EN}"]


def test_keyword_fields_and_placeholders_work_together(language: Any) -> None:
    language("es")
    replay = ReplayError(
        N_("version {version} is already applied with different content"), version=4, trusted=4
    )
    assert (replay.version, replay.trusted) == (4, 4)
    assert str(replay) == "version 4 is already applied with different content"
    assert replay.said() == "la versión 4 ya está aplicada con otro contenido"
    # A text made elsewhere (braces and all) is kept as it is, never formatted.
    plain = FeedError("{not a placeholder}")
    assert str(plain) == plain.said() == "{not a placeholder}"
    # An argument that is itself a message is said in the same language.
    nested = Msg(N_("{what}: server answered {status}"), what=Msg(N_("manifest")), status=503)
    assert str(nested) == "manifest: server answered 503"
    assert nested.said() == "el índice del feed (feed.json): el servidor respondió 503"
    # The HTTP reader's own complaint, inside the connection's.
    broken = ConnectError(
        N_("connection failed: {error}"), error=ProtocolError(N_("an empty response head"))
    )
    assert str(broken) == "connection failed: an empty response head"
    assert broken.said() == "no se pudo conectar: la cabecera de la respuesta está vacía"


def test_user_refusals_in_spanish_and_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from signage import i18n
    from signage.cli import main

    data = str(tmp_path / "datos")
    (tmp_path / "datos").mkdir()

    def run(lang: str, *args: str, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setenv("SIGNAGE_LANGUAGE", lang)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(args))
        return code, capsys.readouterr().err.strip()

    try:
        assert run(
            "es", "user", "add", "ana", "--role", "editor", "--data", data, stdin="corta\n"
        ) == (
            1,
            "signage user: una contraseña necesita al menos 8 caracteres",
        )
        assert run(
            "en", "user", "add", "ana", "--role", "editor", "--data", data, stdin="corta\n"
        ) == (
            1,
            "signage user: a password needs at least 8 characters",
        )
        assert run("es", "user", "remove", "nadie", "--data", data) == (
            1,
            "signage user: no hay ningún usuario llamado 'nadie'",
        )
        assert run(
            "es", "user", "add", "a b", "--role", "editor", "--data", data, stdin="clave-larga-1\n"
        ) == (
            1,
            "signage user: un nombre de usuario solo lleva letras, dígitos y . _ - @",
        )
    finally:
        i18n.set_language("en")
