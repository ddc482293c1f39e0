#!/usr/bin/env bash
# The README's test command: prepares what the tests need on a fresh
# machine of the `rust-svc` kind, then runs the whole test suite.
# `.ci/run` calls it; a newcomer runs `bash scripts/test.sh`.
# Extra arguments go to `cargo test` (e.g. `bash scripts/test.sh -p dataconnect`).
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL: the tests that need it read DATACONNECT_TEST_PG_URL and fail
# without it (unless DATACONNECT_SKIP_PG=1). The machine kind starts the
# server before the session; start it again if it stopped.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    export DATACONNECT_TEST_PG_URL="${DATACONNECT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
  fi
fi

# Chromium and chromedriver for the browser test of `dataconnect serve`
# (crates/dataconnect-cli/tests/it/browser.rs), which fails without them
# unless DATACONNECT_SKIP_BROWSER=1. Installed only when missing; quietly.
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium and chromium-driver"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version 2>/dev/null || true

# VictoriaMetrics and InfluxDB 1.x for the publish tests
# (crates/dataconnect-cli/tests/it/publish_influx.rs), which start them on
# free ports and stop them. Installed only when missing; the services the
# packages declare are not needed (the tests run the binaries themselves).
# The MQTT tests also start Mosquittos of their own (a broker restart, a TLS
# listener whose certificate openssl makes).
if ! command -v victoria-metrics >/dev/null 2>&1 || ! command -v influxd >/dev/null 2>&1 \
  || ! command -v mosquitto >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  echo "== installing victoria-metrics, influxdb, mosquitto and openssl"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq victoria-metrics influxdb mosquitto openssl >/dev/null
fi
chromedriver --version 2>/dev/null || true

# Without a server, the PostgreSQL tests (store, sync, the 200-meter scale
# test, serve on PostgreSQL) would fail one by one: say it once, here.
# DATACONNECT_SKIP_PG=1 runs the rest, and each skipped test says so;
# DATACONNECT_REQUIRE_PG=1 (CI) refuses to skip.
if [ -z "${DATACONNECT_TEST_PG_URL:-}" ]; then
  if [ "${DATACONNECT_SKIP_PG:-}" = 1 ] && [ "${DATACONNECT_REQUIRE_PG:-}" != 1 ]; then
    echo "!! DATACONNECT_SKIP_PG=1: the PostgreSQL tests are SKIPPED, the PostgreSQL code is not tested" >&2
  else
    echo "no PostgreSQL at 127.0.0.1:5432: start it (pg_ctlcluster 15 main start) or set DATACONNECT_TEST_PG_URL=postgres://USER@HOST:PORT/DB; DATACONNECT_SKIP_PG=1 skips the PostgreSQL tests" >&2
    exit 1
  fi
fi

echo "== tests"
if [ "$#" -gt 0 ]; then
  cargo test --locked "$@"
else
  cargo test --workspace --locked
fi
