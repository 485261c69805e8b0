#!/usr/bin/env bash
# The test command (README, CI): installs dependencies, starts a throw-away
# PostgreSQL server for the store contract suite, then configures, builds and
# runs every test for each preset in turn, stopping at the first failure.
#
#   bash scripts/test.sh                              # release, asan, tsan
#   JOBTAPE_PRESETS="release" bash scripts/test.sh    # a subset, for local use
#
# Environment:
#   JOBTAPE_PRESETS      space-separated presets (default "release asan tsan")
#   JOBTAPE_JOBS         parallel build and test jobs (default: nproc)
#   JOBTAPE_TEST_PG_DSN  when already set, that server is used and none is started
#   JOBTAPE_SKIP_DEPS=1  skip scripts/install-deps.sh (e.g. offline)
#   JOBTAPE_KEEP_BUILD=1 keep each preset's build tree when CI=true (by default
#                        CI removes it once the preset passes, to save disk)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PRESETS="${JOBTAPE_PRESETS:-release asan tsan}"
# ccache keyed on paths relative to the checkout, so a fresh clone (as in CI)
# reuses objects compiled in any other clone on the same machine.
export CCACHE_BASEDIR="$REPO_ROOT"
export CCACHE_NOHASHDIR=true
JOBS="${JOBTAPE_JOBS:-$(nproc)}"
START_TIME=$SECONDS

header() {
  echo
  echo "==================================================================="
  echo "== $*"
  echo "==================================================================="
}

elapsed() {
  local s=$((SECONDS - $1))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

on_exit() {
  local rc=$?
  if [ "${PG_STARTED:-0}" = "1" ]; then
    bash "$REPO_ROOT/scripts/pg-test-server.sh" stop || true
  fi
  echo
  if [ "$rc" -eq 0 ]; then
    echo "test.sh: all presets passed ($PRESETS) in $(elapsed "$START_TIME")"
  else
    echo "test.sh: FAILED (exit $rc) after $(elapsed "$START_TIME")"
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${JOBTAPE_SKIP_DEPS:-0}" != "1" ]; then
  header "dependencies"
  bash scripts/install-deps.sh
fi

header "PostgreSQL test server"
if [ -n "${JOBTAPE_TEST_PG_DSN:-}" ]; then
  echo "using the given JOBTAPE_TEST_PG_DSN: $JOBTAPE_TEST_PG_DSN"
else
  PG_STARTED=1
  pg_env="$(bash scripts/pg-test-server.sh start)"
  eval "$pg_env"
  echo "JOBTAPE_TEST_PG_DSN=$JOBTAPE_TEST_PG_DSN"
fi
export JOBTAPE_TEST_PG_DSN

for preset in $PRESETS; do
  phase_start=$SECONDS
  header "$preset: configure"
  cmake --preset "$preset"
  header "$preset: build (-j $JOBS)"
  cmake --build --preset "$preset" -j "$JOBS"
  header "$preset: test (-j $JOBS)"
  ctest --preset "$preset" -j "$JOBS" --no-tests=error
  echo "test.sh: $preset passed in $(elapsed "$phase_start")"
  # CI machines have little disk to spare: a passed preset's tree goes.
  if [ "${CI:-}" = "true" ] && [ "${JOBTAPE_KEEP_BUILD:-0}" != "1" ]; then
    rm -rf "build/$preset"
  fi
done
