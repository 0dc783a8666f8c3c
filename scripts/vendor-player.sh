#!/usr/bin/env bash
# Refreshes the third-party browser code the player serves from
# web/player/static/vendor: the hls.js build pinned (version and integrity)
# by web/player/package.json and package-lock.json. To move to another
# version: change package.json, run `npm install --package-lock-only
# --ignore-scripts` in web/player, then this script, and commit all three.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/web/player/package.json" "$root/web/player/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
dst="$root/web/player/static/vendor"
mkdir -p "$dst"
cp "$work/node_modules/hls.js/dist/hls.light.min.mjs" "$dst/hls.light.min.mjs"
cp "$work/node_modules/hls.js/LICENSE" "$dst/hls.js.LICENSE"
echo "vendored hls.js $(node -p "require('$work/node_modules/hls.js/package.json').version") into web/player/static/vendor"
