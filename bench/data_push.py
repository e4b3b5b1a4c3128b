"""Benchmark: remote data fetched by the hub reaching a screen through the push channel.

A real HTTPS data server (a CA made here, trusted by the hub through ``--ca-file``) serves a
CSV; a hub (``signage serve --root``) publishes a data slide of it; a screen's
``FeedSource`` (poll 60 s, so only push can be fast) follows the hub. Each round changes the
CSV, asks the hub to fetch now (``POST /api/v1/data/refresh``) and measures until the
screen's content carries the new bytes. Baseline in the same run: a plain republish with
no fetch (``POST /api/v1/republish``) to the same screen.

Target: fetch-to-screen with push <= 2 s (issue 16).

    .venv/bin/python bench/data_push.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signage.config import PlayerConfig
from signage.events import EventLog
from signage.model import Content, SlideKind
from signage.sources.feed import FeedSource
from tests.helpers_hub import make_content_root, run_hub
from tests.helpers_tls import https_server, make_ca, server_cert

TARGET_S = 2.0
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


def data_bytes(content: Content) -> bytes | None:
    for playlist in content.playlists:
        for slide in playlist.slides:
            if slide.kind is SlideKind.DATA and slide.source:
                path = content.asset_path(slide.source)
                return path.read_bytes() if path is not None else None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    body = {"csv": b"mes,encuestas\noctubre,1.240\nnoviembre,1.300\n"}

    def answer(handler: Any) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/csv"}, body["csv"]

    with tempfile.TemporaryDirectory() as name:
        work = Path(name)
        ca = make_ca(work / "pki")
        with https_server(server_cert(work / "pki", ca), {"/datos.csv": answer}) as (port, _):
            url = f"https://127.0.0.1:{port}/datos.csv"
            root = make_content_root(work / "root", PLAYLIST.format(url=url))
            extra = ["--ca-file", str(ca.pem), "--keepalive", "1"]
            with run_hub(data=work / "hub", root=root, extra_args=extra) as hub:
                assert hub.pubkey is not None
                auth = {"Authorization": f"Bearer {hub.token}"}
                delivered: list[Content] = []
                arrived = threading.Condition()

                def on_content(content: Content) -> None:
                    with arrived:
                        delivered.append(content)
                        arrived.notify_all()

                config = PlayerConfig(
                    screen="bench", feed=hub.url + "/", pubkey=hub.pubkey,
                    cache=work / "cache", poll_s=60,
                )  # fmt: skip
                source = FeedSource(config)
                source.start(on_content, EventLog(None))
                try:
                    deadline = time.monotonic() + 20
                    while not (delivered and source.push_connected):
                        if time.monotonic() > deadline:
                            raise SystemExit("the screen never connected to the hub")
                        time.sleep(0.02)
                    fetched, republished = [], []
                    for i in range(args.rounds):
                        new = f"mes,encuestas\noctubre,1.240\nnoviembre,{1400 + i}\n".encode()
                        body["csv"] = new
                        start = time.perf_counter()
                        requests.post(hub.url + "/api/v1/data/refresh", headers=auth, timeout=15)

                        def has_new(expected: bytes = new) -> bool:
                            return data_bytes(delivered[-1]) == expected

                        with arrived:
                            if not arrived.wait_for(has_new, timeout=10):
                                raise SystemExit(f"round {i}: the new data never reached it")
                        fetched.append(time.perf_counter() - start)
                        before = delivered[-1].version
                        start = time.perf_counter()
                        requests.post(hub.url + "/api/v1/republish", headers=auth, timeout=15)

                        def newer(v: int = before) -> bool:
                            return delivered[-1].version > v

                        with arrived:
                            if not arrived.wait_for(newer, timeout=10):
                                raise SystemExit(f"round {i}: the republish never reached it")
                        republished.append(time.perf_counter() - start)
                        time.sleep(0.2)
                finally:
                    source.stop()
    fetched.sort()
    worst = fetched[-1]
    median, base = statistics.median(fetched), statistics.median(republished)
    print(
        f"fetch-to-screen with push over {args.rounds} rounds: median {median * 1000:.0f} ms, "
        f"max {worst * 1000:.0f} ms"
    )
    print(f"baseline: republish-to-screen (no fetch) median {base * 1000:.0f} ms")
    print(f"ratio: fetch-to-screen / republish-to-screen = {median / base:.2f}x")
    print(f"target max <= {TARGET_S * 1000:.0f} ms {'OK' if worst <= TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
