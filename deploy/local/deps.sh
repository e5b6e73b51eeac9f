#!/usr/bin/env bash
# Install everything llmopt needs on Debian 12 that is not already there:
# Debian packages, the Python test venv. Idempotent: a second run does nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

pkgs=(build-essential cmake ninja-build pkg-config git
      librdkafka-dev libavro-dev libpq-dev libcurl4-openssl-dev libjansson-dev
      libcunit1-dev libmicrohttpd-dev libjemalloc-dev
      postgresql-15 postgresql-client-15 postgresql-15-tdigest
      kcat jq clang libclang-rt-14-dev valgrind
      openjdk-17-jdk-headless maven
      python3 python3-venv python3-pip curl procps)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python venv for tests and tools only (the product is C).
venv="${LLMOPT_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import confluent_kafka, fastavro, psycopg, river' 2>/dev/null; then
    echo "deps: creating python venv in $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$root/tests/requirements.txt"
fi
echo "deps: ok"
