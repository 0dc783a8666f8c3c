#!/usr/bin/env bash
# setup.sh installs what vitrine needs on a fresh Debian/Ubuntu machine and is
# safe to run again: ffmpeg (apt), the ONNX Runtime 1.24.1 shared library (from
# the npm package onnxruntime-node@1.24.1) and, for tests, chromium,
# PostgreSQL 15 and the versitygw S3 server (go install). Pass --runtime-only
# to skip the test-only packages.
set -euo pipefail

ORT_VERSION=1.24.1
repo=$(cd "$(dirname "$0")/.." && pwd)
deps=${VITRINE_DEPS:-$repo/.deps}
runtime_only=false
for a in "$@"; do
  case $a in
    --runtime-only) runtime_only=true ;;
    *) echo "setup.sh: unknown flag $a" >&2; exit 2 ;;
  esac
done

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
if ! $runtime_only; then
  command -v chromium >/dev/null || need+=(chromium)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (apt)"
  sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi

lib=$deps/onnxruntime/libonnxruntime.so.1
if [ ! -f "$lib" ]; then
  echo "setup: fetching ONNX Runtime $ORT_VERSION (npm package onnxruntime-node@$ORT_VERSION)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null && tar -xzf onnxruntime-node-$ORT_VERSION.tgz)
  mkdir -p "$(dirname "$lib")"
  cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib.tmp"
  mv "$lib.tmp" "$lib"
fi
if ! $runtime_only && ! command -v versitygw >/dev/null && [ ! -x "$(go env GOPATH)/bin/versitygw" ]; then
  echo "setup: installing versitygw v1.8.0 (go install)"
  go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
echo "setup: ONNX Runtime at $lib"
echo "setup: ffmpeg $(ffmpeg -version | head -1 | awk '{print $3}')"
