# tests/integration/assert.sh — value assertions for the integration tests. Source it after scripts/lib.sh.
# Each check prints "ok - what" or "not ok - what: expected X, got Y"; fl_done prints the tally line
# and returns non-zero if anything failed.

FL_PASS=0
FL_FAIL=0

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then
		FL_PASS=$((FL_PASS + 1))
		echo "ok - $1"
	else
		FL_FAIL=$((FL_FAIL + 1))
		echo "not ok - $1: expected '$2', got '$3'"
	fi
}

# check_num WHAT EXPECTED ACTUAL: equal as JSON numbers (so 12 == 12.0 and 33.300000000000004 matches itself)
check_num() {
	if [ -n "$2" ] && [ -n "$3" ] && jq -en --argjson a "$2" --argjson b "$3" '$a == $b' >/dev/null 2>&1; then
		FL_PASS=$((FL_PASS + 1))
		echo "ok - $1"
	else
		FL_FAIL=$((FL_FAIL + 1))
		echo "not ok - $1: expected '$2', got '$3'"
	fi
}

# check_contains WHAT NEEDLE HAYSTACK
check_contains() {
	if [[ "$3" == *"$2"* ]]; then
		FL_PASS=$((FL_PASS + 1))
		echo "ok - $1"
	else
		FL_FAIL=$((FL_FAIL + 1))
		echo "not ok - $1: '$2' not in '${3:0:400}'"
	fi
}

# fl_done: the tally; non-zero if anything failed. Then, for a failed run, the lines other than INFO of the
# logs named in FL_DIAG_LOGS (space-separated paths a test sets), so a failure seen only in CI says why.
fl_done() {
	rm -f "${TMPDIR:-/tmp}/fl_ports.$$" # fl_free_port's record of the ports it handed out
	if [ "$FL_FAIL" -gt 0 ] && [ -n "${FL_DIAG_LOGS:-}" ]; then
		local f
		for f in $FL_DIAG_LOGS; do
			[ -f "$f" ] && { echo "--- $f (not INFO)"; grep -v " INFO " "$f" | tail -40; }
		done
	fi
	echo "$FL_PASS passed, $FL_FAIL failed"
	[ "$FL_FAIL" -eq 0 ]
}
