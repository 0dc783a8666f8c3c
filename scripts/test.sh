#!/usr/bin/env bash
# test.sh installs what the tests need (scripts/setup.sh), then runs go vet
# and every test of the module, then every fuzz target for a bounded time
# (VITRINE_FUZZTIME, default 10s; 0 skips fuzzing), printing one line per
# test and a final "N passed, N failed, N skipped". Exits non-zero on any
# failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash scripts/setup.sh

export VITRINE_ORT_LIB=${VITRINE_ORT_LIB:-$repo/.deps/onnxruntime/libonnxruntime.so.1}
if [ -z "${VITRINE_MODELS:-}" ] && [ -d "$repo/../shared/models" ]; then
  export VITRINE_MODELS=$(cd "$repo/../shared/models" && pwd)
fi
if [ -z "${VITRINE_SAMPLES:-}" ] && [ -d "$repo/../shared/data" ]; then
  export VITRINE_SAMPLES=$(cd "$repo/../shared/data" && pwd)
fi
echo "test: VITRINE_ORT_LIB=$VITRINE_ORT_LIB"
echo "test: VITRINE_MODELS=${VITRINE_MODELS:-(unset: model tests skip)}"
echo "test: VITRINE_SAMPLES=${VITRINE_SAMPLES:-(unset: sample tests skip)}"

# PostgreSQL and an S3 server on loopback for the scale-out tests; stopped
# by PID on exit.
source scripts/testinfra.sh
summary=$(mktemp -d)
trap 'rm -rf "$summary"; testinfra_stop' EXIT
testinfra_start

echo "== go vet ./..."
go vet ./...

echo "== go test ./..."
go build -o "$summary/testsummary" ./scripts/testsummary
# After the tests, every Go fuzz target (Fuzz* in any package) runs for
# VITRINE_FUZZTIME (default 10s) on top of its seed corpus and the
# crashers kept in testdata/fuzz; the results count in the same summary.
fuzztime=${VITRINE_FUZZTIME:-10s}
fuzz_all() {
  go test -list '^Fuzz' ./... 2>/dev/null | awk '
    /^Fuzz/ { t[n++] = $1; next }
    /^ok / { for (i = 0; i < n; i++) print $2, t[i]; n = 0; next }
    { n = 0 }'
}
# fuzz_one runs one target. Go's fuzz coordinator before Go 1.27 can end a
# run that found nothing with "context deadline exceeded" at the -fuzztime
# boundary (golang/go#75804); such a run (a real finding prints "Failing
# input") is run once more rather than reported as a failure.
fuzz_one() {
  local pkg=$1 target=$2 out
  out=$(go test -json -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
  if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input' <<<"$out"; then
    echo "== fuzz $pkg $target: the fuzzer hit its own deadline; running it again" >&2
    out=$(go test -json -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
  fi
  printf '%s\n' "$out"
}
set +e
{
  go test -json -count=1 -timeout 45m ./... 2>&1
  if [ "$fuzztime" != "0" ]; then
    fuzz_all | while read -r pkg target; do
      echo "== fuzz $pkg $target ($fuzztime)" >&2
      fuzz_one "$pkg" "$target"
    done
  fi
} | "$summary/testsummary"
rc=${PIPESTATUS[1]}
set -e
exit "$rc"
