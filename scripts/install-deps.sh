#!/usr/bin/env bash
# Installs everything jobtape needs to build, test and benchmark on Debian 12.
# Idempotent: re-running installs nothing new. Works as root, or through sudo.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  # toolchain
  build-essential g++ cmake ninja-build ccache mold pkg-config git clang-format
  # Boost 1.81 (never libboost-dev: it pulls 1.74 and conflicts)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  # stores
  libsqlite3-dev libpq-dev
  # SHA-256 of API tokens (libcrypto)
  libssl-dev
  # libraries
  prometheus-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libhowardhinnant-date-dev tzdata
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # the PostgreSQL server the contract suite runs against
  postgresql-15 postgresql-client-15
  # tools used by tests and the quick start; python3-yaml turns
  # docs/openapi.yaml into the server's /openapi.json at build time
  curl procps python3-yaml
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
