#!/usr/bin/env bash
# Chaos soak: sync 20 meters over MONTHS months from a sandbox failing
# FAULT_RATE of data and token calls (500, 503, responses held past the
# client's 30 s timeout, bodies cut in the middle), rerunning sync until it
# completes; the store must be identical, row for row, to a fault-free run.
# The 20 meters (lib-soak.sh): the 11 of sandbox clients 0 to 7 through the
# consent journey, and through `consent import` the sandbox's 3 own test
# meters (PT10M curve, a step changing inside each day, null values) and 6
# `--fleet` meters. Prints the faults injected, the calls made (the retries
# are the difference with the fault-free run) and the sync runs needed.
#
#   scripts/chaos-soak.sh                      # 6 months, rate 0.3
#   MONTHS=1 FAULT_RATE=0.5 SEED=7 FLEET=20 scripts/chaos-soak.sh
set -euo pipefail
source "$(dirname "$0")/lib-soak.sh"
months="${MONTHS:-6}"; rate="${FAULT_RATE:-0.3}"; seed="${SEED:-20261128}"
work="$(mktemp -d)"; trap 'kill $sandbox_pid 2>/dev/null || true; rm -rf "$work"' EXIT
from="$(since "$months")"
start=$(date +%s)

start_sandbox "$work" --request-log "$work/clean.log"
consents "$work/clean.db"
sync_until_complete "$work/clean.db" 1 --since "$from" >/dev/null
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null || true
dump "$work/clean.db" >"$work/clean.txt"

start_sandbox "$work" --fault-rate "$rate" --seed "$seed" --request-log "$work/chaos.log"
consents "$work/chaos.db"
runs=$(sync_until_complete "$work/chaos.db" 40 --since "$from")
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null || true
dump "$work/chaos.db" >"$work/chaos.txt"

data() { grep -v -e oauth2 -e subscribed_services "$1" | wc -l; }
faults=$(grep -c '"fault":"' "$work/chaos.log" || true)
for k in 500 503 delay truncate; do printf '%s=%s ' "$k" "$(grep -c "\"fault\":\"$k\"" "$work/chaos.log" || true)"; done; echo
echo "meters=$(cut -d'|' -f1 "$work/clean.txt" | sort -u | wc -l) months=$months rate=$rate seed=$seed"
echo "readings=$(wc -l <"$work/clean.txt") faults_injected=$faults sync_runs=$runs"
echo "data_calls_clean=$(data "$work/clean.log") data_calls_chaos=$(data "$work/chaos.log") all_calls_chaos=$(wc -l <"$work/chaos.log")"
echo "seconds=$(( $(date +%s) - start ))"
if cmp -s "$work/clean.txt" "$work/chaos.txt"; then echo "RESULT: identical"; else
  echo "RESULT: DIFFERENT"; diff "$work/clean.txt" "$work/chaos.txt" | head -20; exit 1; fi
