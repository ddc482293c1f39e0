#!/usr/bin/env bash
# Crash soak: kill `sync` with SIGKILL KILLS times, rerunning it each time,
# then let it finish; the store must be identical to a clean run's, with no
# duplicate and no missing interval. Same 20 meters as the chaos soak
# (lib-soak.sh).
#
# The clean sync is timed first. The kill moments are drawn from a fixed
# seed, uniformly inside that duration, and sorted: run k is killed after
# the gap between moments k-1 and k, so all the runs together last no longer
# than one clean sync and each kill lands in a sync that still has work
# (a rerun redoes its token and the windows the kill lost). The client's
# quota is lowered (CLIENT_QPS) so that a sync lasts a few seconds.
#
#   scripts/crash-soak.sh                      # 20 kills, 6 months
#   KILLS=5 MONTHS=1 SEED=7 scripts/crash-soak.sh
set -euo pipefail
source "$(dirname "$0")/lib-soak.sh"
months="${MONTHS:-6}"; kills="${KILLS:-20}"; seed="${SEED:-1128}"; RANDOM="$seed"
export CLIENT_QPS="${CLIENT_QPS:-40}"
work="$(mktemp -d)"; trap 'kill $sandbox_pid 2>/dev/null || true; rm -rf "$work"' EXIT
from="$(since "$months")"
start_sandbox "$work" --request-log "$work/requests.log"
consents "$work/clean.db"
t0=$(date +%s%N)
sync_until_complete "$work/clean.db" 1 --since "$from" >/dev/null
clean_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
dump "$work/clean.db" >"$work/clean.txt"
count() { sqlite3 "$1" 'SELECT count(*) FROM reading' 2>/dev/null || echo 0; }

consents "$work/crash.db"
# 30 random bits per moment (RANDOM has 15), so the draw is uniform over
# durations longer than 32 s too.
moments="$(for _ in $(seq "$kills"); do echo $(( ((RANDOM << 15) | RANDOM) % clean_ms )); done | sort -n)"
landed=0; progressed=0; previous=0; stored=0
for at in $moments; do
  gap=$(( at - previous )); previous=$at
  dc_exec "$work/crash.db" sync --since "$from" >>"$work/crash.db.sync.log" 2>&1 &
  p=$!
  sleep "$(printf '%d.%03d' $(( gap / 1000 )) $(( gap % 1000 )))"
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; landed=$((landed + 1)); fi
  wait "$p" 2>/dev/null || true
  now=$(count "$work/crash.db")
  if [ "$now" -gt "$stored" ]; then progressed=$((progressed + 1)); fi
  stored=$now
done
before_final=$stored
runs=$(sync_until_complete "$work/crash.db" 3 --since "$from")
dump "$work/crash.db" >"$work/crash.txt"
dups=$(sqlite3 "$work/crash.db" 'SELECT count(*) FROM (SELECT 1 FROM reading GROUP BY usage_point_id, series, start HAVING count(*) > 1)')
LC_ALL=C sort "$work/clean.txt" >"$work/clean.sorted"; LC_ALL=C sort "$work/crash.txt" >"$work/crash.sorted"
missing=$(LC_ALL=C comm -23 "$work/clean.sorted" "$work/crash.sorted" | wc -l)
extra=$(LC_ALL=C comm -13 "$work/clean.sorted" "$work/crash.sorted" | wc -l)
echo "meters=$(cut -d'|' -f1 "$work/clean.txt" | sort -u | wc -l) months=$months seed=$seed client_qps=$CLIENT_QPS"
echo "readings=$(wc -l <"$work/clean.txt") clean_sync_ms=$clean_ms kills_attempted=$kills kills_landed_mid_sync=$landed runs_that_stored_something_before_their_kill=$progressed"
echo "stored_before_final_run=$before_final final_runs=$runs duplicates=$dups missing=$missing extra=$extra"
if cmp -s "$work/clean.txt" "$work/crash.txt"; then echo "RESULT: identical"; else
  echo "RESULT: DIFFERENT ($(wc -l <"$work/crash.txt") rows vs $(wc -l <"$work/clean.txt"))"; diff "$work/clean.txt" "$work/crash.txt" | head -20; exit 1; fi
