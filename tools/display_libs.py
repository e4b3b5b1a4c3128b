"""Display-libraries room: which Debian packages Qt's xcb and wayland plugins need.

PySide6's wheel ships Qt but not the system libraries its display plugins link against
(libxcb-cursor0 and friends since Qt 6.5). A missing one shows only on a real display:
"Could not load the Qt platform plugin "xcb"" and the player dies. This module reads what
the plugins link (``ldd``, which follows the Qt libraries they pull in), finds each
library's Debian package (``dpkg -S``) and checks that ``scripts/setup.sh`` installs it,
directly or as a dependency of a package in its ``DEBS`` list (``dpkg``'s status).

Run ``python tools/display_libs.py`` to print the packages the plugins need and any that
``setup.sh`` misses (exit 1 then). ``tests/test_display_libs.py`` keeps it so.

The decisions (``parse_setup_debs``, ``parse_ldd``, ``dependency_closure``, ``uncovered``)
are pure functions; the shells around them run ``ldd``, ``dpkg`` and ``dpkg-query``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETUP_SH = REPO / "scripts" / "setup.sh"

# Plugins the player loads to reach a display: X11 (xcb with its GL integrations) and
# Wayland (the platform, its shells, buffer integrations and decorations).
PLUGIN_GLOBS = (
    "platforms/libqxcb.so",
    "platforms/libqwayland*.so",
    "xcbglintegrations/*.so",
    "wayland-shell-integration/*.so",
    "wayland-graphics-integration-client/*.so",
    "wayland-decoration-client/*.so",
)


@dataclass(frozen=True, slots=True)
class Linked:
    """One line of ``ldd``: a library name and where the loader found it (``None``: nowhere)."""

    soname: str
    path: str | None


def parse_setup_debs(text: str) -> list[str]:
    """The package names in setup.sh's ``DEBS=( ... )`` array, comments dropped, in order."""
    match = re.search(r"^DEBS=\((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    if match is None:
        raise ValueError("setup.sh: no DEBS=( ... ) array")
    names: list[str] = []
    for line in match.group(1).splitlines():
        names.extend(line.split("#", 1)[0].split())
    return names


def parse_ldd(text: str) -> list[Linked]:
    """``ldd`` output → the libraries it resolved (or failed to); the vDSO and loader left out."""
    found: list[Linked] = []
    for raw in text.splitlines():
        line = raw.strip()
        if "=>" not in line:
            continue  # the vDSO and the dynamic loader itself: part of libc6
        soname, _, rest = (part.strip() for part in line.partition("=>"))
        if rest.startswith("not found"):
            found.append(Linked(soname, None))
        elif rest.startswith("/"):
            found.append(Linked(soname, rest.split(" (", 1)[0]))
    return found


def parse_dpkg_status(text: str) -> tuple[dict[str, list[list[str]]], dict[str, set[str]]]:
    """``dpkg-query -W -f '${Package}\\t${Provides}\\t${Pre-Depends}, ${Depends}\\n'`` output →
    each installed package's dependencies (a list of alternatives per dependency) and which
    packages provide each virtual name.
    """
    depends: dict[str, list[list[str]]] = {}
    provides: dict[str, set[str]] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0]:
            continue
        name, prov, deps = fields
        for virtual in _names(prov):
            provides.setdefault(virtual, set()).add(name)
        depends[name] = [
            [_bare(alt) for alt in dep.split("|") if _bare(alt)]
            for dep in deps.split(",")
            if dep.strip()
        ]
    return depends, provides


def _bare(spec: str) -> str:
    """``libc6:amd64 (>= 2.34)`` → ``libc6``."""
    return spec.strip().split(" ", 1)[0].split(":", 1)[0]


def _names(field: str) -> list[str]:
    return [_bare(item) for item in field.split(",") if _bare(item)]


def dependency_closure(
    roots: Iterable[str],
    depends: Mapping[str, list[list[str]]],
    provides: Mapping[str, set[str]],
) -> set[str]:
    """Every installed package reachable from ``roots`` through Depends/Pre-Depends.

    Each alternative and each provider of a virtual name that is installed counts: whichever
    dpkg picked, it is there because a root asked for it.
    """
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for alternatives in depends.get(name, []):
            for alt in alternatives:
                todo.extend(p for p in ({alt} | provides.get(alt, set())) if p in depends)
    return seen


def uncovered(needed: Mapping[str, list[str]], covered: set[str]) -> dict[str, list[str]]:
    """The needed packages (→ the libraries that need them) that ``covered`` does not hold."""
    return {pkg: libs for pkg, libs in sorted(needed.items()) if pkg not in covered}


# --- shells -----------------------------------------------------------------------------------


def qt_plugin_dir() -> Path:
    """The installed PySide6 wheel's Qt plugin folder."""
    import PySide6

    return Path(PySide6.__file__).resolve().parent / "Qt" / "plugins"


def plugin_files(plugins: Path) -> list[Path]:
    files: list[Path] = []
    for pattern in PLUGIN_GLOBS:
        files.extend(sorted(plugins.glob(pattern)))
    return files


def linked_libraries(files: Iterable[Path], inside: Path) -> list[Linked]:
    """What ``files`` link against, transitively, minus the libraries shipped under ``inside``."""
    result: dict[str, Linked] = {}
    for path in files:
        done = subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, timeout=60, check=True
        )
        for lib in parse_ldd(done.stdout):
            if lib.path is not None and Path(lib.path).resolve().is_relative_to(inside):
                continue
            result.setdefault(lib.path or f"not found: {lib.soname}", lib)
    return sorted(result.values(), key=lambda lib: lib.soname)


def _dpkg_paths(path: str) -> list[str]:
    """The names dpkg may know a library by: as linked, resolved, with or without usrmerge."""
    real = str(Path(path).resolve())
    names = [path, real]
    for p in (path, real):
        if p.startswith("/usr/lib/"):
            names.append(p.removeprefix("/usr"))
        elif p.startswith("/lib/"):
            names.append("/usr" + p)
    return list(dict.fromkeys(names))


def parse_dpkg_search(text: str) -> dict[str, str]:
    """``dpkg -S PATH...`` output → path → package (``libc6:amd64: /lib/...``)."""
    owners: dict[str, str] = {}
    for line in text.splitlines():
        pkgs, sep, path = line.partition(": ")
        if sep and path.startswith("/") and "," not in pkgs:
            owners[path.strip()] = pkgs.split(":", 1)[0].strip()
    return owners


def needed_packages(libs: Iterable[Linked]) -> tuple[dict[str, list[str]], list[str]]:
    """Package → libraries it provides, and what no package owns (missing or not from dpkg)."""
    libs = list(libs)
    names = {lib.path: _dpkg_paths(lib.path) for lib in libs if lib.path}
    asked = sorted({n for ns in names.values() for n in ns})
    done = subprocess.run(
        ["dpkg", "-S", *asked], capture_output=True, text=True, timeout=60, check=False
    )
    owners = parse_dpkg_search(done.stdout)
    needed: dict[str, list[str]] = {}
    orphans: list[str] = []
    for lib in libs:
        pkg = next((owners[n] for n in names.get(lib.path or "", []) if n in owners), None)
        if pkg is None:
            orphans.append(f"{lib.soname} ({lib.path or 'not found'})")
        else:
            needed.setdefault(pkg, []).append(lib.soname)
    return needed, orphans


def installed_status() -> tuple[dict[str, list[list[str]]], dict[str, set[str]]]:
    done = subprocess.run(
        [
            "dpkg-query",
            "-W",
            "-f",
            "${db:Status-Abbrev}\t${Package}\t${Provides}\t${Pre-Depends}, ${Depends}\n",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    installed = [
        line.split("\t", 1)[1] for line in done.stdout.splitlines() if line.startswith("ii")
    ]
    return parse_dpkg_status("\n".join(installed))


def main() -> int:
    plugins = qt_plugin_dir()
    libs = linked_libraries(plugin_files(plugins), plugins.parent)
    needed, orphans = needed_packages(libs)
    debs = parse_setup_debs(SETUP_SH.read_text(encoding="utf-8"))
    depends, provides = installed_status()
    missing = uncovered(needed, dependency_closure(debs, depends, provides))
    print("packages Qt's display plugins link against:", " ".join(sorted(needed)))
    for pkg, sonames in missing.items():
        print(f"NOT in scripts/setup.sh: {pkg} (for {', '.join(sonames)})")
    for orphan in orphans:
        print(f"no Debian package: {orphan}")
    return 1 if missing or orphans else 0


if __name__ == "__main__":
    sys.exit(main())
