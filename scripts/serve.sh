#!/usr/bin/env bash
# Quick start: installs dependencies, builds the release preset and starts the
# server on 127.0.0.1:8080 with its data in ./jobtape-data.
#
#   bash scripts/serve.sh [extra arguments for `jobtape serve`]
#
# Environment: JOBTAPE_LISTEN (default 127.0.0.1:8080), JOBTAPE_DATA (default
# ./jobtape-data, relative to the repository root), JOBTAPE_SKIP_DEPS=1.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

LISTEN="${JOBTAPE_LISTEN:-127.0.0.1:8080}"
DATA="${JOBTAPE_DATA:-$REPO_ROOT/jobtape-data}"
BUILD_DIR="build/release"

if [ "${JOBTAPE_SKIP_DEPS:-0}" != "1" ]; then
  bash scripts/install-deps.sh
fi

if ! configure_log="$(cmake --preset release 2>&1)"; then
  echo "$configure_log" >&2
  exit 1
fi

# The server binary comes with the HTTP and CLI layers; until they land there
# is no `jobtape` target, and saying so beats a confusing build error.
targets="$(cmake --build "$BUILD_DIR" --target help)"
if ! grep -q '^jobtape:' <<<"$targets"; then
  cat >&2 <<'MSG'
serve.sh: the `jobtape` server binary does not exist yet.
It arrives with the HTTP layer (src/http/) and the CLI (src/cli/); today the
repository holds the core model, the Store interface and the SQLite store.
Run the tests instead:  bash scripts/test.sh
MSG
  exit 1
fi

cmake --build "$BUILD_DIR" --target jobtape -j "$(nproc)"
mkdir -p "$DATA"
echo "serve.sh: starting jobtape on http://$LISTEN with data in $DATA (Ctrl-C stops it)"
exec "$BUILD_DIR/jobtape" serve --listen "$LISTEN" --data-dir "$DATA" "$@"
