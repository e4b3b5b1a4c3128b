#!/usr/bin/env bash
# Runs every check the project keeps: ruff, mypy --strict, the import-linter contracts
# (pyproject.toml: layers, no circles, private modules), then the whole pytest suite, slow
# tests included (Qt offscreen, real hub and nginx on loopback ports, real QR decoding).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
