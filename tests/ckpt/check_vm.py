#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""VM checkpoints end to end under TCG (vmlab.py draws the two hosts).

The primary hostd launches the guest image running ftmb-monitor (AF_PACKET)
behind ftmb-vhost in mode ftmb with cut=pause, and checkpoints it every
50 ms to the backup hostd; ftmb-traffic sends through it over memif.
Checks, while traffic runs and after:
  1. checkpoints commit at the backup (stored seq and committed epoch grow,
     none refused) and COMMITTED reaches ftmb-vhost;
  2. the backup's log is truncated at each cut: what it holds stays bounded
     while the total logged grows;
  3. the stored checkpoint's cut is consistent with what was logged: at
     rest it is exactly what ftmb-vhost handed to the guest and the guest
     published, and the monitor stamped as many global counts;
  4. a checkpoint cut off mid-stream (the primary host dies during its
     transfer) is never applied: the backup reports it truncated and
     restores the checkpoint before it;
  5. the restored guest resumes: its serial output continues from the
     checkpoint, not from boot, and the monitor's counters in its RAM are
     those of the checkpoint.
"""

import json
import os
import signal
import struct
import subprocess
import time

from vmlab import FRAME_BYTES, Fail, lab_main, say


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    say("check-vm", f"ok: {msg}")


def sample_while_traffic(lab, seconds):
    """Backup stats every half second: (held inputs, held PALs, inputs logged,
    stored seq, committed epoch)."""
    rows = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        st = lab.instance("hostB", "stats")
        s = lab.instance("hostB")
        rows.append((st["held_inputs"], st["held_pal_records"], st["inputs"],
                     s["checkpoints"]["stored_seq"], s["checkpoints"]["committed_epoch"]))
        time.sleep(0.5)
    return rows


def find_totals(path, packets):
    """Offsets in a RAM image where the monitor's totals {packets, bytes}
    sit with this packet count."""
    want = struct.pack("<QQ", packets, packets * FRAME_BYTES)
    with open(path, "rb") as f:
        data = f.read()
    hits, i = [], data.find(want)
    while i >= 0:
        if i % 8 == 0:
            hits.append(i)
        i = data.find(want, i + 1)
    return hits


def run(lab, traffic_s):
    lab.up()
    say("check-vm", f"guest up {lab.boot_s:.1f} s after the primary hostd started")

    # 1 + 2: checkpoints flow while traffic runs
    lab.go()
    rows = sample_while_traffic(lab, traffic_s)
    gen = lab.stop_traffic()
    held_max = max(max(r[0], r[1]) for r in rows)
    logged = rows[-1][2]
    say("check-vm", f"traffic: sent {gen['tx']['packets']}, back {gen['rx']['packets']}; backup "
        f"logged {logged} inputs, held at most {held_max} entries; stored seq "
        f"{rows[0][3]} -> {rows[-1][3]}, committed epoch {rows[0][4]} -> {rows[-1][4]}")
    check(rows[-1][3] > rows[0][3] + traffic_s * 5,
          f"checkpoints are stored at the backup while traffic runs ({rows[-1][3] - rows[0][3]} "
          f"in {traffic_s} s)")
    check(all(b[4] >= a[4] for a, b in zip(rows, rows[1:])) and rows[-1][4] > rows[0][4],
          "the committed epoch only grows")
    # (at least 1000 inputs: a guest on overloaded cores serves fewer)
    check(logged > 1000 and held_max < logged / 4,
          f"the backup's log is truncated at each commit (held at most {held_max} of "
          f"{logged} inputs)")

    # 3: at rest (the guest may still work through a backlog), the last cut
    # is exactly what was handed and published
    def at_rest():
        vh = lab.vhost_stats()
        s = lab.instance("hostB")
        if (s["cut"] and s["cut"]["in"] == vh["logged"]["in"] and
                s["cut"]["pal"] == vh["logged"]["pal"] and
                s["checkpoints"]["stored_epoch"] == s["cut"]["ckpt_seq"] and
                all(q["released"] == q["outputs"] for q in vh["queues"])):
            return s, vh
        time.sleep(0.5)
        return None
    b, vh = lab.wait_for(at_rest, 60, "a commit covering every input and PAL at rest, "
                         "every output released")
    recs = lab.records()
    stamps = {r[8] for r in recs}
    top = b["cut"]["pal"][0]  # the monitor takes its lock once per packet
    check(b["cut"]["in"] == vh["logged"]["in"] and b["cut"]["pal"] == vh["logged"]["pal"],
          f"the committed cut (epoch {b['cut']['ckpt_seq']}: inputs {b['cut']['in']}, PALs "
          f"{b['cut']['pal']}) is what ftmb-vhost handed to the guest and drained from it")
    q0 = vh["queues"][0]
    check(recs and q0["outputs"] == q0["released"] == top and len(stamps) == len(recs) and
          max(stamps) <= top,
          f"the guest's PALs match its outputs: {top} processed, {q0['released']} released, "
          f"{len(recs)} came back with distinct global counts up to {max(stamps or [0])}")
    vh = lab.wait_for(lambda: (lambda v: v if v["cuts"]["committed"] >= b["cut"]["ckpt_seq"]
                               else None)(lab.vhost_stats()), 10, "ftmb-vhost to hear COMMITTED")
    check(vh["cuts"]["commits"] > 0 and vh["cuts"]["failed"] == 0,
          f"COMMITTED reaches ftmb-vhost ({vh['cuts']['commits']} commits, up to epoch "
          f"{vh['cuts']['committed']} of {vh['cuts']['epoch']} cuts; longest wait for a cut "
          f"{vh['cuts']['pause_wait_max_us']} us)")
    stats_b = lab.instance("hostB", "stats")["checkpoints"]
    check(stats_b["refused"] == 0 and stats_b["truncated"] == 0,
          f"no checkpoint refused or cut short so far ({stats_b['stored']} stored)")

    # the operator's checkpoint: answered with one taken after the request
    before = lab.instance("hostA")["vm"]["last_checkpoint"]["seq"]
    ctl = [f"{lab.build}/ftmbctl", "--socket", f"{lab.work}/hostA.ctl", "checkpoint", "vm1"]
    out = subprocess.run(ctl + ["--json"], capture_output=True, text=True)
    a = json.loads(out.stdout) if out.stdout else {}
    check(out.returncode == 0 and a.get("ok") and a["ckpt_seq"] > before and
          a["backup"] == "hostB" and a["bytes"] > 0,
          f"ftmbctl checkpoint vm1: checkpoint {a.get('ckpt_seq')} (status had {before}), "
          f"paused {a.get('pause_ms')} ms, {a.get('dirty_pages')} dirty pages, answered in "
          f"{a.get('took_ms')} ms")
    out = subprocess.run(ctl[:-1] + ["nosuch"], capture_output=True, text=True)
    check(out.returncode == 1 and "no VM instance nosuch" in out.stderr,
          f"and refuses an instance it does not run: {out.stderr.strip()}")

    # 4: the primary host dies while a checkpoint is on its way (a new
    # generator waits for the replica, which takes over the external link)
    lab.generator("gen2")
    stored_before = lab.instance("hostB")["checkpoints"]["stored_seq"]
    ticks_before = max(lab.ticks("hostA"))
    qemu_pid = lab.instance("hostA")["vm"]["pid"]
    lab.relay.armed = True
    if not lab.relay.cut_event.wait(30):
        raise Fail(f"the relay saw no checkpoint to cut in 30 s; the primary's view: "
                   f"{json.dumps(lab.instance('hostA').get('vm'))}")
    os.kill(qemu_pid, signal.SIGKILL)
    for name in ("hostA", "vhostA"):
        lab.kill(name)
    lab.relay.close()
    t_kill = time.monotonic()
    say("check-vm", f"checkpoint {lab.relay.cut_seq} cut in half on its way; primary host "
        f"killed (last whole checkpoint {lab.relay.last_whole_seq}, backup had stored "
        f"{stored_before})")
    s = lab.wait_for(lambda: (lambda s: s if s["state"] in ("replica-live-unprotected",
                                                              "failover-failed") else None)(
                                  lab.instance("hostB")), 90, "the failover's end")
    check(s["state"] == "replica-live-unprotected",
          f"the backup fails over ({s['state']}: {s['last_error']})")
    rs = s["failover"]["restore"]
    stats_b = lab.instance("hostB", "stats")["checkpoints"]
    check(stats_b["truncated"] == 1 and rs["ckpt_seq"] < lab.relay.cut_seq and
          rs["ckpt_seq"] >= stored_before,
          f"the cut-off checkpoint {lab.relay.cut_seq} was dropped; checkpoint "
          f"{rs['ckpt_seq']} (epoch {rs['epoch']}) was restored")
    say("check-vm", f"restore: {rs['prefill_bytes']} bytes prefilled in {rs['prefill_ms']:.0f} ms, "
        f"replica ftmb-vhost ready {rs['vhost_ready_ms']:.0f} ms later, QEMU loaded "
        f"{rs['stream_bytes']} bytes in {rs['load_ms']:.0f} ms, running after "
        f"{rs['restore_ms']:.0f} ms; detection {s['failover']['detection_ms']} ms")

    # 5: the replica resumes from the checkpoint
    first = lab.wait_for(lambda: lab.ticks("hostB"), 30, "TICKs from the replica")[0]
    check(10 < first <= ticks_before + 1,
          f"the replica's console continues from the checkpoint: TICK {first} (the primary "
          f"had reached {ticks_before})")
    lab.wait_for(lambda: max(lab.ticks("hostB")) >= first + 5, 30, f"TICK {first + 5}")
    say("check-vm", f"replica counting: TICK {max(lab.ticks('hostB'))}, "
        f"{time.monotonic() - t_kill:.1f} s after the kill")
    q = lab.qmp("hostB")
    q.cmd("stop")
    hits = find_totals(lab.ram, top)
    q.cmd("cont")
    q.close()
    check(hits, f"the monitor's counters in the restored RAM are the checkpoint's: "
          f"{{packets {top}, bytes {top * FRAME_BYTES}}} at {[hex(h) for h in hits][:3]}")
    check(not find_totals(lab.ram, top + 1), "and no later count (negative control of the "
          "search)")

    # the replica goes on with new traffic (a new generator run, whose flows
    # and seqs start over: verified on its own) and counts on from the
    # checkpoint: no global count released before is given again
    lab.go("gen2")
    time.sleep(5)
    gen2 = lab.stop_traffic("gen2")
    out = subprocess.run([f"{lab.build}/ftmb-verify", "--mb", "monitor", f"{lab.work}/gen2.rec"],
                         capture_output=True, text=True)
    after = [r[8] for r in lab.records("gen2")]
    check(out.returncode == 0 and after and min(after) > top,
          f"the replica serves new traffic ({gen2['rx']['packets']} of {gen2['tx']['packets']} "
          f"back, global counts {min(after) if after else 0}..{max(after) if after else 0} after "
          f"the checkpoint's {top}): {out.stdout.strip()}")
    say("check-vm", "PASS")


def main():
    lab_main("check-vm", __doc__, run, options=[("--traffic-s", 15)])


if __name__ == "__main__":
    main()
