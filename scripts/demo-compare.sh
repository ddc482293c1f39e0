#!/usr/bin/env bash
# Runs `dataconnect demo` with two binaries (say, before and after a
# refactor) on a frozen day, for each API generation, and compares what
# reached the embedded sandbox (its request log, as a multiset of method,
# path, query and status, with the random `state` masked) and the store
# (`export --format csv`, byte for byte). Exit 0 when both are identical.
#
#   scripts/demo-compare.sh OLD_BINARY NEW_BINARY [WORK_DIR]
#
# Build the old binary from a worktree: `git worktree add /tmp/old REV &&
# (cd /tmp/old && cargo build -p dataconnect-cli)`.
set -euo pipefail
old=$1 new=$2 work=${3:-$(mktemp -d)}
run() { # binary, output folder
  mkdir -p "$2"
  for g in legacy v5 2026; do
    "$1" demo --db "$2/d-$g.db" --out "$2/o-$g" --generation "$g" --quota-per-second 1000 \
      --today 2026-11-30 --request-log "$2/log-$g.jsonl" >"$2/demo-$g.out" 2>&1
    "$1" export --db "$2/d-$g.db" --format csv >"$2/export-$g.csv"
  done
}
requests() { # request log -> sorted lines without time and state, in a file
  python3 -c '
import json, re, sys
rows = []
for line in open(sys.argv[1]):
    j = json.loads(line)
    q = re.sub(r"state=[^&]*", "state=S", j.get("query") or "")
    rows.append(" ".join([j["method"], j["path"] + "?" + q, str(j["status"])]))
print("\n".join(sorted(rows)))' "$1" >"$1.requests"
}
run "$old" "$work/old"
run "$new" "$work/new"
status=0
for g in legacy v5 2026; do
  requests "$work/old/log-$g.jsonl"
  requests "$work/new/log-$g.jsonl"
  if diff "$work/old/log-$g.jsonl.requests" "$work/new/log-$g.jsonl.requests" >"$work/requests-$g.diff"; then
    echo "$g: $(wc -l <"$work/new/log-$g.jsonl") requests, identical"
  else
    echo "$g: requests differ: $work/requests-$g.diff"; status=1
  fi
  if cmp -s "$work/old/export-$g.csv" "$work/new/export-$g.csv"; then
    echo "$g: export of $(($(wc -l <"$work/new/export-$g.csv") - 1)) readings, identical"
  else
    echo "$g: exports differ: $work/old/export-$g.csv $work/new/export-$g.csv"; status=1
  fi
done
exit $status
