#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Planned failover (ftmbctl failover) of a VM under TCG, on vmlab.py's hosts.

The primary hostd runs the guest image with ftmb-monitor behind ftmb-vhost
(mode ftmb, cut=pause), checkpointed every 50 ms to the backup, with
traffic flowing. Then `ftmbctl failover vm1` on host A. Checks:
  1. the answer: handed over from hostA to hostB, the VM paused meanwhile;
  2. host A killed its QEMU and says the instance runs on hostB; a second
     request is refused (nothing left to hand over);
  3. host B failed the instance over for the planned reason, with its
     usual machinery (restore, replay), and its replica serves new traffic;
  4. no count the monitor released before the handover is given again, and
     the records pass ftmb-verify: the first generator's, with the outputs
     of its inputs that the replica released into the second generator's
     link (held at the handover, replayed, released by the replica), and
     the second generator's own.
"""
import json
import struct
import subprocess
import time

from vmlab import Fail, lab_main, say


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    say("check-handover", f"ok: {msg}")


def ftmbctl(lab, host, *args):
    out = subprocess.run([f"{lab.build}/ftmbctl", "--socket", f"{lab.work}/{host}.ctl", *args],
                         capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout, out.stderr


def verify(lab, *files):
    out = subprocess.run([f"{lab.build}/ftmb-verify", "--mb", "monitor",
                          *[f"{lab.work}/{f}" for f in files]], capture_output=True, text=True)
    return out.returncode == 0, out.stdout.strip()


def split_records(lab, name, t0_ns):
    """Splits NAME.rec by send time: NAME-old.rec (sent before t0_ns, by an
    earlier generator on the same flows) and NAME-own.rec."""
    with open(f"{lab.work}/{name}.rec", "rb") as f:
        data = f.read()
    head, recs = data[:16], [data[o:o + 56] for o in range(16, len(data), 56)]
    old = [r for r in recs if struct.unpack_from("<Q", r, 24)[0] < t0_ns]
    for part, rows in (("old", old), ("own", [r for r in recs if r not in old])):
        with open(f"{lab.work}/{name}-{part}.rec", "wb") as f:
            f.write(head + b"".join(rows))
    return len(old)


def run(lab, traffic_s):
    lab.up()
    say("check-handover", f"guest up {lab.boot_s:.1f} s after the primary hostd started")
    lab.go()
    time.sleep(traffic_s)
    taken = lab.instance("hostA")["vm"]["checkpoints_taken"]

    # 1: the handover, while traffic runs. The backup refuses while the log
    # stream is not open (it reconnects now and then on a loaded machine):
    # then the VM must run on with its checkpoints, and the operator tries
    # again.
    for attempt in range(1, 4):
        rc, out, err = ftmbctl(lab, "hostA", "failover", "vm1", "--json")
        a = json.loads(out) if out else {}
        if rc == 0 or "the backup refused it" not in err:
            break
        why = [ln for ln in lab.read_log("hostB").splitlines() if "refusing the planned" in ln]
        say("check-handover", f"attempt {attempt} refused: {why[-1:] or err.strip()}")
        check(lab.wait_for(lambda: (lambda v: v if v["checkpoints"] == "checkpointing" and
                                    v["checkpoints_taken"] > taken + 5 else None)(
                                        lab.instance("hostA")["vm"]), 20,
                           "host A's checkpoints after a refusal"),
              "after the refusal the VM runs here again, checkpointed")
        taken = lab.instance("hostA")["vm"]["checkpoints_taken"]
    check(rc == 0 and a.get("ok") and a["from"] == "hostA" and a["to"] == "hostB",
          f"ftmbctl failover vm1: handed from {a.get('from')} to {a.get('to')} after "
          f"{taken} checkpoints; the VM paused {a.get('paused_ms')} ms before the backup "
          f"took it; answered in {a.get('took_ms')} ms {err.strip()}")
    # the generator's memif link moves to the replica: gen2 will be its
    # server, and host A's ftmb-vhost, orphaned once its guest is gone, is
    # stopped (by the operator, in production)
    gen = lab.stop_traffic()
    lab.kill("vhostA")
    lab.generator("gen2")

    # 2: host A let go of it
    s = lab.wait_for(lambda: (lambda s: s if s["vm"]["state"] == "exited" else None)(
        lab.instance("hostA")), 10, "host A's QEMU to exit")
    check(s["vm"]["handed_over_to"] == "hostB" and s["vm"]["checkpoints"] == "off",
          f"host A killed its QEMU and checkpoints no more (vm: state {s['vm']['state']}, "
          f"handed over to {s['vm']['handed_over_to']})")
    rc, out, err = ftmbctl(lab, "hostA", "failover", "vm1")
    check(rc == 1 and "not running protected" in err,
          f"a second failover is refused: {err.strip()}")

    # 3: host B took it over the usual way
    b = lab.wait_for(lambda: (lambda s: s if s["state"] in ("replica-live-unprotected",
                                                              "failover-failed") else None)(
                                  lab.instance("hostB")), 90, "the failover's end")
    fo = b["failover"]
    check(b["state"] == "replica-live-unprotected" and fo["reason"].startswith("planned"),
          f"host B failed over ({b['state']}): {fo['reason']}; restored checkpoint "
          f"{fo['restore']['ckpt_seq']} in {fo['restore']['restore_ms']} ms")

    # 4: the replica serves new traffic and counts on
    t0 = time.monotonic_ns()
    lab.go("gen2")
    time.sleep(5)
    gen2 = lab.stop_traffic("gen2")
    late = split_records(lab, "gen2", t0)
    ok1, v1 = verify(lab, "gen.rec", "gen2-old.rec")
    ok2, v2 = verify(lab, "gen2-own.rec")
    before = [r[8] for r in lab.records("gen") + lab.records("gen2-old")]
    after = [r[8] for r in lab.records("gen2-own")]
    check(ok1 and ok2 and before and after and min(after) > max(before),
          f"counts before the handover 1..{max(before or [0])} ({gen['rx']['packets']} of "
          f"{gen['tx']['packets']} back, {late} more released by the replica), after it "
          f"{min(after or [0])}..{max(after or [0])} ({gen2['rx']['packets'] - late} of "
          f"{gen2['tx']['packets']} back): {v1}; {v2}")
    say("check-handover", "PASS")


def main():
    lab_main("check-handover", __doc__, run, options=[("--traffic-s", 5)])


if __name__ == "__main__":
    main()
