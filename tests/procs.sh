# SPDX-License-Identifier: GPL-2.0-or-later
# Process helpers shared by the shell test harnesses (sourced). The harness
# defines fail() (report and exit) and PIDS=() before sourcing this file.

# running PID: the process exists and has not exited (a zombie has).
running() {
	local pid comm state rest
	read -r pid comm state rest 2>/dev/null <"/proc/$1/stat" && [ "$state" != Z ]
}

# stop NAME: SIGTERM and wait for $PID_NAME (the process writes its
# summary), SIGKILL and a failure if it has not exited within 10 s.
stop() {
	local pid i=0
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	while ((i++ < 200)) && running "$pid"; do
		sleep 0.05
	done
	if running "$pid"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		eval "PID_$1="
		fail "$1 (pid $pid) did not exit within 10 s of SIGTERM"
	fi
	wait "$pid" 2>/dev/null
	eval "PID_$1="
}

# wait_for FILE PATTERN [SECONDS]: until a line of FILE matches (10 s).
wait_for() {
	local i
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		grep -aq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "timed out waiting for '$2' in $1"
}
