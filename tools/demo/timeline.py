#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo's recovery timeline, verdict and latency, from its evidence.

  timeline.py --evidence DIR [--plot PNG]

DIR holds what demo.sh collected:
  kill           "MONO_NS WALL_NS PIDS GONE_NS ..." (tests/hostproc/kill_host.py)
  status-b.json  host B's `ftmbctl --json status` after the failover
                 (failover.at_mono_ns: detection and the restore's steps)
  vhost-b.json   the replica ftmb-vhost's --stats (replay.at_mono_ns)
  replica.trace  the replica ftmb-vhost's release trace (its first release)
  records.txt    `ftmb-records --t0-ns MONO_NS sink.rec`: the sink's records
  verify.json    `ftmb-verify --mb nat --json sink.rec`, verify.rc its exit status
  traffic.json   ftmb-traffic's report (sent, received)
  download       optional: the TCP download's start (CLOCK_MONOTONIC ns), then
                 "BYTES SECONDS" once it completed

Every time is on CLOCK_MONOTONIC (hostd's, ftmb-vhost's and the sink's
clock), shown in milliseconds from the kill. Prints the timeline, the
verdict, latency before and after, writes the plot with gnuplot, and ends
with
  demo verdict=<consistent|VIOLATION> detect_ms=A restore_ms=B replay_ms=C first_output_ms=D
Exit status: 0 consistent, 1 VIOLATION, 2 evidence missing or unreadable.
"""

import argparse
import json
import os
import subprocess
import sys


class Missing(Exception):
    """Evidence that is not there or does not say what the demo needs."""


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Missing(f"cannot read {path}: {e}") from e


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else None


class Evidence:
    def __init__(self, d):
        try:
            with open(os.path.join(d, "kill")) as f:
                mono, _, pids, gone = (int(x) for x in f.read().split()[:4])
        except (OSError, ValueError) as e:
            raise Missing(f"no kill time in {d}/kill: {e}") from e
        self.kill_mono, self.killed, self.gone = mono, pids, gone
        status = load_json(os.path.join(d, "status-b.json"))
        insts = status.get("instances") or []
        if not insts:
            raise Missing("host B's status lists no instance")
        self.inst = insts[0]
        self.failover = self.inst.get("failover")
        if not self.failover:
            raise Missing(f"host B did not fail instance {self.inst.get('name')} over "
                          f"(state {self.inst.get('state')}, last error "
                          f"{self.inst.get('last_error')})")
        self.restore = self.failover.get("restore")
        if not self.restore:
            raise Missing("host B's failover has no VM restore (failover.restore)")
        if not self.failover.get("at_mono_ns"):
            raise Missing("host B's failover has no timeline (failover.at_mono_ns)")
        vh = load_json(os.path.join(d, "vhost-b.json")).get("instances") or []
        if not vh or not vh[0].get("replay"):
            raise Missing("the replica ftmb-vhost's statistics have no replay")
        self.replica = vh[0]
        self.replay = vh[0]["replay"]
        self.first_release = self.read_first_release(os.path.join(d, "replica.trace"))
        self.records = self.read_records(os.path.join(d, "records.txt"))
        self.verify = load_json(os.path.join(d, "verify.json"))
        try:
            with open(os.path.join(d, "verify.rc")) as f:
                self.verify_rc = int(f.read())
        except (OSError, ValueError) as e:
            raise Missing(f"no exit status of ftmb-verify in {d}/verify.rc: {e}") from e
        path = os.path.join(d, "traffic.json")
        self.traffic = load_json(path) if os.path.exists(path) else None
        self.download = self.read_download(os.path.join(d, "download"))

    def read_download(self, path):
        """(start_ms, end_ms, bytes) of the TCP download, or None."""
        try:
            with open(path) as f:
                start, size, secs = f.read().split()
            start_ms = self.mono_ms(int(start))
            return start_ms, start_ms + float(secs) * 1e3, int(size)
        except FileNotFoundError:
            return None
        except ValueError as e:
            raise Missing(f"cannot read the download's times {path}: {e}") from e

    @staticmethod
    def read_first_release(path):
        """The replica's first released output (MONO_NS of its trace's
        first "rel" line: vhost-backend/trace.h), or None."""
        try:
            with open(path) as f:
                return min((int(l.split()[1]) for l in f if l.startswith("rel ")), default=None)
        except (OSError, ValueError, IndexError) as e:
            raise Missing(f"cannot read the replica's release trace {path}: {e}") from e

    @staticmethod
    def read_records(path):
        """(t_ms, latency_ms, flow, seq, src) per record, t from the kill."""
        out = []
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("#") or not line.strip():
                        continue
                    t, lat, flow, seq, src = line.split()[:5]
                    out.append((float(t), float(lat) / 1000, int(flow), int(seq), src))
        except (OSError, ValueError) as e:
            raise Missing(f"cannot read the records {path}: {e}") from e
        if not out:
            raise Missing(f"the sink recorded nothing ({path})")
        return out

    def mono_ms(self, ns):
        return (ns - self.kill_mono) / 1e6 if ns else None


class Timeline:
    """The recovery's steps in ms from the kill, and the summary figures."""

    def __init__(self, ev):
        fo, rs, at = ev.failover, ev.restore, ev.replay["at_mono_ns"]
        self.hostd = {k: ev.mono_ms(v) for k, v in fo["at_mono_ns"].items()}
        self.detected = self.hostd.get("detected")
        self.restored = self.hostd.get("running")
        if self.detected is None or self.restored is None or rs.get("restore_ms") is None:
            raise Missing("host B's failover timeline lacks the detection or the restore's end")
        self.detection_after_hb = fo.get("detection_ms")
        self.restore_ms = rs["restore_ms"]
        self.first_release = ev.mono_ms(ev.first_release)
        self.replay = {k: ev.mono_ms(at.get(k)) for k in
                       ("begin", "connected", "first_fed", "port_up", "live", "complete")}
        rp = ev.replay
        self.inputs_logged = sum(rp.get("logged_inputs") or [])
        self.inputs_fed = sum(rp.get("fed_inputs") or [])
        self.records_logged = sum(rp.get("logged_records") or [])
        self.suppressed = sum(q.get("suppressed", 0) for q in ev.replica.get("queues") or [])
        self.divergences = rp.get("divergences")
        self.complete = bool(rp.get("complete"))
        r = self.replay
        # Replay: from the first logged input handed to the restored guest
        # until it has reproduced every logged input and PAL record; with
        # nothing logged after the cut, there is nothing to replay.
        end = r["complete"] if r["complete"] is not None else r["live"]
        start = r["first_fed"] if r["first_fed"] is not None else r["connected"]
        self.replay_ms = end - start if end is not None and start is not None else None
        if self.inputs_logged == 0 and self.records_logged == 0:
            self.replay_ms = 0.0
        if self.replay_ms is None:
            raise Missing("the replica did not finish its replay (replay.at_mono_ns.live and "
                          "complete are 0)")
        # The replica's first output: the first record to arrive after the
        # replica ftmb-vhost began (it releases nothing before); anything
        # earlier left host A before it died and waited in the sink's ring.
        since = r["begin"] if r["begin"] is not None else (ev.gone - ev.kill_mono) / 1e6
        after = [x for x in ev.records if x[0] >= since]
        if not after:
            raise Missing("the sink received nothing from the replica")
        self.first_output = after[0][0]
        self.first_output_rec = after[0]
        self.before = [x for x in ev.records if x[0] < 0]
        # Sent before the replica was live (tx = rx - latency) and released
        # by it: the packets the failover delayed.
        live = r["live"] if r["live"] is not None else self.first_output
        self.caught = [x for x in after if x[0] - x[1] < live]
        self.after = [x for x in after if x[0] - x[1] >= live]
        self.stragglers = [x for x in ev.records if 0 <= x[0] < since]


def fmt(ms):
    return "      -  " if ms is None else f"{ms:9.1f}"


def print_timeline(ev, tl):
    """The steps in the order they happened; a step the evidence lacks is
    listed last with "-"."""
    rs, fo, r = ev.restore, ev.failover, tl.replay
    rec = tl.first_output_rec
    h = tl.hostd
    steps = [
        (h.get("last_heartbeat"), "", "last heartbeat host B received from host A"),
        (0.0, "FAILURE", f"host A killed ({ev.killed} processes, SIGKILL at once; all gone "
                         f"{(ev.gone - ev.kill_mono) / 1e6:.1f} ms later)"),
        (tl.detected, "DETECTED", f"by host B: {fo.get('reason')} "
                                  f"({tl.detection_after_hb} ms after the last heartbeat)"),
        (h.get("dumped"), "", "host B dumped the log after the last committed cut"),
        (h.get("restore_start"), "RESTORE", f"from checkpoint {rs.get('ckpt_seq')} (epoch "
                                            f"{rs.get('epoch')})"),
        (h.get("prefilled"), "", f"prefilled {(rs.get('prefill_bytes') or 0) / 2**20:.1f} MiB of "
                                 f"RAM and region ({rs.get('prefill_ms')} ms); the replica "
                                 f"ftmb-vhost starts"),
        (r["begin"], "", "replica ftmb-vhost attached to the restored region, checked its cut, "
                         "loaded the log after it"),
        (h.get("vhost_ready"), "", f"replica ftmb-vhost ready ({rs.get('vhost_ready_ms')} ms); "
                                   f"QEMU starts with -incoming"),
        (r["port_up"], "", "replica ftmb-vhost's external port up (nothing released yet)"),
        (h.get("loaded"), "", f"QEMU loaded the checkpoint's rest "
                              f"({(rs.get('stream_bytes') or 0) / 2**10:.0f} KiB) in "
                              f"{rs.get('load_ms')} ms"),
        (tl.restored, "RESTORED", f"the VM runs on host B ({tl.restore_ms:.1f} ms restoring: "
                                  f"prefill {rs.get('prefill_ms')}, vhost "
                                  f"{rs.get('vhost_ready_ms')}, load {rs.get('load_ms')}, "
                                  f"cont {rs.get('cont_ms')} ms)"),
        (r["connected"], "", "the restored guest's virtio-net connected"),
        (r["first_fed"], "REPLAY", f"first logged input after the cut fed to the guest "
                                   f"({tl.inputs_fed} of {tl.inputs_logged} inputs, "
                                   f"{tl.records_logged} PAL records logged)"),
        (r["live"], "LIVE", f"every logged input fed; replica live, MAC announced "
                            f"({tl.suppressed} outputs the primary had released suppressed)"),
        (tl.first_release, "", "the replica ftmb-vhost released its first output (its trace)"),
        (r["complete"], "REPLAYED", f"every logged input and PAL record reproduced "
                                    f"({tl.divergences} divergences): replay took "
                                    f"{tl.replay_ms:.1f} ms"),
        (tl.first_output, "FIRST OUTPUT", f"from the replica at the sink (flow {rec[2]} seq "
                                          f"{rec[3]} from {rec[4]})"),
    ]
    known = sorted((s for s in steps if s[0] is not None), key=lambda s: s[0])
    print("Recovery timeline (ms from the kill of host A)")
    for ms, what, text in known + [s for s in steps if s[0] is None]:
        print(f"  {fmt(ms)}  {what + ':' if what else '':<14}{text}")
    if not tl.complete:
        print("  (the replica never reproduced every logged record: replay.complete is false)")
    if tl.stragglers:
        print(f"  ({len(tl.stragglers)} packets host A sent just before it died arrived after "
              f"the kill)")


def print_breakdown(tl):
    """Kill to first output cut into consecutive pieces that add up."""
    h, r = tl.hostd, tl.replay
    replayed = next(v for v in (r["complete"], r["live"], tl.restored) if v is not None)
    marks = [("detection", tl.detected), ("log dump", h.get("restore_start")),
             ("prefill", h.get("prefilled")), ("replica ftmb-vhost start", h.get("vhost_ready")),
             ("QEMU start and load", h.get("loaded")), ("cont", tl.restored),
             ("replay in the running guest", max(replayed, tl.restored)),
             ("first output to the sink", tl.first_output)]
    if any(t is None for _, t in marks):
        return
    print()
    print(f"Where the {tl.first_output:.0f} ms from the kill to the first output went:")
    prev = 0.0
    for name, t in marks:
        print(f"  {name:<28} {t - prev:8.1f} ms  {100 * (t - prev) / tl.first_output:5.1f} %")
        prev = t


def verdict(ev):
    """'consistent' or 'VIOLATION', printing the verifier's words."""
    v = ev.verify
    if ev.verify_rc not in (0, 1) or v.get("ok") is None:
        raise Missing(f"ftmb-verify could not check the records (exit {ev.verify_rc})")
    print()
    if ev.verify_rc == 0 and v["ok"]:
        print(f"Verifier (ftmb-verify --mb nat): consistent: {v['records']} records, "
              f"{v['packets']} packets in {v['flows']} flows, each flow kept one mapping "
              f"({v.get('lifetimes')} mapping lifetimes, {v.get('remaps')} remapped), no "
              f"external port shared, {v['duplicates']} exact duplicates")
        return "consistent"
    viol = v.get("violation") or {}
    print(f"Verifier (ftmb-verify --mb nat): VIOLATION ({viol.get('kind')}): "
          f"{viol.get('message')}")
    for p in viol.get("packets") or []:
        print(f"    {p.get('role')}: flow {p.get('flow')} seq {p.get('seq')} from "
              f"{p.get('src_ip')}:{p.get('src_port')} (record {p.get('index')})")
    print("  The replica released an output inconsistent with what the primary had released. "
          "What to do: rerun with KEEP=1 and keep the work directory (sink.rec, replica.trace, "
          "primary.trace, vhost-b.json with the replica's divergences, the logs); report it "
          "with them.")
    return "VIOLATION"


def latency_line(name, recs):
    lats = [x[1] for x in recs]
    if not lats:
        return f"  {name:<44} no packets"
    return (f"  {name:<44} {len(lats):6d} packets  p50 {pct(lats, 50):8.2f} ms  "
            f"p99 {pct(lats, 99):8.2f} ms  max {max(lats):8.2f} ms")


def print_latency(ev, tl):
    """p50/p99 before and after; with a download, the packets sent while
    it ran apart (it loads the VM)."""
    def during(x):
        return ev.download and ev.download[0] <= x[0] - x[1] <= ev.download[1]

    groups = [("before the failure (primary, host A)", tl.before),
              ("caught in the failover (released by replica)", tl.caught),
              ("after the replica went live (host B)", tl.after)]
    print()
    print("Latency through the NAT VM (sink's records)")
    for name, recs in groups:
        if ev.download and recs is not tl.caught:
            print(latency_line(name, [x for x in recs if not during(x)]))
            print(latency_line("  ... while the TCP download ran", [x for x in recs if during(x)]))
        else:
            print(latency_line(name, recs))
    if ev.traffic:
        tx = ev.traffic["tx"]["whole_run"]["packets"]
        rx = ev.traffic["rx"]["unique_whole_run"]
        print(f"  sent {tx}, received {rx} ({tx - rx} lost while no host served the VM)")
    if ev.download:
        start, end, size = ev.download
        print(f"  the TCP download ({size / 2**20:.0f} MiB) ran from {start / 1e3:.1f} s to "
              f"{end / 1e3:.1f} s (from the kill)")


def plot(ev, tl, png, data):
    """Per-packet latency against arrival time, from 5 s before the kill to
    10 s after the first output, with the recovery's steps."""
    with open(data, "w") as f:
        for x in ev.records:
            f.write(f"{x[0] / 1000:.4f} {x[1]:.3f}\n")
    marks = [("detected", tl.detected), ("restored", tl.restored),
             ("replay complete", tl.replay["complete"]), ("first output", tl.first_output)]
    lines = ['set terminal pngcairo size 1200,600',
             f'set output "{png}"',
             'set title "ftmb demo: per-packet latency through the NAT VM; host A killed at 0 s"',
             'set xlabel "arrival at the sink (s from the kill)"',
             'set ylabel "latency (ms)"', 'set logscale y', 'set grid',
             f'set xrange [-5:{tl.first_output / 1000 + 10:.1f}]',
             'set key top left',
             'set arrow from 0, graph 0 to 0, graph 1 nohead lw 2 lc rgb "red"',
             'set label "kill" at 0, graph 0.97 right offset -0.5,0 tc rgb "red"']
    for i, (name, ms) in enumerate(marks):
        if ms is None:
            continue
        lines.append(f'set arrow from {ms / 1000:.4f}, graph 0 to {ms / 1000:.4f}, graph 1 '
                     f'nohead dt 2 lc rgb "gray40"')
        lines.append(f'set label "{name}" at {ms / 1000:.4f}, graph {0.92 - 0.05 * i} '
                     f'left offset 0.5,0')
    if ev.download:
        start, end, _ = ev.download
        lines.append(f'set object rect from {start / 1000:.4f}, graph 0 to {end / 1000:.4f}, '
                     f'graph 1 behind fc rgb "#fff0c0" fs solid noborder')
        lines.append(f'set label "TCP download" at {start / 1000:.4f}, graph 0.03 left '
                     f'offset 0.5,0')
    lines.append(f'plot "{data}" using 1:2 with points pt 7 ps 0.25 lc rgb "blue" '
                 f'title "packet"')
    res = subprocess.run(["gnuplot"], input="\n".join(lines) + "\n", text=True,
                         capture_output=True)
    if res.returncode != 0 or not os.path.exists(png):
        raise Missing(f"gnuplot could not write {png}: {res.stderr.strip()} "
                      f"(tools/setup-deps.sh installs gnuplot-nox)")
    print()
    print(f"Plot of per-packet latency around the failure: {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evidence", required=True)
    ap.add_argument("--plot", help="PNG to write (needs gnuplot)")
    a = ap.parse_args()
    try:
        ev = Evidence(a.evidence)
        tl = Timeline(ev)
        print_timeline(ev, tl)
        print_breakdown(tl)
        v = verdict(ev)
        print_latency(ev, tl)
        if a.plot:
            plot(ev, tl, a.plot, os.path.join(a.evidence, "latency.dat"))
    except Missing as e:
        print(f"demo: the evidence does not show a recovery: {e}")
        print(f"demo: what to do: look at the logs next to {a.evidence} (rerun with KEEP=1 "
              f"to keep them)")
        sys.exit(2)
    print()
    print(f"demo verdict={v} detect_ms={tl.detected:.1f} restore_ms={tl.restore_ms:.1f} "
          f"replay_ms={tl.replay_ms:.1f} first_output_ms={tl.first_output:.1f}")
    sys.exit(0 if v == "consistent" else 1)


if __name__ == "__main__":
    main()
