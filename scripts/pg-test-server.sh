#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for the store contract suite.
#
#   eval "$(bash scripts/pg-test-server.sh start)"   # exports JOBTAPE_TEST_PG_DSN
#   bash scripts/pg-test-server.sh status
#   bash scripts/pg-test-server.sh stop              # stops it and deletes the cluster
#
# The cluster lives in $JOBTAPE_PG_DIR (default: /tmp/jobtape-pg-<hash of this
# checkout's path>, so two checkouts never share a server and the socket path
# stays short). It listens on 127.0.0.1 at a free port and on a unix socket in
# that directory, trusts local connections, and has a database `jobtape_test`.
# fsync is off: the data is thrown away, only speed matters.
#
# Runs as any user. As root, the server runs as the `postgres` user (PostgreSQL
# refuses to run as root) through runuser. `start` is idempotent: when the
# server is already up it only prints the DSN again. Progress goes to stderr;
# stdout carries only the `export JOBTAPE_TEST_PG_DSN=...` line.
set -euo pipefail

PG_BIN="${JOBTAPE_PG_BIN:-/usr/lib/postgresql/15/bin}"
DB_NAME="jobtape_test"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_DIR="/tmp/jobtape-pg-$(printf '%s' "$REPO_ROOT" | md5sum | cut -c1-10)"
PG_DIR="${JOBTAPE_PG_DIR:-$DEFAULT_DIR}"
DATA_DIR="$PG_DIR/data"
PORT_FILE="$PG_DIR/port"
LOG_FILE="$PG_DIR/server.log"

log() { echo "pg-test-server: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Runs a command as the user that owns the cluster.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  [ -f "$DATA_DIR/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

dsn() {
  echo "host=127.0.0.1 port=$(cat "$PORT_FILE") user=postgres dbname=$DB_NAME"
}

# True if nothing listens on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if port_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found"
}

init_cluster() {
  [ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found (run scripts/install-deps.sh)"
  mkdir -p "$PG_DIR"
  chmod 0755 "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user (is postgresql-15 installed?)"
    chown postgres:postgres "$PG_DIR"
  fi
  if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
    log "initdb in $DATA_DIR"
    as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 --no-instructions >"$PG_DIR/initdb.log" 2>&1 ||
      die "initdb failed, see $PG_DIR/initdb.log"
  fi
}

start_server() {
  local port
  for attempt in 1 2 3 4 5; do
    port="$(pick_port)"
    log "starting on 127.0.0.1:$port (try $attempt)"
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 start \
      -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null 2>&1; then
      echo "$port" >"$PORT_FILE"
      return 0
    fi
    # Most likely another process took the port between the check and bind.
    tail -n 5 "$LOG_FILE" >&2 2>/dev/null || true
  done
  die "server did not start, see $LOG_FILE"
}

create_db() {
  local port exists
  port="$(cat "$PORT_FILE")"
  exists="$(as_pg "$PG_BIN/psql" -h "$PG_DIR" -p "$port" -U postgres -d postgres -XAtq \
    -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")"
  if [ "$exists" != "1" ]; then
    as_pg "$PG_BIN/createdb" -h "$PG_DIR" -p "$port" -U postgres "$DB_NAME"
  fi
}

cmd_start() {
  if is_running && [ -f "$PORT_FILE" ]; then
    log "already running in $PG_DIR"
  else
    init_cluster
    start_server
  fi
  create_db
  log "ready: $(dsn)"
  echo "export JOBTAPE_TEST_PG_DSN='$(dsn)'"
}

cmd_stop() {
  if is_running; then
    log "stopping"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null
  fi
  # Only ever delete a directory this script made: it holds our data dir.
  if [ -d "$PG_DIR" ] && { [ -f "$DATA_DIR/PG_VERSION" ] || [ -f "$PORT_FILE" ] ||
    [ -f "$PG_DIR/initdb.log" ]; }; then
    rm -rf "$PG_DIR"
  fi
  log "stopped"
}

cmd_status() {
  if is_running && [ -f "$PORT_FILE" ]; then
    echo "running: $(dsn)"
  else
    echo "not running"
    return 3
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  dsn) dsn ;;
  *)
    echo "usage: $0 start|stop|status|dsn" >&2
    exit 2
    ;;
esac
