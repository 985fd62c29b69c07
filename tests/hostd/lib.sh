# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the ftmb-hostd integration checks: binaries, a scratch directory,
# a free port, the daemon's life cycle and its control socket. Sourced.

BUILD=${BUILD:-build}
HOSTD=${HOSTD:-$BUILD/ftmb-hostd}
PING=$BUILD/ftmb-ping
FAKE=$BUILD/tests/hostd/fake-primary
for b in "$HOSTD" "$PING" "$FAKE"; do
	[ -x "$b" ] || { echo "FAIL: $b is not built (run make first)"; exit 1; }
done

DIR=$(mktemp -d /tmp/ftmb-hostd-check.XXXXXX)
declare -A HOSTD_PIDS=()
CLEANUPS=()

cleanup() {
	for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
	for pid in "${HOSTD_PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$DIR"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for log in "$DIR"/*.log; do
		[ -f "$log" ] || continue
		echo "--- $log:"
		tail -n 30 "$log"
	done
	exit 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_hostd NAME COMMAND...: runs an ftmb-hostd command line, which must
# use --control $DIR/NAME.sock, in the background, logging to $DIR/NAME.log,
# and waits for its control socket.
start_hostd() {
	local name=$1
	shift
	rm -f "$DIR/$name.sock"
	"$@" >>"$DIR/$name.log" 2>&1 &
	HOSTD_PIDS[$name]=$!
	for _ in $(seq 100); do
		[ -S "$DIR/$name.sock" ] && return 0
		kill -0 "${HOSTD_PIDS[$name]}" 2>/dev/null || fail "ftmb-hostd $name exited at start"
		sleep 0.05
	done
	fail "ftmb-hostd $name did not open its control socket"
}

# stop_hostd NAME [SIGNAL]
stop_hostd() {
	kill -"${2:-TERM}" "${HOSTD_PIDS[$1]}"
	wait "${HOSTD_PIDS[$1]}" 2>/dev/null
	unset "HOSTD_PIDS[$1]"
}

# control NAME CMD [PYTHON-EXPR]: sends {"cmd":CMD} to hostd NAME and prints
# the answer, or the value of PYTHON-EXPR evaluated with the answer bound to
# r (inst(n) is instance n of r).
control() {
	python3 - "$DIR/$1.sock" "$2" "${3:-r}" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.write(json.dumps({"cmd": sys.argv[2]}) + "\n")
f.flush()
r = json.loads(f.readline())
v = eval(sys.argv[3], {"r": r, "inst": lambda n: next(i for i in r["instances"] if i["name"] == n)})
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
PY
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.02
	done
}
