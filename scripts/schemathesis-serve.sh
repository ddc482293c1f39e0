#!/usr/bin/env bash
# Schemathesis against `dataconnect serve`'s own OpenAPI description
# (GET /api/v1/openapi.json), on a store filled by `dataconnect demo`:
# every operation gets generated requests (valid and invalid), and every
# response must conform to the description, with no 5xx.
#
#   scripts/schemathesis-serve.sh            # 10 examples per operation
#   EXAMPLES=300 scripts/schemathesis-serve.sh
# Needs: `pip install schemathesis`, and the dataconnect binary
# (DATACONNECT_BIN, default target/debug/dataconnect).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${DATACONNECT_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/dataconnect}"
examples="${EXAMPLES:-10}"
seed="${SEED:-20261128}"
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# A store with two meters and their history (no network: the demo runs
# its own sandbox).
"$bin" demo --db "$work/demo.db" --out "$work/charts" --today 2021-01-15 --quota-per-second 1000 >"$work/demo.out" 2>&1 \
  || { echo "dataconnect demo failed: $(cat "$work/demo.out")" >&2; exit 1; }

key="schemathesis-key-$(date +%s%N)"
: >"$work/config.toml"
DATACONNECT_API_KEYS="$key" DATACONNECT_DB="$work/demo.db" DATACONNECT_TODAY=2021-01-15 \
  DATACONNECT_BASE_URL=http://127.0.0.1:9 DATACONNECT_CLIENT_ID=schemathesis DATACONNECT_CLIENT_SECRET=unused \
  DATACONNECT_CONFIG="$work/config.toml" \
  "$bin" serve --listen 127.0.0.1:0 --organisation "Schemathesis" --purpose "Tester l'API." --workers 0 \
  >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" 2>/dev/null && break; sleep 0.1; done
base="$(head -n1 "$work/out" | sed 's/^listening on //')"
[ -n "$base" ] || { echo "serve did not start: $(cat "$work/err")" >&2; exit 1; }

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
echo "== schemathesis: serve's API, $examples examples per operation"
status=0
# Schemathesis keeps a `.schemathesis/` folder in the current directory.
cd "$work"
schemathesis run "$base/api/v1/openapi.json" --url "$base" -H "Authorization: Bearer $key" \
  --max-examples "$examples" --seed "$seed" --phases examples,coverage,fuzzing --no-color --request-timeout 30 \
  --workers 1 --suppress-health-check all --generation-database :memory: --checks "$checks" || status=1
if grep -q '^error' "$work/err"; then
  echo "serve printed errors:" >&2
  grep '^error' "$work/err" >&2
  status=1
fi
echo "== schemathesis: serve done (status $status)"
exit "$status"
