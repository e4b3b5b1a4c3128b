"""The hub's server pieces: httptools and uvloop when installed, h11/asyncio otherwise or
when SIGNAGE_HUB_PURE asks; a hub started by `signage serve` answers on the chosen ones."""

from __future__ import annotations

import urllib.request

from signage.hub.server_pieces import choose, installed
from tests.helpers_hub import make_content_root, run_hub


def test_the_fast_pieces_are_chosen_when_installed_and_not_forced_off():
    both = frozenset({"httptools", "uvloop"})
    assert choose({}, both) == ("httptools", "uvloop")
    assert choose({}, frozenset()) == ("h11", "asyncio")
    assert choose({}, frozenset({"uvloop"})) == ("h11", "uvloop")
    assert choose({"SIGNAGE_HUB_PURE": "1"}, both) == ("h11", "asyncio")
    assert choose({"SIGNAGE_HUB_PURE": "0"}, both) == ("httptools", "uvloop")


def test_pyproject_pieces_are_installed_here_and_the_hub_serves_on_them(tmp_path):
    assert installed() == {"httptools", "uvloop"}  # runtime dependencies (pyproject)
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "data", root=root) as hub:
        with urllib.request.urlopen(hub.url + "/feed.json", timeout=10) as resp:
            etag = resp.headers["ETag"]
            assert resp.status == 200 and etag
        request = urllib.request.Request(hub.url + "/feed.json", headers={"If-None-Match": etag})
        try:
            urllib.request.urlopen(request, timeout=10)
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 304
