#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The checkpoint pause of a loaded 256 MiB guest next to a bare QMP
stop+cont, in the same run (vmlab.py draws the two hosts).

The primary hostd checkpoints the guest every 50 ms while ftmb-traffic
sends through ftmb-monitor (AF_PACKET, one thread) in the guest; the load
is that traffic plus a shell loop printing to the console. Measured:
  pause       each incremental checkpoint's pause-us as QEMU reports it
              (stop to resume, inside QEMU), from hostd's statistics over
              the run's last 1024 checkpoints; the first, full one apart;
  stop+cont   the round trip of QMP "stop" then "cont" from a client on the
              VM's operator QMP socket, the floor a pause is compared with;
              each placed 15 ms after a checkpoint's RESUME event, between
              checkpoints;
  dirty pages the pages each incremental checkpoint carried (p50; the
              ivshmem region's 128 pages, sent whole every time, included);
  restore     the failover's restore on the backup, from the start of the
              prefill to the replica running (QMP cont answered), after the
              primary host is killed.
"""

import json
import os
import signal
import time

from vmlab import Fail, lab_main, pct, say

NAME = "bench-checkpoint"


def wait_event(q, name, timeout):
    """Reads QMP lines until event name arrives."""
    deadline = time.monotonic() + timeout
    q.sock.settimeout(timeout)
    try:
        while time.monotonic() < deadline:
            line = q.file.readline()
            if not line:
                raise Fail("QMP closed")
            msg = json.loads(line)
            if msg.get("event") == name:
                return msg
    finally:
        q.sock.settimeout(None)
    raise Fail(f"no QMP event {name} within {timeout} s")


def stop_cont(lab, n):
    """n bare stop+cont round trips (µs), each between two checkpoints."""
    q = lab.qmp("hostA")
    rtts = []
    for _ in range(n):
        wait_event(q, "RESUME", 10)
        time.sleep(0.015)
        t0 = time.monotonic()
        q.cmd("stop")
        q.cmd("cont")
        rtts.append((time.monotonic() - t0) * 1e6)
    q.close()
    return rtts


def run(lab, seconds, n_stopcont):
    lab.up()
    say(NAME, f"guest up {lab.boot_s:.1f} s after the primary hostd started")
    lab.go()
    time.sleep(2)
    t0 = time.monotonic()
    sc = stop_cont(lab, n_stopcont)
    rest = seconds - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)
    a = lab.instance("hostA", "stats")["checkpoints"]
    st = lab.instance("hostA")
    gen = lab.stop_traffic()
    say(NAME, f"{a['taken']} checkpoints in the run ({a['window']} incremental measured, "
        f"{a['failures']} failures); traffic {gen['tx']['packets']} sent, "
        f"{gen['rx']['packets']} back through the monitor")
    full = st["vm"]["last_full_checkpoint"]
    say(NAME, f"full checkpoint: {full['dirty_pages']} pages, {full['bytes']} bytes, pause "
        f"{full['pause_us']} us")
    say(NAME, f"checkpoint pause (in QEMU): p50 {a['pause_us']['p50']} us, p99 "
        f"{a['pause_us']['p99']} us, max {a['pause_us']['max']} us; dirty pages p50 "
        f"{a['dirty_pages']['p50']}, p99 {a['dirty_pages']['p99']}; bytes p50 "
        f"{a['bytes']['p50']}; x-ftmb-checkpoint QMP round trip p50 {a['qmp_us']['p50']} us")
    say(NAME, f"bare QMP stop+cont (same run, {len(sc)}): p50 {pct(sc, 50):.0f} us, p99 "
        f"{pct(sc, 99):.0f} us")
    if a["failures"] or a["window"] < 100:
        raise Fail(f"too few clean checkpoints to measure ({a['window']}, {a['failures']} failures)")

    lab.generator("gen2")
    qemu_pid = st["vm"]["pid"]
    os.kill(qemu_pid, signal.SIGKILL)
    for name in ("hostA", "vhostA"):
        lab.kill(name)
    lab.relay.close()
    s = lab.wait_for(lambda: (lambda s: s if s["state"] in ("replica-live-unprotected",
                                                              "failover-failed") else None)(
                                  lab.instance("hostB")), 120, "the failover's end")
    if s["state"] != "replica-live-unprotected":
        raise Fail(f"the failover failed: {s['last_error']}")
    rs = s["failover"]["restore"]
    say(NAME, f"restore of checkpoint {rs['ckpt_seq']}: prefill {rs['prefill_bytes']} bytes "
        f"{rs['prefill_ms']:.1f} ms, replica ftmb-vhost ready {rs['vhost_ready_ms']:.1f} ms, "
        f"QEMU load of {rs['stream_bytes']} stream bytes {rs['load_ms']:.1f} ms, cont "
        f"{rs['cont_ms']:.1f} ms: {rs['restore_ms']:.1f} ms in all")
    p50, p99 = a["pause_us"]["p50"], a["pause_us"]["p99"]
    c50 = pct(sc, 50)
    print(f"{NAME} accel={st['vm']['accel']} mem_mib={lab.memory_mb} interval_ms={lab.interval_ms} "
          f"pause_p50_us={p50} pause_p99_us={p99} stopcont_p50_us={c50:.0f} "
          f"pause_ratio={p50 / c50:.2f} dirty_pages_p50={a['dirty_pages']['p50']} "
          f"restore_ms={rs['restore_ms']:.0f}", flush=True)


def main():
    lab_main(NAME, __doc__, run, options=[("--seconds", 30), ("--stopcont", 60)],
             accel_probe=True)


if __name__ == "__main__":
    main()
