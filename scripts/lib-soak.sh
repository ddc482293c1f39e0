# Shared by the soak scripts: start a sandbox, record consents, sync until
# complete, dump a store. Sourced, not run.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${DATACONNECT_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/dataconnect}"
today="${TODAY:-2026-11-28}"
# Sandbox clients 0 to 7 share 11 meters (consumption, production,
# self-consumption, gaps, a curve not collected); 8 revokes at once and 9
# has no meter, so they are left out of data soaks.
clients="${CLIENTS:-0 1 2 3 4 5 6 7}"
# With those 11, the sandbox's own test meters (PT10M curve, a step changing
# inside each day, null values) and FLEET synthetic `--fleet` meters make 20;
# their consents are recorded with `consent import` (no journey).
own="${OWN_METERS:-90000000000010 90000000000011 90000000000012}"
fleet="${FLEET:-6}"
[ -x "$bin" ] || { echo "no dataconnect binary at $bin: cargo build -p dataconnect-cli" >&2; exit 1; }

# start_sandbox DIR [ARGS…]: starts a sandbox, sets $sandbox_pid and $base.
start_sandbox() {
  local dir="$1"; shift
  "$bin" sandbox --listen 127.0.0.1:0 --today "$today" --quota-per-second 0 --quota-per-hour 0 --fleet "$fleet" "$@" \
    >"$dir/sandbox.out" 2>"$dir/sandbox.err" &
  sandbox_pid=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$dir/sandbox.out" 2>/dev/null && break; sleep 0.1; done
  base="$(head -n1 "$dir/sandbox.out" | sed 's/^listening on //')"
  [ -n "$base" ] || { echo "sandbox did not start: $(cat "$dir/sandbox.err")" >&2; exit 1; }
}

# dc DB ARGS…: the CLI on DB against $base, generation v5, a high quota.
dc() { ( dc_exec "$@" ); }

# dc_exec DB ARGS…: dc, replacing the calling shell with the binary; in
# `dc_exec … &` the background subshell becomes the binary, so $! is its pid
# and a SIGKILL sent there reaches the sync itself (with `dc … &`, $! was a
# subshell and the kill missed the binary).
dc_exec() {
  local db="$1"; shift
  printf 'quota_per_second = %s\nquota_per_hour = 1000000\n' "${CLIENT_QPS:-200}" >"$db.config.toml"
  exec env DATACONNECT_BASE_URL="$base" DATACONNECT_CLIENT_ID=dataconnect-sandbox-client \
  DATACONNECT_CLIENT_SECRET=dataconnect-sandbox-secret DATACONNECT_REDIRECT_URI=http://127.0.0.1:8081/callback \
  DATACONNECT_DB="$db" DATACONNECT_TODAY="$today" DATACONNECT_GENERATION=v5 DATACONNECT_CONFIG="$db.config.toml" \
  HOME="$(dirname "$db")" "$bin" "$@"
}

# consents DB: records the consents of $clients, playing the browser, then
# imports those of $own and of the $fleet first fleet meters.
consents() {
  local db="$1" c url redirect
  for c in $clients; do
    url="$(dc "$db" consent --sandbox-client "$c" 2>/dev/null | head -n1)"
    redirect="$(curl -s -o /dev/null -w '%{redirect_url}' "$url")"
    dc "$db" consent complete --url "$redirect" >/dev/null
  done
  { for c in $own; do echo "$c"; done; [ "$fleet" -eq 0 ] || seq -f '2500000000%04g' 1 "$fleet"; } >"$db.consents.csv"
  if [ -s "$db.consents.csv" ]; then dc "$db" consent import "$db.consents.csv" >/dev/null; fi
}

# sync_until_complete DB MAX ARGS…: reruns sync until exit 0; prints the runs.
sync_until_complete() {
  local db="$1" max="$2" run code; shift 2
  for run in $(seq "$max"); do
    code=0; dc "$db" sync "$@" >>"$db.sync.log" 2>&1 || code=$?
    if [ "$code" -eq 0 ]; then echo "$run"; return 0; fi
  done
  echo "sync did not complete in $max runs (last exit $code)" >&2; return 1
}

# dump DB: every reading, in key order.
dump() {
  sqlite3 "$1" 'SELECT usage_point_id, series, start, "end", quote(value), unit, quote(peak_at) FROM reading ORDER BY 1, 2, 3'
}

# since MONTHS: the day MONTHS months before $today.
since() { date -u -d "$today -$1 month" +%F; }
