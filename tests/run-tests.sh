#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs each test given on the command line and closes with one summary line,
# "N passed, N failed". A cmocka binary contributes its own case counts; any
# other test counts as one case, passed when it exits 0. A test that crashes
# or hangs (TEST_TIMEOUT seconds, default 600) fails.
set -u

passed=0
failed=0
failures=()

for t in "$@"; do
	log=$(mktemp)
	echo "=== $t"
	timeout --signal=KILL "${TEST_TIMEOUT:-600}" "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | tail -1)
	rm -f "$log"
	if [ -n "$p" ]; then
		passed=$((passed + p))
		failed=$((failed + ${f:-0}))
		if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
			failed=$((failed + 1)) # crashed after its summary
		fi
		[ "$rc" -eq 0 ] || failures+=("$t")
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$t (exit $rc)")
	fi
done

for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
