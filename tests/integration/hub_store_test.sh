#!/usr/bin/env bash
# The hub's frame transaction against a real PostgreSQL: starts a private server (initdb in a temp dir)
# and runs the cmocka test test_hub_store from the build under test (exactly-once via ingest_log, row
# versions, full-frame deletes, replays, heartbeats, gaps, pruning, the per-cluster write lock, and
# hub_ingest_handle's accept path). Under plain ctest that binary skips itself: it needs this database.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup hub_store
out=$(FL_TEST_DATABASE_URL="$FL_DATABASE_URL" "$BIN/test_hub_store" 2>&1)
rc=$?
check_eq "test_hub_store passes against PostgreSQL" 0 "$rc"
check_contains "test_hub_store ran its tests" "[  PASSED  ]" "$out"
check_eq "no test skipped" 0 "$(grep -c SKIPPED <<<"$out")"
[ "$FL_FAIL" -eq 0 ] || printf '%s\n' "$out" | tail -60
fl_done
