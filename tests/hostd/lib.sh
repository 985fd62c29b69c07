# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the ftmb-hostd integration checks: binaries, a scratch directory,
# a free port, the daemon's life cycle and its control socket. Sourced.

BUILD=${BUILD:-build}
HOSTD=$BUILD/ftmb-hostd
PING=$BUILD/ftmb-ping
FAKE=$BUILD/tests/hostd/fake-primary
for b in "$HOSTD" "$PING" "$FAKE"; do
	[ -x "$b" ] || { echo "FAIL: $b is not built (run make first)"; exit 1; }
done

DIR=$(mktemp -d /tmp/ftmb-hostd-check.XXXXXX)
HOSTD_PID=
CLEANUPS=()

cleanup() {
	for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
	[ -n "$HOSTD_PID" ] && kill "$HOSTD_PID" 2>/dev/null && wait "$HOSTD_PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if [ -f "$DIR/hostd.log" ]; then
		echo "--- ftmb-hostd log:"
		tail -n 30 "$DIR/hostd.log"
	fi
	exit 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_hostd ARGS...: runs ftmb-hostd in the background, logging to
# $DIR/hostd.log, and waits for its control socket.
start_hostd() {
	"$@" >"$DIR/hostd.log" 2>&1 &
	HOSTD_PID=$!
	for _ in $(seq 100); do
		[ -S "$DIR/hostd.sock" ] && return 0
		kill -0 "$HOSTD_PID" 2>/dev/null || fail "ftmb-hostd exited at start"
		sleep 0.05
	done
	fail "ftmb-hostd did not open its control socket"
}

# control CMD [PYTHON-EXPR]: sends {"cmd":CMD} and prints the answer, or the
# value of PYTHON-EXPR evaluated with the answer bound to r.
control() {
	python3 - "$DIR/hostd.sock" "$1" "${2:-r}" <<'PY'
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
