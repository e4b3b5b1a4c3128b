"""Remote data: fetched by the publisher from a real local HTTPS server whose CA the test
made (trusted through ``--ca-file``), published as a signed content-addressed asset with its
date, and every bad answer refused by name while the last good data keeps being published."""

from __future__ import annotations

import hashlib
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signage.data.remote import FetchError, RemoteData, fetch, tls_context
from signage.feed.publish import publish
from tests.helpers_tls import https_server, make_ca, server_cert

GOOD = "mes,encuestas\nseptiembre,1.120\noctubre,1.240\nnoviembre,1.312\n"
T0 = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)

PLAYLIST = """\
name: Resultados
slides:
  - id: encuestas
    data:
      url: {url}
      refresh: 1h
      chart: bar
      title: Encuestas respondidas
      label: mes
      values: encuestas
"""


class Answers:
    """What the test server answers at /datos.csv, changed by the test between fetches."""

    def __init__(self) -> None:
        self.status = 200
        self.type = "text/csv; charset=utf-8"
        self.body = GOOD.encode()

    def __call__(self, handler: Any) -> tuple[int, dict[str, str], bytes]:
        return self.status, {"Content-Type": self.type}, self.body


@pytest.fixture
def ca(tmp_path: Path) -> Any:
    return make_ca(tmp_path / "pki")


@pytest.fixture
def server(tmp_path: Path, ca: Any) -> Iterator[tuple[str, Answers]]:
    answers = Answers()
    with https_server(server_cert(tmp_path / "pki", ca), {"/datos.csv": answers}) as (port, _):
        yield f"https://127.0.0.1:{port}/datos.csv", answers


def _root(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "resultados.yaml").write_text(PLAYLIST.format(url=url))
    return root


def _served(out: Path) -> tuple[dict[str, Any], bytes | None]:
    """The published data slide and the bytes of the data asset it names (or None)."""
    manifest = json.loads((out / "feed.json").read_bytes())
    (slide,) = manifest["playlists"][0]["slides"]
    if not slide["source"]:
        return slide, None
    entry = manifest["assets"][slide["source"]]
    blob = (out / "assets" / entry["sha256"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == entry["sha256"]
    return slide, blob


def test_data_from_an_https_server_the_org_ca_signs_is_published_with_its_date(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    url, _ = server
    out = tmp_path / "feed"
    remote = RemoteData(tmp_path / "datos", ca_file=ca.pem)
    result = publish(_root(tmp_path, url), out, None, now=T0, remote=remote)
    assert result.data_problems == ()
    slide, blob = _served(out)
    assert blob == GOOD.encode()
    assert slide["source"].startswith("datos-remotos/") and slide["source"].endswith(".csv")
    assert slide["data"]["as_of"] == "2026-11-28"  # 15:00 UTC is 10:00 in Bogotá
    assert slide["data"]["url"] == url


def test_without_the_org_ca_the_certificate_is_refused_and_nothing_is_shown(
    tmp_path: Path, server: tuple[str, Answers]
) -> None:
    url, _ = server
    remote = RemoteData(tmp_path / "datos")  # system CAs only
    result = publish(_root(tmp_path, url), tmp_path / "feed", None, now=T0, remote=remote)
    assert len(result.data_problems) == 1
    assert "certificate not trusted" in result.data_problems[0]
    assert "--ca-file" in result.data_problems[0]
    slide, blob = _served(tmp_path / "feed")
    assert blob is None and slide["source"] == ""  # screens skip it; nothing false is shown


def test_plain_http_is_refused_before_any_connection(ca: Any) -> None:
    with pytest.raises(FetchError, match=r"only https:// data is fetched \(plain http"):
        fetch("http://127.0.0.1:9/datos.csv", context=tls_context(ca.pem))


def _bomb() -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("status", "ctype", "body", "reason"),
    [
        (500, "text/csv", b"boom", "the server answered 500 Internal Server Error"),
        (200, "text/html; charset=utf-8", b"<h1>Ingrese</h1>", "answered an HTML page"),
        (200, "text/csv", b"mes,otra\noctubre,1\n", "has no column 'encuestas'"),
        (200, "text/csv", b"mes,encuestas\noctubre,muchas\n", "line 2, column 'encuestas'"),
        (200, "application/json", _bomb(), "JSON nested 100000 levels deep"),
        (200, "image/png", b"\x89PNG", "answered image/png, not CSV or JSON"),
        (302, "text/plain", b"", "redirects to"),
    ],
)
def test_each_bad_answer_is_refused_by_name_and_the_last_good_data_stays(  # noqa: PLR0917
    tmp_path: Path,
    server: tuple[str, Answers],
    ca: Any,
    status: int,
    ctype: str,
    body: bytes,
    reason: str,
) -> None:
    url, answers = server
    root, out = _root(tmp_path, url), tmp_path / "feed"
    remote = RemoteData(tmp_path / "datos", ca_file=ca.pem)
    publish(root, out, None, now=T0, remote=remote)
    answers.status, answers.type, answers.body = status, ctype, body
    later = T0 + timedelta(days=1, hours=1)  # refresh (1h) is due
    result = publish(root, out, None, now=later, remote=remote)
    assert len(result.data_problems) == 1, result.data_problems
    assert reason in result.data_problems[0]
    assert "still showing the data of 2026-11-28" in result.data_problems[0]
    slide, blob = _served(out)
    assert blob == GOOD.encode()  # the last good data is published again
    assert slide["data"]["as_of"] == "2026-11-28"  # with its own (older) date


@contextmanager
def _endless_server(cert: tuple[Path, Path], announce: bool) -> Iterator[int]:
    """Answers a CSV body of 1 GB (streamed; with or without announcing its length)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            if announce:
                self.send_header("Content-Length", str(1 << 30))
            self.end_headers()
            chunk = b"x,1\n" * 16384
            try:
                for _ in range((1 << 30) // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client hung up, as it should

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("announce", [True, False])
def test_a_one_gigabyte_body_is_refused_after_at_most_a_megabyte(
    tmp_path: Path, ca: Any, announce: bool
) -> None:
    with (
        _endless_server(server_cert(tmp_path / "pki", ca), announce) as port,
        pytest.raises(FetchError, match=r"more than|larger than") as info,
    ):
        fetch(f"https://127.0.0.1:{port}/datos.csv", context=tls_context(ca.pem))
    assert "1048576 bytes" in str(info.value)


def test_refresh_waits_for_its_schedule_and_republishes_only_changed_data(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    url, answers = server
    root, out = _root(tmp_path, url), tmp_path / "feed"
    remote = RemoteData(tmp_path / "datos", ca_file=ca.pem)
    first = publish(root, out, None, now=T0, remote=remote, skip_unchanged=True)
    assert remote.next_due() == T0 + timedelta(hours=1)
    answers.body = GOOD.replace("1.312", "1.400").encode()
    # Not due yet: the old data stays, nothing new is written.
    again = publish(root, out, None, now=T0 + timedelta(minutes=30), remote=remote,
                    skip_unchanged=True)  # fmt: skip
    assert not again.changed and again.version == first.version
    # Due: the new data is fetched and published as a new version.
    fresh = publish(root, out, None, now=T0 + timedelta(hours=1), remote=remote,
                    skip_unchanged=True)  # fmt: skip
    assert fresh.changed and fresh.version > first.version
    assert _served(out)[1] == answers.body
    # Due again with the same data (same day): nothing changes, screens do not sync.
    same = publish(root, out, None, now=T0 + timedelta(hours=2), remote=remote,
                   skip_unchanged=True)  # fmt: skip
    assert not same.changed


def test_the_date_on_the_slide_reads_datos_al(tmp_path: Path) -> None:
    from signage.data.drawing import as_of_text

    assert as_of_text(date(2026, 11, 28)) == "Datos al 28 de noviembre de 2026"


# ----------------------------------------------------------------------------- the hub


def test_the_hub_fetches_reports_keeps_the_last_good_and_pushes_new_data(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    import requests

    from tests.helpers_hub import push_messages, run_hub

    url, answers = server
    root = _root(tmp_path, url)
    extra = ["--ca-file", str(ca.pem), "--keepalive", "1"]
    with run_hub(data=tmp_path / "hubdata", root=root, extra_args=extra) as hub:
        auth = {"Authorization": f"Bearer {hub.token}"}
        status = requests.get(hub.url + "/api/v1/feed", timeout=5).json()
        assert status["last_error"] is None
        first = status["version"]
        _, blob = _served(hub.feed_dir)
        assert blob == GOOD.encode()
        # The source answers a login page: refused, reported, the last good data stays.
        answers.type, answers.body = "text/html", b"<form>Ingrese</form>"
        done = requests.post(hub.url + "/api/v1/data/refresh", headers=auth, timeout=15).json()
        assert done["version"] == first
        assert any("answered an HTML page" in p for p in done["problems"])
        status = requests.get(hub.url + "/api/v1/feed", timeout=5).json()
        assert "remote data:" in status["last_error"]
        assert "answered an HTML page" in status["last_error"]
        sources = requests.get(hub.url + "/api/v1/data", headers=auth, timeout=5).json()
        assert sources["sources"][0]["error"].startswith(url)
        assert sources["sources"][0]["good_at"] is not None
        assert _served(hub.feed_dir)[1] == GOOD.encode()
        assert "answered an HTML page" in hub.stderr_path.read_text()
        # Good new data: a new version, announced on the push channel.
        answers.type, answers.body = "text/csv", GOOD.replace("1.312", "1.500").encode()
        with requests.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10)) as r:
            messages = push_messages(r)
            assert next(m for m in messages if not m.comment).version() == first
            requests.post(hub.url + "/api/v1/data/refresh", headers=auth, timeout=15)
            pushed = next(m for m in messages if not m.comment)
        assert pushed.version() > first
        assert _served(hub.feed_dir)[1] == answers.body
        assert requests.get(hub.url + "/api/v1/feed", timeout=5).json()["last_error"] is None


# ----------------------------------------------------------------------------- ticker news

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Intranet OAI</title>
<item><title>Nueva versión de la intranet</title><pubDate>Fri, 27 Nov 2026 09:00:00 -0500</pubDate></item>
<item><title><![CDATA[Firma <b>digital</b> en todas las dependencias]]></title><pubDate>Sat, 28 Nov 2026 08:00:00 -0500</pubDate></item>
<item><title>Noticia vieja</title><pubDate>Mon, 02 Nov 2026 09:00:00 -0500</pubDate></item>
<item><title>Mantenimiento del correo el domingo</title><pubDate>Thu, 26 Nov 2026 18:00:00 -0500</pubDate></item>
</channel></rss>
"""  # noqa: E501
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Noticias</title><id>urn:x</id>
<updated>2026-11-28T10:00:00Z</updated>
<entry><title>Atom: jornada de ciberseguridad</title><id>urn:1</id><updated>2026-11-28T10:00:00Z</updated></entry>
</feed>
"""  # noqa: E501

NEWS_PLAYLIST = """\
name: Noticias
ticker:
  - "Mesa de ayuda: extensión 4444"
  - feed: {url}
    count: 2
    max_age: 7d
  - "La OAI nunca te pedirá tu contraseña"
slides:
  - id: bienvenida
    text:
      title: Hola
"""


def _ticker(out: Path) -> list[str]:
    ticker: list[str] = json.loads((out / "feed.json").read_bytes())["playlists"][0]["ticker"]
    return ticker


@pytest.mark.parametrize(
    ("doc", "ctype"), [(RSS, "application/rss+xml"), (ATOM, "application/atom+xml")]
)
def test_ticker_news_from_a_real_rss_or_atom_server_newest_first_counted_and_aged(
    tmp_path: Path, ca: Any, doc: str, ctype: str
) -> None:
    answers = Answers()
    answers.type, answers.body = ctype, doc.encode()
    with https_server(server_cert(tmp_path / "pki", ca), {"/noticias": answers}) as (port, _):
        url = f"https://127.0.0.1:{port}/noticias"
        root = tmp_path / "root"
        (root / "playlists").mkdir(parents=True)
        (root / "playlists" / "n.yaml").write_text(NEWS_PLAYLIST.format(url=url))
        out = tmp_path / "feed"
        remote = RemoteData(tmp_path / "datos", ca_file=ca.pem)
        result = publish(root, out, None, now=T0, remote=remote)
        assert result.data_problems == ()
        first = _ticker(out)
        # The source breaks: a 500, then an HTML page: the last good headlines stay.
        for status, kind, body, reason in (
            (500, ctype, b"x", "answered 500"),
            (200, "text/html", b"<h1>login</h1>", "answered an HTML page"),
            (200, ctype, b"<html><body>no feed</body></html>", "not an RSS or Atom feed"),
        ):
            answers.status, answers.type, answers.body = status, kind, body
            remote.force_next()
            result = publish(root, out, None, now=T0 + timedelta(hours=1), remote=remote)
            assert len(result.data_problems) == 1 and reason in result.data_problems[0]
            assert _ticker(out) == first
    if doc is RSS:
        assert first == [
            "Mesa de ayuda: extensión 4444",
            "Firma digital en todas las dependencias",  # the newest, tags dropped
            "Nueva versión de la intranet",  # count 2; the 2 Nov one is older than 7 days
            "La OAI nunca te pedirá tu contraseña",
        ]
    else:
        assert first[1] == "Atom: jornada de ciberseguridad"
        assert len(first) == 3


# ----------------------------------------------------------------------------- scans

SURVEY = "https://encuestas.example.gov.co/satisfaccion"
SCANS_YAML = f"""\
name: Lobby con encuesta
defaults:
  duration: 5s
slides:
  - id: encuesta
    text:
      title: "¿Cómo te fue con la nueva intranet?"
    qr: {{url: "{SURVEY}", caption: Escanea y opina, track: true}}
  - id: gracias
    data:
      scans: encuesta
      chart: figure
      title: "Gracias por opinar"
      card_caption: "personas opinaron este mes — gracias"
"""


def test_a_slide_says_how_many_people_scanned_the_survey_this_month(tmp_path: Path) -> None:
    import requests

    from signage.data import parse_table, series_of
    from signage.data.drawing import plan
    from signage.model import Chart, DataContent, Theme
    from signage.qr import track_code
    from tests.helpers_hub import make_content_root, run_hub

    root = make_content_root(tmp_path / "root", SCANS_YAML)
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        auth = {"Authorization": f"Bearer {hub.token}"}
        slide, blob = _served_slide(hub.feed_dir, "gracias")
        assert blob is not None and blob.endswith(b",0\n")  # nobody yet
        code = track_code("lobby", "encuesta", SURVEY)
        for screen in ("lobby-1", "lobby-1", "sala-2"):
            r = requests.get(f"{hub.url}/q/{code}?s={screen}", allow_redirects=False, timeout=5)
            assert r.status_code == 302
        done = requests.post(hub.url + "/api/v1/data/refresh", headers=auth, timeout=15).json()
        assert done["problems"] == []
        slide, blob = _served_slide(hub.feed_dir, "gracias")
    assert blob is not None
    table = parse_table(blob, slide["source"])
    series = series_of(table, label="periodo", values=["personas"])
    assert series.values == ((3.0,),)
    caption = slide["data"]["card_caption"]
    data = DataContent(
        chart=Chart.FIGURE, title="Gracias", label="periodo", values=("personas",),
        card_caption=caption,
    )  # fmt: skip
    drawing = plan(data, series, Theme(), 1920, 1080, lambda t, px, w: len(t) * px * 0.55)
    assert drawing.texts("figure") == ["3"]
    assert drawing.texts("caption") == ["personas opinaron este mes — gracias"]


def _served_slide(out: Path, slide_id: str) -> tuple[dict[str, Any], bytes | None]:
    manifest = json.loads((out / "feed.json").read_bytes())
    slide = next(s for s in manifest["playlists"][0]["slides"] if s["id"] == slide_id)
    if not slide["source"]:
        return slide, None
    return slide, (out / "assets" / manifest["assets"][slide["source"]]["sha256"]).read_bytes()


def test_signage_publish_says_only_the_hub_counts_scans(tmp_path: Path) -> None:
    from tests.helpers_hub import make_content_root

    root = make_content_root(tmp_path / "root", SCANS_YAML)
    result = publish(root, tmp_path / "feed", None, now=T0)
    assert result.data_problems == (
        "scans: only the hub counts QR scans; publish this content from the hub",
    )


def test_validate_reports_what_each_remote_source_last_answered(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    import subprocess
    import sys

    from tests.helpers_hub import hub_env

    url, answers = server
    root, out = _root(tmp_path, url), tmp_path / "feed"
    remote = RemoteData(tmp_path / "publicador" / "datos-remotos", ca_file=ca.pem)
    publish(root, out, None, now=T0, remote=remote)
    answers.status = 503
    remote.force_next()
    publish(root, out, None, now=T0 + timedelta(hours=2), remote=remote)
    done = subprocess.run(
        [sys.executable, "-m", "signage", "validate", "--root", str(root),
         "--data", str(tmp_path / "publicador" / "datos-remotos")],
        capture_output=True, text=True, env=hub_env(), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # a warning: the last good data still plays
    assert "playlists/resultados.yaml:3:5: warning: remote data: " in done.stdout
    assert "answered 503 Service Unavailable" in done.stdout
    assert "(screens show the data of 2026-11-28)" in done.stdout


def test_the_hub_refreshes_on_the_slides_schedule_and_republishes_only_on_change(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    from signage.feed.signing import generate_key
    from signage.hub.state import Hub, HubConfig

    url, answers = server
    now = [T0]
    data = tmp_path / "hubdata"
    config = HubConfig(root=_root(tmp_path, url), feed_dir=data / "feed", data_dir=data,
                       ca_file=ca.pem)  # fmt: skip
    hub = Hub(config, key=generate_key(), clock=lambda: now[0])
    try:
        first = hub.publish_root("start")
        assert hub.refresh_data() is None  # nothing due yet
        answers.body = GOOD.replace("1.312", "1.999").encode()
        now[0] = T0 + timedelta(minutes=59)
        assert hub.refresh_data() is None  # refresh: 1h is not up
        now[0] = T0 + timedelta(hours=1)
        second = hub.refresh_data()
        assert second is not None and second > first
        assert _served(config.feed_dir)[1] == answers.body
        now[0] = T0 + timedelta(hours=2)
        assert hub.refresh_data() == second  # fetched again, same data: no new version
        assert hub.last_error is None
    finally:
        hub.close()


def test_signage_publish_fetches_with_its_ca_file_and_warns_about_a_broken_source(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    import subprocess
    import sys

    from tests.helpers_hub import hub_env

    url, answers = server
    root = _root(tmp_path, url)

    def run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "signage", "publish", "--root", str(root),
                   "--out", str(out), "--unsigned", *extra]  # fmt: skip
        return subprocess.run(
            command, capture_output=True, text=True, env=hub_env(), timeout=60, check=False
        )

    done = run(tmp_path / "feed", "--ca-file", str(ca.pem))
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    assert _served(tmp_path / "feed")[1] == GOOD.encode()
    # The last good data is kept outside the served folder, where the hub keeps it.
    assert not (tmp_path / "feed" / "datos-remotos").exists()
    assert list((root / ".signage-hub" / "datos-remotos").glob("*.csv"))
    # Not due again (refresh: 1h): nothing is fetched, nothing new is written.
    again = run(tmp_path / "feed", "--ca-file", str(ca.pem), "--if-changed")
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stderr
    # A new publisher folder without the organisation's CA: the certificate is refused.
    untrusted = run(tmp_path / "feed2", "--data", str(tmp_path / "data2"))
    assert untrusted.returncode == 0, untrusted.stderr
    assert "warning: " in untrusted.stderr and "certificate not trusted" in untrusted.stderr
    # A source that answers 500: a warning, and the slide is left out of a new feed.
    answers.status = 500
    broken = run(tmp_path / "feed3", "--ca-file", str(ca.pem), "--data", str(tmp_path / "d3"))
    assert broken.returncode == 0, broken.stderr
    assert "answered 500 Internal Server Error" in broken.stderr
    assert _served(tmp_path / "feed3")[1] is None


def _legacy_store(tmp_path: Path, root: Path, url: str, ca: Any, when: datetime) -> Path:
    """A feed folder as an earlier 'signage publish' left it: its store in FEED/datos-remotos."""
    out = tmp_path / "feed"
    elsewhere = tmp_path / "old-store"
    publish(root, out, None, now=when, remote=RemoteData(elsewhere, ca_file=ca.pem))
    elsewhere.rename(out / "datos-remotos")
    return out


def test_signage_publish_moves_an_old_store_out_of_the_feed_folder_once(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    import subprocess
    import sys

    from signage.commands.serve import ROOT_DATA_NAME
    from signage.data.store import PUBLISHER_DATA
    from tests.helpers_hub import hub_env

    assert PUBLISHER_DATA == ROOT_DATA_NAME  # publish's default is the hub's
    url, answers = server
    root = _root(tmp_path, url)
    out = _legacy_store(tmp_path, root, url, ca, T0 - timedelta(days=1))
    kept = sorted(p.name for p in (out / "datos-remotos").iterdir())
    (out / "datos-remotos" / "link.csv").symlink_to("/etc/passwd")  # never followed
    answers.status = 503  # the source is down: only the moved data can be shown

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "signage", "publish", "--root", str(root), "--out", str(out),
             "--unsigned", "--ca-file", str(ca.pem)],
            capture_output=True, text=True, env=hub_env(), timeout=60, check=False,
        )  # fmt: skip

    done = run()
    assert done.returncode == 0, done.stderr
    store = root / ".signage-hub" / "datos-remotos"
    assert f"moved the remote data kept in {out / 'datos-remotos'} to {store}" in done.stderr
    assert not (out / "datos-remotos").exists()
    assert sorted(p.name for p in store.iterdir()) == kept
    slide, blob = _served(out)
    assert blob == GOOD.encode() and slide["data"]["as_of"] == "2026-11-27"  # last good kept
    assert "answered 503" in done.stderr
    again = run()  # once: nothing left to move, nothing said
    assert again.returncode == 0 and "moved the remote data" not in again.stderr


def test_the_newer_good_data_wins_when_both_stores_have_a_url(
    tmp_path: Path, server: tuple[str, Answers], ca: Any
) -> None:
    from signage.data.store import default_store, move_legacy_store

    url, answers = server
    root = _root(tmp_path, url)
    out = _legacy_store(tmp_path, root, url, ca, T0 - timedelta(days=2))  # older, GOOD
    answers.body = GOOD.replace("1.312", "1.999").encode()
    store = default_store(root)
    publish(root, tmp_path / "other", None, now=T0, remote=RemoteData(store, ca_file=ca.pem))
    assert move_legacy_store(out, store) == 0  # the store's own data is newer: kept
    assert not (out / "datos-remotos").exists()
    (body,) = store.glob("*.csv")
    assert b"1.999" in body.read_bytes()
    # The other way round: the old folder's data is newer and replaces the store's.
    answers.body = GOOD.encode()
    out2 = tmp_path / "feed2"
    newer = tmp_path / "newer"
    publish(root, out2, None, now=T0 + timedelta(days=1), remote=RemoteData(newer, ca_file=ca.pem))
    newer.rename(out2 / "datos-remotos")
    assert move_legacy_store(out2, store) == 2
    assert b"1.312" in body.read_bytes()


def test_a_store_inside_the_feed_folder_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    from signage.errors import FeedError
    from tests.helpers_hub import hub_env, make_content_root

    root = make_content_root(tmp_path / "root")
    out = tmp_path / "feed"
    done = subprocess.run(
        [sys.executable, "-m", "signage", "publish", "--root", str(root), "--out", str(out),
         "--unsigned", "--data", str(out / "privado")],
        capture_output=True, text=True, env=hub_env(), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "inside --out" in done.stderr, done.stderr
    assert not out.exists()
    with pytest.raises(FeedError, match="inside the feed folder"):
        publish(root, out, None, now=T0, remote=RemoteData(out / "x" / "datos-remotos"))
