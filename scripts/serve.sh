#!/usr/bin/env bash
# Quick start: installs dependencies, builds the release preset and starts the
# server on 127.0.0.1:8080 with its data in ./jobtape-data. Ctrl-C (SIGINT) or
# SIGTERM stops it gracefully; a second one stops it at once.
#
#   bash scripts/serve.sh [extra arguments for `jobtape serve`]
#
# Environment: JOBTAPE_LISTEN (default 127.0.0.1:8080), JOBTAPE_DATA (default
# ./jobtape-data, relative to the repository root), JOBTAPE_KINDS_DIR (the
# job kinds the server runs itself; default ./examples/kinds), JOBTAPE_SKIP_DEPS=1.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

LISTEN="${JOBTAPE_LISTEN:-127.0.0.1:8080}"
DATA="${JOBTAPE_DATA:-$REPO_ROOT/jobtape-data}"
KINDS="${JOBTAPE_KINDS_DIR:-$REPO_ROOT/examples/kinds}"
BUILD_DIR="build/release"

if [ "${JOBTAPE_SKIP_DEPS:-0}" != "1" ]; then
  bash scripts/install-deps.sh
fi

if ! configure_log="$(cmake --preset release 2>&1)"; then
  echo "$configure_log" >&2
  exit 1
fi

cmake --build "$BUILD_DIR" --target jobtape -j "$(nproc)"
mkdir -p "$DATA"
echo "serve.sh: starting jobtape on http://$LISTEN with data in $DATA (Ctrl-C stops it)"
exec "$BUILD_DIR/jobtape" serve --listen "$LISTEN" --data-dir "$DATA" --kinds-dir "$KINDS" "$@"
