#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checkpoint round trip through patched QEMU under TCG.

Boots a guest running ckpt-counter, with a vhost-user virtio-net (MSI-X on;
DPDK testpmd as the backend) and an ivshmem region, starts ftmb checkpoints
(x-ftmb-start) towards ftmb-ckpt through a relay, takes checkpoints while measuring each
pause next to a bare QMP stop+cont, takes a last good checkpoint with the VM
stopped (hashing its RAM and ivshmem region and reading the counter from
RAM), then one more checkpoint that the relay cuts in half. It kills QEMU,
has ftmb-ckpt restore its store into a fresh QEMU with the identical command
line, and checks that:
  (a) the counter continues from the value the checkpoint holds, not from 0;
  (b) the restored RAM and ivshmem region equal those at the pause (hashes);
  (c) the checkpoint cut mid-stream was not used (the store kept the one
      before it, and the counter proves the guest resumed from that one).
"""

import argparse
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from qmp import QMP, QMPError

HDR_LEN = 48
MAGIC = 0x4B435446
CHECKPOINT = 2
MARKER = b"FTMB-CKPT-COUNT\0"


def fail(msg):
    print(f"roundtrip: FAIL: {msg}", flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print(f"roundtrip: ok: {msg}", flush=True)


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class Relay(threading.Thread):
    """Forwards the checkpoint stream from QEMU to ftmb-ckpt frame by frame;
    once armed, forwards only the first half of checkpoint `cut_seq` and then
    closes the receiver's end, as a connection that breaks mid-frame."""

    def __init__(self, src, dst_fd):
        super().__init__(daemon=True)
        self.src, self.dst_fd = src, dst_fd
        self.cut_seq = None
        self.cut_done = threading.Event()

    def _write_all(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.dst_fd, view)
            view = view[n:]

    def run(self):
        buf = bytearray()
        remaining = 0  # body bytes of the current frame still to pass
        cutting_at = None  # body bytes to forward before cutting
        while True:
            data = self.src.recv(1 << 20)
            if not data:
                break
            buf += data
            while buf:
                if remaining == 0:
                    if len(buf) < HDR_LEN:
                        break
                    magic, _, ftype, _, _, seq, ram_len, dev_len = struct.unpack_from(
                        "<IHHIIQQQ", buf)
                    if magic != MAGIC:
                        fail("relay: stream lost frame sync")
                    remaining = ram_len + dev_len
                    if ftype == CHECKPOINT and seq == self.cut_seq:
                        cutting_at = remaining // 2
                    self._write_all(bytes(buf[:HDR_LEN]))
                    del buf[:HDR_LEN]
                take = min(remaining, len(buf))
                if cutting_at is not None and self.dst_fd is not None:
                    part = min(take, cutting_at)
                    self._write_all(bytes(buf[:part]))
                    cutting_at -= part
                    if cutting_at == 0:
                        os.close(self.dst_fd)
                        self.dst_fd = None
                        self.cut_done.set()
                elif self.dst_fd is not None:
                    self._write_all(bytes(buf[:take]))
                del buf[:take]
                remaining -= take
        if self.dst_fd is not None:
            os.close(self.dst_fd)


class Receiver:
    """ftmb-ckpt receive --json, with its events read in the background."""

    def __init__(self, ckpt, stream_fd, qemu_argv, extra=()):
        self.proc = subprocess.Popen(
            [ckpt, "receive", "--fd", str(stream_fd), "--json", "--restore", *extra, "--",
             *qemu_argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(stream_fd,), text=True)
        self.events = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        import json
        for line in self.proc.stdout:
            with self.cond:
                self.events.append(json.loads(line))
                self.cond.notify_all()

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    fail(f"ftmb-ckpt: no {what} within {timeout} s (events: {self.events[-3:]})")
                self.cond.wait(left)


class Serial:
    def __init__(self, path):
        self.path = path

    def ticks(self):
        try:
            with open(self.path, "rb") as f:
                return [int(m) for m in re.findall(rb"TICK (\d+)\r?\n", f.read())]
        except FileNotFoundError:
            return []

    def wait_tick(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.ticks()
            hit = [x for x in t if pred(x)]
            if hit:
                return hit[0], t
            time.sleep(0.05)
        fail(f"serial: no {what} within {timeout} s (last ticks {self.ticks()[-3:]})")


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def ram_counter(path):
    """The guest's count, found in a RAM image next to its marker."""
    with open(path, "rb") as f:
        data = f.read()
    found = set()
    for m in re.finditer(re.escape(MARKER), data):
        count, chk = struct.unpack_from("<QQ", data, m.end())
        if chk == (~count & (2**64 - 1)):
            found.add(count)
    if len(found) != 1:
        fail(f"expected one counter in guest RAM, found {sorted(found)}")
    return found.pop()


def start_vhost_backend(a, d, tag):
    """DPDK testpmd as the vhost-user backend, echoing what the guest sends.
    It polls one core; the run is short."""
    log = open(d["testpmd_log"], "w")
    p = subprocess.Popen(
        [a.testpmd, "-l", "0,1", "--no-huge", "-m", "256", "--no-pci", f"--file-prefix={tag}",
         "--vdev", f"net_vhost0,iface={d['vhost']},queues=1", "--",
         "--forward-mode=io", "--nb-cores=1", "--total-num-mbufs=4096"],
        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not os.path.exists(d["vhost"]):
        if p.poll() is not None or time.monotonic() > deadline:
            fail(f"testpmd did not create {d['vhost']} (see its log)")
        time.sleep(0.05)
    return p


def vhost_messages(d, name):
    with open(d["testpmd_log"], errors="replace") as f:
        return f.read().count(f"read message {name}")


def vm_argv(a, d):
    return [a.qemu, "-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults", "-display", "none",
            "-no-reboot",
            "-chardev", f"socket,id=vh,path={d['vhost']}",
            "-netdev", "vhost-user,id=net0,chardev=vh",
            "-device", "virtio-net-pci,netdev=net0",
            "-object", f"memory-backend-file,id=ram,size=256M,mem-path={d['ram']},share=on",
            "-machine", "pc,memory-backend=ram",
            "-object", f"memory-backend-file,id=shm,size=1M,mem-path={d['shm']},share=on",
            "-device", "ivshmem-plain,memdev=shm,master=on",
            "-serial", f"file:{d['serial']}",
            "-qmp", f"unix:{d['qmp']},server=on,wait=off",
            "-kernel", a.kernel, "-initrd", a.initrd, "-append", a.append]


def expect_error(q, text, name, **args):
    try:
        q.cmd(name, **args)
    except QMPError as e:
        check(text in str(e), f"{name} refused: {e}")
        return
    fail(f"{name} succeeded, expected an error about '{text}'")


def measure_stop_cont(q):
    t0 = time.monotonic()
    q.cmd("stop")
    q.cmd("cont")
    return (time.monotonic() - t0) * 1e6


def restore_and_check(d, rx, procs, serial, mode, expect):
    """Restores the store into a fresh QEMU, streaming all of it ("stream")
    or prefilling the RAM file ("prefill"), and checks the replica."""
    for f in (d["ram"], d["shm"], d["serial"]):
        if os.path.exists(f):
            os.unlink(f)
    t0 = time.monotonic()
    rx.proc.stdin.write("restore\n" if mode == "stream" else "prefill\n")
    rx.proc.stdin.flush()
    n = sum(e["event"] == "restored" for e in rx.events)
    r = rx.wait(lambda e: e["event"] == "restore-failed" or
                (e["event"] == "restored" and
                 sum(x["event"] == "restored" for x in rx.events[:rx.events.index(e) + 1]) > n),
                120, f"restore ({mode})")
    if r["event"] != "restored":
        fail(f"restore ({mode}): {r['what']}")
    procs.append(r["pid"])
    q = QMP(d["qmp"])
    while q.cmd("query-status")["status"] != "paused" or \
            q.cmd("query-migrate").get("status") != "completed":
        time.sleep(0.002)
    t_paused = (time.monotonic() - t0) * 1e3
    print(f"roundtrip: restore ({mode}): {r['prefill_bytes']} bytes prefilled, stream "
          f"{r['stream_bytes']} bytes ({r['pages']} pages, {r['zero_pages']} zero records), "
          f"loaded in {r['load_ms']:.1f} ms; paused replica on QMP after {t_paused:.1f} ms",
          flush=True)

    count, good, later = expect["count"], expect["good"], expect["later"]
    check(file_hash(d["ram"]) == expect["ram"],
          f"(b) {mode}: restored RAM equals RAM at the pause (sha256)")
    check(file_hash(d["shm"]) == expect["shm"],
          f"(b) {mode}: restored ivshmem region equals the region at the pause, host writes "
          f"included")
    check(ram_counter(d["ram"]) == count, f"{mode}: restored RAM holds counter {count}")
    q.cmd("cont")
    first, _ = serial.wait_tick(lambda t: True, 30, "TICK after restore")
    check(first in (count, count + 1),
          f"(a) {mode}: counter continues from the checkpoint: first TICK after restore "
          f"{first}, checkpoint held {count}")
    check(first < later, f"(c) {mode}: the guest resumed from checkpoint {good}, not from the "
          f"cut {good + 1} (guest was past {later})")
    serial.wait_tick(lambda t: t >= first + 20, 30, f"TICK {first + 20}")
    print(f"roundtrip: ok: {mode}: replica keeps counting", flush=True)
    q.close()
    os.kill(r["pid"], signal.SIGKILL)
    while os.path.exists(f"/proc/{r['pid']}") and \
            open(f"/proc/{r['pid']}/stat").read().split()[2] != "Z":
        time.sleep(0.01)
    return r, t_paused


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--ckpt", required=True, help="the ftmb-ckpt binary")
    ap.add_argument("--testpmd", default="dpdk-testpmd", help="vhost-user backend")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--append", required=True)
    ap.add_argument("--checkpoints", type=int, default=30)
    ap.add_argument("--interval-ms", type=int, default=50)
    a = ap.parse_args()

    tag = f"ftmb-qemu-rt-{os.getpid()}"
    rundir = f"/tmp/{tag}"
    os.makedirs(rundir)
    d = {"ram": f"/dev/shm/{tag}-ram", "shm": f"/dev/shm/{tag}-shm",
         "serial": f"{rundir}/serial.log", "qmp": f"{rundir}/qmp.sock",
         "vhost": f"{rundir}/vhost.sock", "testpmd_log": f"{rundir}/testpmd.log"}
    argv = vm_argv(a, d)
    procs = []

    def cleanup():
        for p in procs:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for f in (d["ram"], d["shm"]):
            if os.path.exists(f):
                os.unlink(f)
        subprocess.run(["rm", "-rf", rundir])

    try:
        procs.append(start_vhost_backend(a, d, tag).pid)
        run(a, d, argv, procs)
    finally:
        cleanup()


def run(a, d, argv, procs):
    serial = Serial(d["serial"])
    t_boot = time.monotonic()
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    procs.append(qemu.pid)
    q = QMP(d["qmp"])
    serial.wait_tick(lambda t: t >= 20, 120, "TICK 20 (guest boot)")
    print(f"roundtrip: guest counting {time.monotonic() - t_boot:.1f} s after QEMU started",
          flush=True)

    ours, theirs = socket.socketpair()
    theirs_fd = theirs.detach()
    pipe_r, pipe_w = os.pipe()
    # The replica's RAM file is created anew, so its zero pages need not travel
    rx = Receiver(a.ckpt, pipe_r, argv, ["--fresh-zero", "ram", "--prefill", f"ram={d['ram']}"])
    os.close(pipe_r)
    relay = Relay(ours, pipe_w)
    relay.start()

    expect_error(q, "not running", "x-ftmb-checkpoint")
    expect_error(q, "not a memory backend", "x-ftmb-start", fd="ckpt",
                 **{"always-dirty": ["no-such-backend"]})
    q.cmd("getfd", fdname="ckpt", fds=[theirs_fd])
    os.close(theirs_fd)
    q.cmd("x-ftmb-start", fd="ckpt", **{"always-dirty": ["shm"]})
    expect_error(q, "already running", "x-ftmb-start", fd="ckpt")
    expect_error(q, "ftmb checkpoints are running", "migrate", uri="exec:cat >/dev/null")
    hello = rx.wait(lambda e: e["event"] == "hello", 10, "HELLO")
    print(f"roundtrip: HELLO machine {hello['machine']}, RAM blocks {hello['blocks']}", flush=True)

    ck_pause, ck_rtt, ck_pages, sc_rtt = [], [], [], []
    shm = open(d["shm"], "r+b")
    for i in range(1, a.checkpoints + 1):
        time.sleep(a.interval_ms / 1e3)
        t0 = time.monotonic()
        info = q.cmd("x-ftmb-checkpoint")
        ck_rtt.append((time.monotonic() - t0) * 1e6)
        if info["seq"] != i:
            fail(f"checkpoint {i} has seq {info['seq']}")
        if i == 1:
            print(f"roundtrip: full checkpoint: {info['dirty-pages']} pages, "
                  f"{info['ram-bytes']} RAM bytes, {info['dev-bytes']} device bytes, "
                  f"pause {info['pause-us']} us", flush=True)
            # measure from here on, once the big first frame is stored
            rx.wait(lambda e: e["event"] == "applied" and e["seq"] == 1, 60, "checkpoint 1")
            ck_rtt.clear()
        else:
            ck_pause.append(info["pause-us"])
            ck_pages.append(info["dirty-pages"])
        # The host writes the ivshmem region: never dirty-tracked
        shm.seek(4096)
        shm.write(b"HOST-WROTE-%06d" % i)
        shm.flush()
        time.sleep(a.interval_ms / 1e3)
        sc_rtt.append(measure_stop_cont(q))
    rx.wait(lambda e: e["event"] == "applied" and e["seq"] == a.checkpoints, 30,
            f"checkpoint {a.checkpoints} applied")

    # The last good checkpoint, taken with the VM stopped so that its RAM can
    # be hashed at exactly the state the checkpoint holds.
    q.cmd("stop")
    shm.seek(8192)
    shm.write(b"HOST-FINAL")
    shm.flush()
    count = ram_counter(d["ram"])
    ram_hash, shm_hash = file_hash(d["ram"]), file_hash(d["shm"])
    good = a.checkpoints + 1
    info = q.cmd("x-ftmb-checkpoint")
    check(info["seq"] == good, f"checkpoint {good} taken with the VM stopped")
    q.cmd("cont")
    rx.wait(lambda e: e["event"] == "applied" and e["seq"] == good, 30, f"checkpoint {good}")
    print(f"roundtrip: at checkpoint {good}: counter {count} in RAM, ram sha256 {ram_hash[:16]}, "
          f"ivshmem sha256 {shm_hash[:16]}", flush=True)

    # One more checkpoint, cut in half on its way to the store.
    serial.wait_tick(lambda t: t >= count + 50, 30, f"TICK {count + 50}")
    relay.cut_seq = good + 1
    info = q.cmd("x-ftmb-checkpoint")
    later = max(serial.ticks())
    if not relay.cut_done.wait(30):
        fail(f"relay never saw checkpoint {good + 1}")
    ended = rx.wait(lambda e: e["event"] in ("stream-failed", "stream-ended"), 30, "stream end")
    store = rx.wait(lambda e: e["event"] == "store", 5, "store report")
    print(f"roundtrip: checkpoint {good + 1} (guest at TICK >= {later}) cut in half: "
          f"{ended.get('what', ended['event'])}", flush=True)
    check("stream ended inside checkpoint" in ended.get("what", ""),
          "ftmb-ckpt reports the truncated checkpoint")
    check(store["seq"] == good, f"store keeps checkpoint {good}, not the cut {good + 1}")

    q.cmd("x-ftmb-stop")
    expect_error(q, "not running", "x-ftmb-stop")

    # The primary dies; its memory files go with it.
    os.kill(qemu.pid, signal.SIGKILL)
    qemu.wait()
    q.close()
    shm.close()
    os.rename(d["serial"], d["serial"] + ".primary")

    expect = {"ram": ram_hash, "shm": shm_hash, "count": count, "later": later, "good": good}
    restores = {}
    for mode in ("stream", "prefill"):
        restores[mode] = restore_and_check(d, rx, procs, serial, mode, expect)
    check(vhost_messages(d, "VHOST_USER_SET_LOG_BASE") >= 1,
          "the vhost-user backend got a dirty log (SET_LOG_BASE)")
    # 2 rings; the checkpoint taken while stopped does not stop them again
    quiesced = vhost_messages(d, "VHOST_USER_GET_VRING_BASE")
    stops = (a.checkpoints + 1) + (len(sc_rtt) + 1)
    check(quiesced >= 2 * stops,
          f"the vhost-user rings were stopped at every checkpoint ({quiesced} GET_VRING_BASE "
          f"for {a.checkpoints + 1} running checkpoints and {len(sc_rtt) + 1} stops)")

    print(f"roundtrip: checkpoint pause (in QEMU, {len(ck_pause)} incremental): "
          f"p50 {pct(ck_pause, 50)} us, p99 {pct(ck_pause, 99)} us; dirty pages p50 "
          f"{pct(ck_pages, 50)}, max {max(ck_pages)}")
    print(f"roundtrip: x-ftmb-checkpoint QMP round trip: p50 {pct(ck_rtt, 50):.0f} us, "
          f"p99 {pct(ck_rtt, 99):.0f} us")
    print(f"roundtrip: bare QMP stop+cont (same run): p50 {pct(sc_rtt, 50):.0f} us, "
          f"p99 {pct(sc_rtt, 99):.0f} us")
    for mode, (r, t_paused) in restores.items():
        print(f"roundtrip: restore ({mode}): {r['load_ms']:.1f} ms to load "
              f"({r['prefill_ms']:.1f} ms prefilling {r['prefill_bytes']} bytes, "
              f"{r['stream_bytes']} stream bytes), {t_paused:.1f} ms to a paused replica on QMP")
    print("roundtrip: PASS")


if __name__ == "__main__":
    main()
