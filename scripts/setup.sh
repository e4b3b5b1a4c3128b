#!/usr/bin/env bash
# Sets up a fresh Debian machine for signage: the Debian packages Qt, video, web slides,
# nginx tests and the kiosk need (only those missing), then a virtualenv in .venv with the
# package and its test tools. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
  # Qt offscreen/xcb rendering, fonts
  libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
  fonts-dejavu-core fonts-noto-core
  # Qt's xcb platform plugin (X11) since Qt 6.5, and its wayland plugin (cage, Wayland
  # desktops); tests/test_display_libs.py fails when PySide6 needs one that is not here
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0
  libxcb-xkb1 libx11-xcb1 libwayland-client0 libwayland-cursor0 libwayland-egl1
  # QtMultimedia (video) and QtWebEngine (web slides)
  libpulse0 libasound2 libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxkbfile1
  libxshmfence1 libgbm1
  # test videos, a static web server for feeds, curl as a throughput baseline
  ffmpeg nginx-light curl
  # libfaketime: players started with a shifted clock (tests/test_clock_faketime.py)
  faketime
  # the kiosk compositor and systemd-analyze for kiosk.service
  cage xwayland systemd
  # tests on real display servers: an X server, its screenshot and screen-saver tools, and
  # a Wayland screenshot through the compositor (tests/test_display_x11.py, _wayland.py)
  xvfb x11-apps x11-xserver-utils grim
  # the console's tests drive a real browser (Playwright with executable_path); git keeps
  # the console's history of the content root
  chromium git
)
missing=()
for deb in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)" >&2
  $PY -m venv .venv
fi
stamp=.venv/.signage-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
