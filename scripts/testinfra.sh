#!/usr/bin/env bash
# testinfra.sh starts the servers the scale-out tests run against, on
# loopback only, and is meant to be sourced (scripts/test.sh does):
#
#   source scripts/testinfra.sh && testinfra_start
#   ... tests see VITRINE_TEST_POSTGRES and VITRINE_TEST_S3 ...
#   testinfra_stop
#
# PostgreSQL 15 (Debian's /usr/lib/postgresql/15) is initdb'd into a temp dir
# and run as an unprivileged user (the "postgres" system user when started
# as root); versitygw (installed by scripts/setup.sh) serves a posix backend
# in a temp dir. Both listen on 127.0.0.1 on free ports and are stopped by
# PID. Tests create their own databases and buckets on these servers.

testinfra_pgbin=${VITRINE_PG_BIN:-/usr/lib/postgresql/15/bin}

# testinfra_port prints a TCP port on 127.0.0.1 nobody listens on.
testinfra_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "testinfra: no free port found" >&2
  return 1
}

# testinfra_as runs a command as the unprivileged server user.
testinfra_as() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$testinfra_user" -- "$@"
  else
    "$@"
  fi
}

testinfra_start() {
  # On any failure, stop what did start before reporting it.
  testinfra_start_ || { testinfra_stop; return 1; }
}

testinfra_start_() {
  testinfra_dir=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-testinfra.XXXXXX")
  testinfra_user=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    testinfra_user=postgres
    id "$testinfra_user" >/dev/null 2>&1 || useradd --system --no-create-home "$testinfra_user"
    chown "$testinfra_user" "$testinfra_dir"
  fi

  # PostgreSQL: trust auth on loopback only; fsync off (throwaway data).
  local pgport
  pgport=$(testinfra_port) || return 1
  testinfra_as "$testinfra_pgbin/initdb" -D "$testinfra_dir/pg" -U vitrine --auth=trust -E UTF8 --locale=C.UTF-8 >"$testinfra_dir/initdb.log" 2>&1 \
    || { cat "$testinfra_dir/initdb.log" >&2; return 1; }
  testinfra_as "$testinfra_pgbin/pg_ctl" -D "$testinfra_dir/pg" -l "$testinfra_dir/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -k $testinfra_dir/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null \
    || { cat "$testinfra_dir/pg.log" >&2; return 1; }
  testinfra_pgpid=$(head -1 "$testinfra_dir/pg/postmaster.pid")
  export VITRINE_TEST_POSTGRES="postgres://vitrine@127.0.0.1:$pgport/postgres?sslmode=disable"

  # versitygw with a posix backend; fixed test credentials, loopback only.
  local gw s3port
  gw=$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")
  if [ ! -x "$gw" ]; then
    echo "testinfra: versitygw not found (run scripts/setup.sh)" >&2
    return 1
  fi
  # A copy the unprivileged user can execute (GOPATH/bin may be private).
  cp "$gw" "$testinfra_dir/versitygw" && chmod 755 "$testinfra_dir/versitygw" || return 1
  gw=$testinfra_dir/versitygw
  s3port=$(testinfra_port) || return 1
  mkdir -p "$testinfra_dir/s3" && chown "$testinfra_user" "$testinfra_dir/s3"
  export AWS_ACCESS_KEY_ID=vitrinetest AWS_SECRET_ACCESS_KEY=vitrinetestsecret AWS_REGION=us-east-1
  # The server records its own PID (exec keeps it), so that stop signals
  # the server itself rather than a runuser wrapper.
  ROOT_ACCESS_KEY=$AWS_ACCESS_KEY_ID ROOT_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
    testinfra_as sh -c 'echo $$ >"$1/s3.pid"; exec "$1/versitygw" --port "127.0.0.1:$2" posix "$1/s3"' sh "$testinfra_dir" "$s3port" \
    >"$testinfra_dir/s3.log" 2>&1 &
  for _ in $(seq 1 100); do
    [ -s "$testinfra_dir/s3.pid" ] && testinfra_s3pid=$(cat "$testinfra_dir/s3.pid")
    (exec 3<>/dev/tcp/127.0.0.1/$s3port) 2>/dev/null && break
    sleep 0.1
  done
  if ! (exec 3<>/dev/tcp/127.0.0.1/$s3port) 2>/dev/null; then
    cat "$testinfra_dir/s3.log" >&2
    return 1
  fi
  export VITRINE_TEST_S3="s3://vitrine-test?endpoint=http://127.0.0.1:$s3port&region=us-east-1&use_path_style=true"
  echo "testinfra: VITRINE_TEST_POSTGRES=$VITRINE_TEST_POSTGRES (pid $testinfra_pgpid)"
  echo "testinfra: VITRINE_TEST_S3=$VITRINE_TEST_S3 (pid $testinfra_s3pid)"
}

testinfra_stop() {
  if [ -n "${testinfra_s3pid:-}" ]; then
    kill "$testinfra_s3pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$testinfra_s3pid" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -n "${testinfra_pgpid:-}" ]; then
    # SIGINT is PostgreSQL's fast shutdown.
    kill -INT "$testinfra_pgpid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$testinfra_pgpid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "${testinfra_dir:-}" ] && rm -rf "$testinfra_dir"
  testinfra_s3pid= testinfra_pgpid= testinfra_dir=
}
