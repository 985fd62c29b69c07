#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo's evidence parsing (tools/demo/timeline.py) on evidence recorded
# by a real `make demo` run (sample/: host B's status, the replica
# ftmb-vhost's statistics, the sink's records around the failure, the
# verifier's answer). Checks the timeline, the verdict, the plot and the
# last line; negative controls: the verifier's answer on the same records
# with the replica's first output given another flow's port (a remapped
# flow) must turn the verdict into VIOLATION and the exit status into 1;
# evidence without a failover, without a finished replay, or without any
# output from the replica must be refused (exit 2) with a reason.
set -u
cd "$(dirname "$0")/../.."
SAMPLE=tests/demo/sample
TMP=$(mktemp -d /tmp/ftmb-demo-check.XXXX)
trap 'rm -rf "$TMP"' EXIT
failed=0

ok() { echo "ok:   $*"; }
bad() {
	echo "FAIL: $*"
	failed=1
}

# run NAME [EDIT]: the sample copied to $TMP/NAME, EDIT (python over the
# directory d) applied, timeline.py run; its output in $TMP/NAME.out, its
# exit status in RC.
run() {
	local name=$1 edit=${2:-}
	cp -r "$SAMPLE" "$TMP/$name"
	[ -z "$edit" ] || python3 -c "import json, sys; d = sys.argv[1]; $edit" "$TMP/$name"
	python3 tools/demo/timeline.py --evidence "$TMP/$name" ${PLOT_ARG:-} >"$TMP/$name.out" 2>&1
	RC=$?
}

# expect NAME RC TEXT WHAT: exit status RC and a line TEXT (fixed string).
expect() {
	if [ "$RC" -eq "$2" ] && grep -qF -- "$3" "$TMP/$1.out"; then
		ok "$4: exit $RC, \"$3\""
	else
		bad "$4: exit $RC (want $2), no \"$3\" in:"
		sed 's/^/    | /' "$TMP/$1.out"
	fi
}

# The recorded run (KEEP=1 make demo on a machine loaded by other work,
# then make_sample.py): every step at its place, the figures of the last line.
PLOT_ARG="--plot $TMP/plot.png" run good
PLOT_ARG=
expect good 0 "demo verdict=consistent detect_ms=0.8 restore_ms=2144.3 replay_ms=476.6 first_output_ms=2627.4" \
	"the recorded run's last line"
[ "$(tail -1 "$TMP/good.out" | cut -c1-5)" = "demo " ] && ok "it is the last line" ||
	bad "the verdict is not the last line"
python3 - "$TMP/good.out" <<'PY' && ok "the timeline lists failure, detection, restore, replay and first output, in time order" || bad "timeline order"
import re, sys
steps = [(float(m.group(1)), m.group(2)) for m in
         (re.match(r"\s+(-?[0-9.]+)\s+([A-Z ]+):", l) for l in open(sys.argv[1])) if m]
names = [s[1] for s in steps]
print("    | steps:", ", ".join(f"{n} {t:.1f}" for t, n in steps))
# (QEMU's guest may connect before hostd hears QMP's answer to cont:
# RESTORED can follow REPLAY.)
assert sorted(names) == sorted(["FAILURE", "DETECTED", "RESTORE", "RESTORED", "REPLAY", "LIVE",
                                "REPLAYED", "FIRST OUTPUT"]), names
assert [t for t, _ in steps] == sorted(t for t, _ in steps)
assert names[:3] == ["FAILURE", "DETECTED", "RESTORE"] and names[-1] == "FIRST OUTPUT", names
PY
grep -q "prefill 132.576, vhost 852.761, load 1133.477, cont 25.467 ms" "$TMP/good.out" &&
	grep -q "(117 of 117 inputs, 80 PAL records logged)" "$TMP/good.out" &&
	grep -q "(72 outputs the primary had released suppressed)" "$TMP/good.out" &&
	grep -q "^ *2623.9 .*released its first output (its trace)" "$TMP/good.out" &&
	ok "restore breakdown, replay counts and first release from hostd's and ftmb-vhost's evidence" ||
	bad "restore breakdown or replay counts missing"
grep -E "^  (before the failure|after the replica went live)" "$TMP/good.out" | sed 's/^/    | /'
grep -q "before the failure (primary, host A) *34 packets  p50    66.50 ms" "$TMP/good.out" &&
	ok "latency before the failure from the (trimmed) records, apart from the download: 34 packets, p50 66.50 ms" || bad "latency before the failure"
python3 - "$TMP/good.out" <<'PY' && ok "the breakdown's pieces add up to the kill-to-first-output time" || bad "breakdown"
import re, sys
text = open(sys.argv[1]).read()
total = float(re.search(r"Where the (\d+) ms from the kill", text).group(1))
block = text.split("Where the", 1)[1].split("\n\n", 1)[0]
pieces = [float(m) for m in re.findall(r"^  .*? (-?[0-9.]+) ms +[0-9.]+ %$", block, re.M)]
print(f"    | {len(pieces)} pieces, sum {sum(pieces):.1f} ms, total {total:.0f} ms")
assert len(pieces) == 8 and abs(sum(pieces) - total) < 1 and min(pieces) >= 0, pieces
PY
grep -q "^    ... while the TCP download ran *143 packets" "$TMP/good.out" &&
	grep -q "the TCP download (16 MiB) ran from -2.4 s to 6.5 s" "$TMP/good.out" &&
	ok "packets sent while the TCP download ran are apart (143 before the failure)" ||
	bad "the download's packets are not apart"
run nodownload "import os; os.unlink(d + '/download')"
expect nodownload 0 "before the failure (primary, host A)            177 packets" \
	"without a download every packet before the failure counts together"
[ "$(head -c 4 "$TMP/plot.png" | od -An -c | tr -d ' ')" = "211PNG" ] &&
	ok "the plot is a PNG ($(stat -c %s "$TMP/plot.png") bytes)" || bad "no PNG plot"

# Negative control: the verifier's answer on the same records with the
# replica's first output remapped.
run violation "import shutil; shutil.copy(d + '/verify-violation.json', d + '/verify.json'); open(d + '/verify.rc', 'w').write('1')"
expect violation 1 "demo verdict=VIOLATION detect_ms=0.8" "negative control: a remapped flow"
expect violation 1 "VIOLATION (mapping-changed): flow 3 changed its mapping" \
	"negative control: the verifier's reason is shown"

# Evidence that does not show a recovery is refused with a reason.
run nofailover "p = d + '/status-b.json'; j = json.load(open(p)); j['instances'][0]['failover'] = None; json.dump(j, open(p, 'w'))"
expect nofailover 2 "host B did not fail instance vm1 over" "no failover in host B's status"
run notimeline "p = d + '/status-b.json'; j = json.load(open(p)); del j['instances'][0]['failover']['at_mono_ns']; json.dump(j, open(p, 'w'))"
expect notimeline 2 "host B's failover has no timeline (failover.at_mono_ns)" "a hostd without the failover's timeline"
run noreplay "p = d + '/vhost-b.json'; j = json.load(open(p)); r = j['instances'][0]['replay']; r['at_mono_ns']['live'] = r['at_mono_ns']['complete'] = 0; json.dump(j, open(p, 'w'))"
expect noreplay 2 "the replica did not finish its replay" "a replay that never finished"
run nooutput "p = d + '/records.txt'; ls = open(p).readlines(); open(p, 'w').writelines(l for l in ls if l.startswith('#') or float(l.split()[0]) < 0)"
expect nooutput 2 "the sink received nothing from the replica" "no output from the replica"
run badverify "open(d + '/verify.rc', 'w').write('2')"
expect badverify 2 "ftmb-verify could not check the records (exit 2)" "the verifier could not read the records"

[ $failed = 0 ] && echo "check-timeline: PASS" || echo "check-timeline: FAIL"
exit $failed
