# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the ftmb-traffic scripts (sourced): the caller sets $tmp (a work
# directory, removed on exit) and appends the PID of every ftmb-traffic it
# starts to pids; cleanup stops them all on exit.

pids=()

any_alive() {
	local p
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

# SIGTERM lets ftmb-traffic end cleanly (removing its EAL runtime
# directory); SIGKILL is for one that has not within a second.
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		any_alive || break
		sleep 0.1
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
