#!/usr/bin/env bash
# Runs every check the project keeps: ruff, mypy --strict, then the whole pytest suite
# (Qt offscreen, real hub and nginx on loopback ports, real QR decoding).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
