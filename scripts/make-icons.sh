#!/usr/bin/env bash
# Rasterise the app icons (icons/*.svg, drawn for the project) into the PNGs the web app
# manifest and iOS use. Needs rsvg-convert (Debian: apt-get install librsvg2-bin). The PNGs are
# committed, so a build never needs this tool; run it again after editing an SVG.
set -euo pipefail
cd "$(dirname "$0")/.."
rsvg-convert -w 192 -h 192 icons/icon.svg -o public/pwa-192x192.png
rsvg-convert -w 512 -h 512 icons/icon.svg -o public/pwa-512x512.png
rsvg-convert -w 512 -h 512 icons/icon-maskable.svg -o public/maskable-512x512.png
rsvg-convert -w 180 -h 180 icons/icon-maskable.svg -o public/apple-touch-icon-180x180.png
