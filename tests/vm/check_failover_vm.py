#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What one VM failover round did, from recorded evidence; and the summary.

  check_failover_vm.py round --work DIR --round N --mb MB --kill-after-ms MS
                       --verify-rc RC --results FILE [--unordered] [--host H]
                       [--replica-trace NAME] [--primary-trace NAME]
                       [--also-window FROM_NS,TO_NS]...
  check_failover_vm.py summary --results FILE --rounds N --failed-rounds F
                       --accel A [--unordered]

A round reads, in DIR (failover-vm.sh writes them; --host names the host
that took over, b by default, and the files named after it):
  kill             kill_after.py: the failure on CLOCK_MONOTONIC and CLOCK_REALTIME,
                   and when the traffic was started (CLOCK_REALTIME)
  status-b.json    hostd B's status after the failover (ftmbctl --json status)
  state-b/*.replay the log hostd B dumped for the replica (CUT, then INPUT, PAL)
  vhost-b.json     the replica ftmb-vhost's statistics (replay timeline, divergences)
  replica.trace    its trace: "rel" released, "sup" suppressed, with CLOCK_MONOTONIC
  primary.trace    the primary ftmb-vhost's trace; b.acks hostd B's ACK log
  gen.json         ftmb-traffic's report; gen.rec the sink's records
  verify.out       ftmb-verify's output (its exit code is --verify-rc)
  fdb              the bridge's entry for the VM's MAC at the end
and prints one line, appends a JSON object to --results, and exits 1 when
the round failed: no failover, no output of the replica reached the sink,
the bridge did not follow the replica, the primary released an output
before the backup held what it depends on, the replica's PAL records
differ from the logged ones, or ftmb-verify found a violation. With
--unordered a violation or a divergence is what the round should find.

Times, on CLOCK_MONOTONIC, from the failure:
  detect    hostd B declared host A failed (status, wall clock mapped
            through the kill's pair of clock readings)
  restore   hostd B's restore steps: prefill (RAM and region files from the
            store), the replica ftmb-vhost ready (log loaded, region attached,
            cut checked), QEMU loaded the rest of the checkpoint, running
  replay    the first logged input fed to the restored guest .. every logged
            record reproduced (ftmb-vhost's replay timeline)
  live      the replica went live (every input fed, announce sent)
  first_out the replica released its first output (its trace)
  recovery  the sink received the first frame the replica released
"""
import argparse
import glob
import json
import os
import statistics
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "hostproc"))
from check_failover import (REPL_HDR, REPL_INPUT, failover_of, iso_ns, missing_tx_ns,  # noqa: E402
                            ms, quantile, replica_trace)
from check_path import first_covering, load_acks, load_records, load_releases  # noqa: E402

REPL_TYPE_INPUT, REPL_TYPE_PAL, REPL_TYPE_CUT = 2, 3, 5
# Losses the failover explains: frames sent from a second before the
# failure (a TCG guest can hold a frame that long; one it had output before
# the last cut and the primary still held is gone with the primary) until
# 100 ms after the replica went live.
WINDOW_BEFORE_NS, WINDOW_AFTER_NS = 1_000_000_000, 100_000_000
# Frames a TCG guest may drop at its RX ring outside that window.
OUTSIDE_LOSS_MAX = 0.01


def losses(recs, flows, windows):
    """Per-flow sequence gaps: (inside a failover's window, outside).
    windows: (kill_ns, live_ns or None) of each failover in the run."""
    got, top = set(), {}
    for r in recs:
        got.add((r[0], r[5]))
        top[r[0]] = max(top.get(r[0], 0), r[5])
    when = missing_tx_ns(recs, flows)
    inside = outside = 0
    for flow, hi in top.items():
        for seq in range(1, hi):
            if (flow, seq) in got:
                continue
            t = when(flow, seq)
            if any(k - WINDOW_BEFORE_NS <= t <= (live or k) + WINDOW_AFTER_NS
                   for k, live in windows):
                inside += 1
            else:
                outside += 1
    return inside, outside


def read_replay(path):
    """Per queue the last input seq and per thread the last record counter
    that the checkpoint and the replay file together cover, and how many
    inputs the file holds after the cut."""
    data, off = open(path, "rb").read(), 0
    last_in, last_pal, inputs = {}, {}, 0
    while off + REPL_HDR.size <= len(data):
        length, ftype, _, _, _ = REPL_HDR.unpack_from(data, off)
        body = off + REPL_HDR.size
        if ftype == REPL_TYPE_CUT:
            _, n = struct.unpack_from("<QH", data, body)
            vals = struct.unpack_from(f"<{2 * n}Q", data, body + 16)
            last_in = dict(enumerate(vals[:n]))
            last_pal = dict(enumerate(vals[n:]))
        elif ftype == REPL_TYPE_INPUT:
            queue, _, _, seq = REPL_INPUT.unpack_from(data, body)
            last_in[queue] = seq
            inputs += 1
        elif ftype == REPL_TYPE_PAL:
            thread, count = struct.unpack_from("<HH", data, body)
            first, = struct.unpack_from("<Q", data, body + 8 + 8)
            last_pal[thread] = first + count - 1
        off += REPL_HDR.size + length
    return last_in, last_pal, inputs


def check_output_commit(w, host, primary_trace, last_in, last_pal):
    """Every output the primary released depended only on what the backup
    had acknowledged before, and on what the checkpoint and the replay file
    hold: the first problem, or None."""
    rels = load_releases(os.path.join(w, primary_trace), other_frames=True)
    acks = load_acks(os.path.join(w, f"{host}.acks"), 0)
    for (flow, seq), (t, thread, out_seq, dep_in, dep_pal) in sorted(rels.items(),
                                                                      key=lambda r: r[1][0]):
        ack = first_covering(acks, dep_in, dep_pal)
        what = (f"the primary released flow {flow} seq {seq} (thread {thread} output {out_seq}, "
                f"dep in={dep_in} pal={dep_pal})")
        if ack is None or ack[0] > t:
            return f"{what} before the backup acknowledged what it depends on"
        if any(d > last_in.get(q, 0) for q, d in enumerate(dep_in)) or \
                any(d > last_pal.get(q, 0) for q, d in enumerate(dep_pal)):
            return (f"{what} but the checkpoint and the replay file end at "
                    f"in={[last_in.get(q, 0) for q in range(len(dep_in))]} "
                    f"pal={[last_pal.get(q, 0) for q in range(len(dep_pal))]}")
    return None


def load_json(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def round_main(a):
    w = a.work
    res = {"round": a.round, "mb": a.mb, "kill_after_ms": a.kill_after_ms,
           "verify_rc": a.verify_rc, "problems": []}
    problems = res["problems"]
    kill_mono, kill_wall, _, gone, go_wall = map(int, open(os.path.join(w, "kill")).read().split())
    res["late_ms"] = (kill_wall - go_wall) / 1e6 - a.kill_after_ms
    res["old_gone_ms"] = ms(kill_mono, gone)
    to_mono = kill_mono - kill_wall
    gen = load_json(os.path.join(w, "gen.json"))
    recs = load_records(os.path.join(w, "gen.rec"))
    h, hostd = a.host, f"hostd {a.host.upper()}"
    status = load_json(os.path.join(w, f"status-{h}.json")) or {}
    fo = failover_of(status)
    state = (status.get("instances") or [{}])[0].get("state")
    replays = glob.glob(os.path.join(w, f"state-{h}", "*.replay"))
    vstats = ((load_json(os.path.join(w, f"vhost-{h}.json")) or {}).get("instances") or [None])[0]
    replay = (vstats or {}).get("replay") or {}
    at = {k: (v or None) for k, v in (replay.get("at_mono_ns") or {}).items()}

    # protected: re-protected by a third host since
    if state not in ("replica-live-unprotected", "protected") or not replays or not at.get("live"):
        problems.append(f"missed failover: {hostd} says {state} "
                        f"({(status.get('instances') or [{}])[0].get('last_error')}), "
                        f"{'a' if replays else 'no'} replay file, the replica "
                        f"{'went' if at.get('live') else 'never went'} live")
    last_in, last_pal, res["logged_after_cut"] = read_replay(replays[0]) if replays else ({}, {}, 0)
    if replays and os.path.exists(os.path.join(w, a.primary_trace)):
        p = check_output_commit(w, h, a.primary_trace, last_in, last_pal)
        if p:
            problems.append(p)

    detected = iso_ns(fo["detected_at"]) + to_mono if fo and fo.get("detected_at") else None
    res["detect_ms"] = ms(kill_mono, detected)
    if res["detect_ms"] is not None and res["detect_ms"] < 0:
        problems.append(f"{hostd} declared its primary failed {-res['detect_ms']:.0f} ms BEFORE the "
                        f"failure ({fo.get('reason')}): heartbeats late on an overloaded machine?")
        res["detect_ms"] = None
    rs = (fo or {}).get("restore") or {}
    res["dump_ms"] = (fo or {}).get("dump_ms")
    for k in ("prefill_ms", "vhost_ready_ms", "load_ms", "cont_ms", "restore_ms"):
        res[k] = rs.get(k)
    res["ckpt_seq"], res["epoch"] = rs.get("ckpt_seq"), rs.get("epoch")
    res["replay_ms"] = ms(at.get("first_fed"), at.get("complete"))
    res["live_ms"] = ms(kill_mono, at.get("live"))
    res["port_up_ms"] = ms(kill_mono, at.get("port_up"))

    trace = replica_trace(os.path.join(w, a.replica_trace))
    first_rel = min((t for k, t in trace.values() if k == "rel"), default=None)
    rel_keys = {key for key, (k, _) in trace.items() if k == "rel"}
    first_rx = min((r[7] for r in recs if (r[0], r[5]) in rel_keys and first_rel
                    and r[7] >= first_rel), default=None)
    res["first_out_ms"] = ms(kill_mono, first_rel)
    res["recovery_ms"] = ms(kill_mono, first_rx)
    if first_rx is None:
        problems.append("no output the replica released reached the sink")

    res["replayed"] = sum(replay.get("fed_inputs") or [])
    # Without logged records after the cut (the guest had not processed the
    # logged inputs yet) an unordered replay has no order to get wrong.
    res["threads_logged"] = sum(1 for n in replay.get("logged_records") or [] if n)
    res["suppressed"] = sum(q["suppressed"] for q in vstats["queues"]) if vstats else 0
    res["divergences"] = replay.get("divergences")
    if res["divergences"] and not a.unordered:
        problems.append(f"the replica's PAL records differ from the logged ones "
                        f"({res['divergences']} divergences)")

    fdb = open(os.path.join(w, "fdb")).read().split() if os.path.exists(os.path.join(w, "fdb")) else []
    res["fdb"] = fdb[fdb.index("dev") + 1] if "dev" in fdb else None
    if res["fdb"] != f"seg-{h}":
        problems.append(f"the bridge has the VM's MAC behind {res['fdb']}, not host {h.upper()}'s "
                        f"port")

    sent = gen["tx"]["whole_run"]["packets"] if gen else 0
    got = {(r[0], r[5]) for r in recs}
    res.update(sent=sent, received=len(got), lost=sent - len(got),
               duplicates=gen["rx"]["duplicates"] if gen else None,
               after=sum(1 for r in recs if r[7] > kill_mono))
    windows = [(kill_mono, at.get("live"))] + \
        [tuple(map(int, win.split(","))) for win in a.also_window]
    res["lost_window"], res["lost_outside"] = losses(recs, gen["flows"], windows) \
        if gen and recs else (0, 0)
    if res["lost_outside"] > OUTSIDE_LOSS_MAX * sent:
        problems.append(f"{res['lost_outside']} frames lost outside the failover's window "
                        f"(more than {OUTSIDE_LOSS_MAX:.0%} of {sent})")
    if recs and kill_mono > max(r[6] for r in recs):
        problems.append(f"nothing sent after the failure came back (the failure came "
                        f"{res['late_ms']:.0f} ms late; the traffic ended "
                        f"{(kill_mono - max(r[6] for r in recs)) / 1e6:.0f} ms before it, or "
                        f"before the replica served it: raise DURATION)")

    verdict = open(os.path.join(w, "verify.out")).read().strip()
    res["violation"] = a.verify_rc == 1
    if a.verify_rc not in (0, 1):
        problems.append(f"ftmb-verify could not check: {verdict}")
    elif res["violation"] and not a.unordered:
        problems.append("ftmb-verify: " + verdict.replace("\n", " | "))
    res["verify"] = verdict.splitlines()[0] if verdict else ""

    def f(v, unit=" ms"):
        return "?" if v is None else f"{v:.1f}{unit}"
    print(f"round {a.round} {a.mb} (failure {a.kill_after_ms} ms in, {res['late_ms']:+.0f} ms "
          f"late): detect {f(res['detect_ms'])}, recovery {f(res['recovery_ms'])} "
          f"[dump {f(res['dump_ms'])}, restore {f(res['restore_ms'])} (prefill "
          f"{f(res['prefill_ms'])}, replica vhost {f(res['vhost_ready_ms'])}, QEMU load "
          f"{f(res['load_ms'])}, cont {f(res['cont_ms'])}), replay {f(res['replay_ms'])}, live "
          f"{f(res['live_ms'])}, first output {f(res['first_out_ms'])}]; checkpoint "
          f"{res['ckpt_seq']} (epoch {res['epoch']}), {res['logged_after_cut']} inputs logged "
          f"after its cut, replayed {res['replayed']}, suppressed {res['suppressed']}, "
          f"divergences {res['divergences']}; sent {sent}, received {len(got)} "
          f"({res['after']} after the failure), lost {res['lost_window']} in the failover's "
          f"window and {res['lost_outside']} outside, duplicates {res['duplicates']}; bridge -> "
          f"{res['fdb']}; {res['verify']}")
    for p in problems:
        print(f"round {a.round}: FAIL: {p}")
    with open(a.results, "a") as out:
        out.write(json.dumps(res) + "\n")
    return 1 if problems else 0


def summary_main(a):
    rows = [json.loads(line) for line in open(a.results)] if os.path.exists(a.results) else []
    n = len(rows)
    viol = sum(r["violation"] for r in rows)
    catchable = [r for r in rows if r.get("threads_logged")]
    caught = sum(bool(r["violation"] or r.get("divergences")) for r in catchable)

    def col(name, rs=rows):
        return [r[name] for r in rs if r.get(name) is not None]
    for mb in ("monitor", "nat"):
        rs = [r for r in rows if r["mb"] == mb]
        if rs:
            parts = [f"{k} p50 {statistics.median(col(k, rs)):.1f}" for k in
                     ("detect_ms", "dump_ms", "prefill_ms", "vhost_ready_ms", "load_ms", "cont_ms",
                      "restore_ms", "replay_ms", "live_ms", "first_out_ms", "recovery_ms")
                     if col(k, rs)]
            print(f"summary {mb}: {len(rs)} rounds; " + ", ".join(parts))
    rec = col("recovery_ms")
    print(f"summary replayed p50 {quantile(col('replayed'), .5) if col('replayed') else 0} inputs, "
          f"divergences {sum(col('divergences'))}, verifier violations {viol}")
    name = "failover-vm-negative" if a.unordered else "failover-vm"
    print(f"{name} rounds={n} violations={viol} accel={a.accel} "
          f"detect_p50_ms={quantile(col('detect_ms'), .5):.1f} "
          f"recovery_p50_ms={quantile(rec, .5):.1f} "
          f"recovery_max_ms={max(rec, default=float('nan')):.1f}")
    if n != a.rounds:
        print(f"FAIL: {a.rounds - n} rounds left no result")
        return 1
    if a.unordered:
        m = len(catchable)
        print(f"summary negative control: {m} of {n} rounds had logged records after the cut "
              f"(an order to get wrong); {caught} of them caught")
        # At least half: a few dozen inputs after the cut can replay in the
        # logged order by chance (1 of 12 rounds in the last clean-clone
        # runs), which is no miss of the checks; at least one, for teeth.
        if caught < max(1, (m + 1) // 2):
            print(f"FAIL: negative control: only {caught} of {m} rounds replayed without the "
                  f"logged order, with an order to get wrong, were caught (ftmb-verify or the "
                  f"replica's divergence check)")
            return 1
        return 0
    return 1 if a.failed_rounds else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("round", "summary"))
    p.add_argument("--work")
    p.add_argument("--round", type=int)
    p.add_argument("--mb")
    p.add_argument("--kill-after-ms", type=int)
    p.add_argument("--verify-rc", type=int)
    p.add_argument("--results", required=True)
    p.add_argument("--rounds", type=int)
    p.add_argument("--failed-rounds", type=int, default=0)
    p.add_argument("--accel", default="tcg")
    p.add_argument("--unordered", action="store_true")
    p.add_argument("--host", default="b")
    p.add_argument("--replica-trace", default="replica.trace")
    p.add_argument("--primary-trace", default="primary.trace")
    p.add_argument("--also-window", action="append", default=[],
                   help="another failover's FROM_NS,TO_NS (CLOCK_MONOTONIC): its losses are "
                        "explained too")
    a = p.parse_args()
    return round_main(a) if a.what == "round" else summary_main(a)


if __name__ == "__main__":
    sys.exit(main())
