"""setup.sh installs every Debian package Qt's xcb and wayland plugins link against.

The real check reads the installed PySide6 wheel's plugins with ``ldd``, asks ``dpkg -S``
for each library's package and dpkg's status for what setup.sh's packages pull in. The
unit checks prove the check can fail: a package taken out of the parsed list, or a library
the loader cannot find, is reported.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "display_libs", REPO / "tools" / "display_libs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["display_libs"] = module
    spec.loader.exec_module(module)
    return module


dl = _load_tool()


@pytest.fixture(scope="module")
def facts() -> tuple[dict[str, list[str]], list[str], list[str], object]:
    plugins = dl.qt_plugin_dir()
    files = dl.plugin_files(plugins)
    names = {f.name for f in files}
    assert "libqxcb.so" in names
    assert any(n.startswith("libqwayland") for n in names), names
    libs = dl.linked_libraries(files, plugins.parent)
    needed, orphans = dl.needed_packages(libs)
    debs = dl.parse_setup_debs(dl.SETUP_SH.read_text(encoding="utf-8"))
    return needed, orphans, debs, dl.installed_status()


def test_setup_sh_installs_what_the_display_plugins_link(facts) -> None:
    needed, orphans, debs, (depends, provides) = facts
    assert orphans == [], f"libraries no Debian package owns (or not found): {orphans}"
    # The libraries Qt 6.5+'s xcb plugin needs, which a fresh Debian does not have.
    assert {"libxcb-cursor0", "libxcb-image0", "libxcb-keysyms1", "libxcb-util1"} <= set(needed)
    assert {"libwayland-client0", "libwayland-cursor0"} <= set(needed)
    missing = dl.uncovered(needed, dl.dependency_closure(debs, depends, provides))
    assert missing == {}, (
        f"scripts/setup.sh does not install {sorted(missing)} (needed by {missing}); "
        "add them to its DEBS list"
    )


def test_removing_a_package_from_the_list_fails(facts) -> None:
    needed, _orphans, debs, (depends, provides) = facts
    for pkg in ("libxcb-cursor0", "libxcb-keysyms1"):  # nothing else in the list pulls them
        assert pkg in debs
        fewer = [d for d in debs if d != pkg]
        missing = dl.uncovered(needed, dl.dependency_closure(fewer, depends, provides))
        assert list(missing) == [pkg]
        assert missing[pkg]  # names the library that needs it
    # the list as it was before issue 18: the four a fresh Debian lacks are all reported
    fresh = {"libxcb-cursor0", "libxcb-image0", "libxcb-keysyms1", "libxcb-util1"}
    old = [d for d in debs if d not in fresh]
    assert set(dl.uncovered(needed, dl.dependency_closure(old, depends, provides))) == fresh


def test_a_dependency_of_a_listed_package_counts() -> None:
    depends = {
        "cage": [["libwlroots10"], ["libc6"]],
        "libwlroots10": [["libxcb-render0", "libxcb1"], ["libgbm"]],
        "libxcb-render0": [["libxcb1"]],
        "libxcb1": [["libc6"]],
        "libc6": [],
        "libgbm1": [],
        "mesa": [],
    }
    provides = {"libgbm": {"libgbm1"}}
    closure = dl.dependency_closure(["cage"], depends, provides)
    assert closure == {"cage", "libwlroots10", "libxcb-render0", "libxcb1", "libc6", "libgbm1"}
    needed = {"libgbm1": ["libgbm.so.1"], "mesa": ["libGL.so.1"]}
    assert dl.uncovered(needed, closure) == {"mesa": ["libGL.so.1"]}


def test_parsers() -> None:
    text = (
        "DEBS=(\n  # a comment libfake\n  libegl1 libgl1  # trailing libnot\n  cage\n)\n"
        "missing=()\n"
    )
    assert dl.parse_setup_debs(text) == ["libegl1", "libgl1", "cage"]
    with pytest.raises(ValueError, match="DEBS"):
        dl.parse_setup_debs("echo nothing\n")
    ldd = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibxcb-cursor.so.0 => not found\n"
        "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f70)\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f70)\n"
    )
    assert dl.parse_ldd(ldd) == [
        dl.Linked("libxcb-cursor.so.0", None),
        dl.Linked("libxcb.so.1", "/lib/x86_64-linux-gnu/libxcb.so.1"),
    ]
    # a library the loader cannot find has no package: reported, not skipped
    needed, orphans = dl.needed_packages([dl.Linked("libxcb-cursor.so.0", None)])
    assert needed == {}
    assert orphans == ["libxcb-cursor.so.0 (not found)"]
    status = "libx\tlibx-virt\t, libc6:amd64 (>= 2.34), libz1 | zlib1g\nlibc6\t\t, \n"
    deps, prov = dl.parse_dpkg_status(status)
    assert deps == {"libx": [["libc6"], ["libz1", "zlib1g"]], "libc6": []}
    assert prov == {"libx-virt": {"libx"}}
    search = "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\nlibc6:amd64, libc6:i386: /usr/share/x\n"
    assert dl.parse_dpkg_search(search) == {"/lib/x86_64-linux-gnu/libc.so.6": "libc6"}
