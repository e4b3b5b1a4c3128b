#!/usr/bin/env bash
# Message catalogs: extract the package's messages (babel.cfg), merge them into
# signage/locale/{es,en}/LC_MESSAGES/signage.po, and compile the .mo files that run.
# After editing the Spanish texts in es/.../signage.po run it again (or just `compile`).
# tests/test_i18n.py fails when a message lacks a translation or a .mo is stale.
#   scripts/i18n.sh            extract + update + compile
#   scripts/i18n.sh compile    compile only
# The .po files are written 100 columns wide, as committed, so an update touches only new entries.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
# Babel's output is thrown away below: say so plainly when it is missing rather than do nothing.
"$PY" -c "import babel" 2>/dev/null || {
  echo "scripts/i18n.sh: $PY has no Babel; run it with PYTHON=path/to/venv/bin/python" >&2
  exit 1
}
LOCALES=signage/locale
mkdir -p "$LOCALES"
if [ "${1:-}" != "compile" ]; then
  "$PY" -m babel.messages.frontend extract -F babel.cfg -k N_ -o "$LOCALES/signage.pot" \
    --project=signage --no-location --sort-output --omit-header --width=100 signage >/dev/null 2>&1
  for lang in es en; do
    po="$LOCALES/$lang/LC_MESSAGES/signage.po"
    if [ -f "$po" ]; then
      "$PY" -m babel.messages.frontend update -D signage -i "$LOCALES/signage.pot" -d "$LOCALES" -l "$lang" \
        --no-fuzzy-matching --ignore-obsolete --width=100 >/dev/null 2>&1
    else
      "$PY" -m babel.messages.frontend init -D signage -i "$LOCALES/signage.pot" -d "$LOCALES" -l "$lang" >/dev/null 2>&1
    fi
  done
fi
"$PY" -m babel.messages.frontend compile -D signage -d "$LOCALES" >/dev/null 2>&1
