#!/usr/bin/env bash
# demo.sh sets vitrine up and runs its main job on the embedded default
# (SQLite + a directory under ./vitrine-data): it installs the runtime
# dependencies, builds bin/vitrine, starts the server, runs the selftest
# workflow, imports the sample catalog, analyses a sample video, prints the
# admin API key and the URL of the shoppable player demo page, and keeps the
# server running until Ctrl-C. With --once, or when run without a terminal
# (CI, scripts) and without --serve, it stops the server afterwards.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
once=false
[ -t 0 ] || once=true
for a in "$@"; do
  case $a in
    --once) once=true ;;
    --serve) once=false ;;
    *) echo "demo.sh: unknown flag $a (--once or --serve)" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh --runtime-only
echo "demo: building bin/vitrine"
go build -o bin/vitrine ./cmd/vitrine

export VITRINE_DATA_DIR=${VITRINE_DATA_DIR:-$repo/vitrine-data}
export VITRINE_ADDR=${VITRINE_ADDR:-127.0.0.1:8080}
export VITRINE_ORT_LIB=${VITRINE_ORT_LIB:-$repo/.deps/onnxruntime/libonnxruntime.so.1}
mkdir -p "$VITRINE_DATA_DIR"

# The demo keeps its admin key in the data dir so that a second run can
# still print it (vitrine itself stores only a hash).
keyfile=$VITRINE_DATA_DIR/demo-admin.key
if [ -z "${VITRINE_ADMIN_KEY:-}" ]; then
  if [ ! -s "$keyfile" ]; then
    (umask 077; ./bin/vitrine keys create --scope admin --name demo 2>/dev/null > "$keyfile")
  fi
  VITRINE_ADMIN_KEY=$(cat "$keyfile")
fi
export VITRINE_ADMIN_KEY

# Models: from a local copy when there is one (VITRINE_MODELS_FROM, default
# ../shared/models), else downloaded from the manifest's location
# (VITRINE_MODELS_URL names a mirror). Both verify every sha256.
models_from=${VITRINE_MODELS_FROM:-$repo/../shared/models}
if [ -d "$models_from" ]; then
  ./bin/vitrine models install --from "$models_from"
else
  ./bin/vitrine models install
fi
./bin/vitrine models list

log=$VITRINE_DATA_DIR/serve.log
echo "demo: starting vitrine serve on $VITRINE_ADDR (log: $log)"
./bin/vitrine serve 2>"$log" &
server=$!
stop_server() { kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; }
trap stop_server EXIT
trap 'echo; echo "demo: stopping"; stop_server; exit 0' INT TERM

# The server listens only after it owns the data dir and started its workers.
listening() { (exec 3<>"/dev/tcp/${VITRINE_ADDR%:*}/${VITRINE_ADDR##*:}") 2>/dev/null; }
for _ in $(seq 1 150); do
  if listening; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "demo: server exited:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.2
done
listening || { echo "demo: server did not start listening on $VITRINE_ADDR:" >&2; cat "$log" >&2; exit 1; }

# The server owns the data dir, so these run their workflows there and
# follow them to the end.
./bin/vitrine selftest

samples=${VITRINE_SAMPLES:-$repo/../shared/data}
catalog=${VITRINE_DEMO_CATALOG:-$samples/catalog_virgio/products.csv}
video=${VITRINE_DEMO_VIDEO:-$samples/videos/flickd_virgio_reel_2025-05-27.mp4}
for f in "$catalog" "$video"; do
  [ -f "$f" ] || { echo "demo: $f not found (set VITRINE_SAMPLES, or VITRINE_DEMO_CATALOG and VITRINE_DEMO_VIDEO)" >&2; exit 1; }
done
echo "demo: importing the sample catalog $catalog"
./bin/vitrine catalog import "$catalog"
# A second run reuses the video analysed by the first one.
video_id=$(./bin/vitrine video list -n 1000 2>/dev/null | awk -v src="$video" '$2 == "ready" && $NF == src {print $1; exit}')
if [ -z "$video_id" ]; then
  echo "demo: analysing the sample video $video"
  video_id=$(./bin/vitrine video add "$video")
fi
./bin/vitrine video status "$video_id"

cat <<INFO

vitrine is running.
  player demo: http://$VITRINE_ADDR/demo/$video_id
  console:     http://$VITRINE_ADDR/console/   (sign in with the admin key)
  API:         http://$VITRINE_ADDR/v1   (Authorization: Bearer <key>)
  admin key:   $VITRINE_ADMIN_KEY
  workflows:   curl -H "Authorization: Bearer $VITRINE_ADMIN_KEY" http://$VITRINE_ADDR/v1/workflows
  OpenAPI:     http://$VITRINE_ADDR/openapi.yaml
  metrics:     http://$VITRINE_ADDR/metrics
INFO

if $once; then
  echo "demo: done; stopping the server (run with --serve, or from a terminal, to keep it running)"
  exit 0
fi
echo "Press Ctrl-C to stop."
wait "$server"
