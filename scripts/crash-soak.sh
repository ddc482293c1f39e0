#!/usr/bin/env bash
# Crash soak: kill `sync` with SIGKILL at KILLS random moments (a fixed
# seed), rerunning it each time, then let it finish; the store must be
# identical to a clean run's, with no duplicate and no missing interval.
# The client's quota is lowered (CLIENT_QPS) so that a sync lasts long
# enough for the kills to land inside it.
#
#   scripts/crash-soak.sh                      # 20 kills, 6 months
#   KILLS=5 MONTHS=1 scripts/crash-soak.sh
set -euo pipefail
source "$(dirname "$0")/lib-soak.sh"
months="${MONTHS:-6}"; kills="${KILLS:-20}"; RANDOM="${SEED:-1128}"
export CLIENT_QPS="${CLIENT_QPS:-40}"
work="$(mktemp -d)"; trap 'kill $sandbox_pid 2>/dev/null || true; rm -rf "$work"' EXIT
from="$(since "$months")"
start_sandbox "$work" --request-log "$work/requests.log"
consents "$work/clean.db"
t0=$(date +%s%N)
sync_until_complete "$work/clean.db" 1 --since "$from" >/dev/null
clean_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
dump "$work/clean.db" >"$work/clean.txt"

consents "$work/crash.db"
landed=0
for i in $(seq "$kills"); do
  # A moment inside the clean run's duration.
  at=$(( RANDOM % (clean_ms > 200 ? clean_ms : 200) ))
  dc "$work/crash.db" sync --since "$from" >>"$work/crash.db.sync.log" 2>&1 &
  p=$!
  sleep "$(printf '0.%03d' $(( at % 1000 )))"; sleep $(( at / 1000 ))
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; landed=$((landed + 1)); fi
  wait "$p" 2>/dev/null || true
done
runs=$(sync_until_complete "$work/crash.db" 3 --since "$from")
dump "$work/crash.db" >"$work/crash.txt"
dups=$(sqlite3 "$work/crash.db" 'SELECT count(*) FROM (SELECT 1 FROM reading GROUP BY usage_point_id, series, start HAVING count(*) > 1)')
echo "readings=$(wc -l <"$work/clean.txt") kills_attempted=$kills kills_landed=$landed clean_sync_ms=$clean_ms final_runs=$runs duplicates=$dups"
if cmp -s "$work/clean.txt" "$work/crash.txt"; then echo "RESULT: identical"; else
  echo "RESULT: DIFFERENT ($(wc -l <"$work/crash.txt") rows vs $(wc -l <"$work/clean.txt"))"; diff "$work/clean.txt" "$work/crash.txt" | head -20; exit 1; fi
