#!/usr/bin/env bash
# The main job on the bundled content: validates the playlists, then plays them.
# With a display: a 1280x720 window (pass --fullscreen for the real thing; Ctrl+C to stop).
# Without one: a headless run of 40 s that writes a PNG of each slide as it is first shown
# and the proof-of-play log, and prints where they are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SIGNAGE=.venv/bin/signage
$SIGNAGE validate --root .
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${1:-}" != "--headless" ]; then
  if [ "${1:-}" = "--fullscreen" ]; then
    exec $SIGNAGE play --root . --screen demo --tags lobby
  fi
  exec $SIGNAGE play --root . --screen demo --tags lobby --window 1280x720
fi
out=out/demo
rm -rf "$out"; mkdir -p "$out"
$SIGNAGE play --root . --screen demo --tags lobby --headless --for "${DEMO_SECONDS:-40}" \
  --snapshots "$out/snapshots" --events "$out/events.jsonl"
# every slide of the lobby, also those its schedule leaves out right now (the 40 s run
# above shows only the first few): the contact sheet is the whole playlist
$SIGNAGE preview --root . lobby --all --out "$out/preview" >/dev/null
echo
echo "snapshots:      $(pwd)/$out/snapshots/ ($(ls "$out/snapshots" | wc -l) PNG files)"
echo "proof of play:  $(pwd)/$out/events.jsonl ($(wc -l < "$out/events.jsonl") events)"
echo "contact sheet:  $(pwd)/$out/preview/contact-sheet.png (every slide of the lobby)"
