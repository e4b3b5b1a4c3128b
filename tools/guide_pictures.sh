#!/usr/bin/env bash
# Regenerates the pictures of docs/guia/ with the product itself: the lobby's contact sheet
# (signage preview --all), a slide as the screen shows it, a text slide with a tag and a
# background picture, and every alert template as the player's alert layer paints it.
# Run from the repository: bash tools/guide_pictures.sh   (needs ImageMagick's convert)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen SIGNAGE_LANGUAGE=es
out=docs/guia/img
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
small() { convert "$1" -resize "${3:-960x960}" -strip -quality 82 "$out/$2"; }

# 1. the whole lobby, every slide, on one sheet (a Tuesday morning)
"$PY" -m signage preview --root . lobby --all --at 2026-12-01T09:00 --out "$work/lobby" >/dev/null
small "$work/lobby/contact-sheet.png" contact-sheet-lobby.jpg 1200x1600
small "$work/lobby/05-lobby-correo-sospechoso.png" diapositiva-infografia.jpg

# 2. a text slide with a category tag and a background picture, and one with a QR
mkdir -p "$work/texto/playlists" "$work/texto/assets"
cp assets/marca/fondo-institucional.png "$work/texto/assets/fondo.png"
cat > "$work/texto/playlists/texto.yaml" <<'YAML'
name: Ejemplo de texto
defaults:
  qr: {url: "https://encuestas.cartagena.gov.co/oai", caption: "¿Cómo te fue? Escanea y opina"}
  qr_on: [text]
slides:
  - id: con-fondo
    qr: false
    text:
      tag: Ciberseguridad
      title: "Detente, verifica, reporta"
      body: "Si un correo te pide tu contraseña, no respondas: repórtalo a la mesa de ayuda, extensión 4444."
      background: assets/fondo.png
  - id: con-qr
    text:
      tag: Tu opinión cuenta
      title: "¿Cómo te atendimos hoy?"
      body: "Cuéntanos en un minuto: escanea el código con la cámara de tu celular."
YAML
cp playlists/settings.yaml "$work/texto/playlists/"
"$PY" -m signage preview --root "$work/texto" texto --out "$work/texto/out" >/dev/null
small "$work/texto/out/01-texto-con-fondo.png" diapositiva-texto-fondo.jpg
small "$work/texto/out/02-texto-con-qr.png" diapositiva-texto-qr.jpg

# 3. every alert template, as a screen shows it
"$PY" tools/render_alerts.py --root . --out "$work/alertas" >/dev/null
for png in "$work"/alertas/*.png; do
  small "$png" "$(basename "${png%.png}").jpg"
done
ls "$out"
