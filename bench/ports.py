#!/usr/bin/env python3
"""Loopback ports for bench/run.sh and bench/load.sh: pick free ones, and check who listens.

    ports.py reserve N OWNER_PID     print N free ports, one per line, reserved for OWNER_PID
    ports.py release OWNER_PID       drop OWNER_PID's reservations (also done lazily once it died)
    ports.py wait PORT PID NAME [SECS] [LOG]
                                     wait until PID (or a child of it) listens on 127.0.0.1:PORT;
                                     exit 1 with a message naming the port otherwise

Why not the fixed ports the script used to have: one collided with another program on a shared
machine and the run aborted. Why not bind(0) either: the kernel hands those ports out of the
ephemeral range, which every outgoing connection and every test server on port 0 draws from too
(on a machine where test suites run beside the benchmark, a released port is taken again within
seconds). So `reserve` draws random ports from *below* the ephemeral range (above it when the range
starts too low), keeps each one bound while it picks the others (so they are free and distinct),
writes one reservation file per port under $TMPDIR/shim-bench-ports, under a lock, and skips
ports another live run reserved: two runs of the scripts at the same time never pick the same
port. The sockets are then closed so the servers can bind them; `wait` checks each server did.
"""

import errno
import fcntl
import os
import random
import socket
import sys
import time

DIR = os.path.join(os.environ.get("TMPDIR", "/tmp"), "shim-bench-ports")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def reserved_by_others(owner):
    """Ports reserved by live runs other than `owner`; removes reservations of dead runs."""
    taken = set()
    for name in os.listdir(DIR):
        if not name.isdigit():
            continue
        path = os.path.join(DIR, name)
        try:
            pid = int(open(path).read().strip() or 0)
        except (OSError, ValueError):
            continue
        if pid != owner and alive(pid):
            taken.add(int(name))
        elif pid != owner:
            try:
                os.unlink(path)
            except OSError:
                pass
    return taken


def candidates():
    lo, hi = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    if lo - 10000 >= 2000:
        ports = list(range(10000, lo))
    elif 65535 - hi >= 2000:
        ports = list(range(hi + 1, 65536))
    else:
        return None  # no room outside the ephemeral range: fall back to bind(0)
    random.shuffle(ports)
    return ports


def reserve(n, owner):
    os.makedirs(DIR, exist_ok=True)
    with open(os.path.join(DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        taken = reserved_by_others(owner)
        held, ports = [], []
        pool = candidates()
        tries = 0
        while len(ports) < n:
            tries += 1
            if tries > 20000:
                sys.exit(f"ports.py: found only {len(ports)} of {n} free loopback ports")
            port = pool.pop() if pool else 0
            if port in taken or port in ports:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                # No SO_REUSEADDR: a port with a connection in TIME_WAIT is skipped too.
                s.bind(("127.0.0.1", port))
            except OSError as e:
                s.close()
                if e.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue
                raise
            port = s.getsockname()[1]
            if port in taken or port in ports:
                s.close()
                continue
            held.append(s)
            ports.append(port)
        for port in ports:
            with open(os.path.join(DIR, str(port)), "w") as f:
                f.write(f"{owner}\n")
        for s in held:
            s.close()
    print("\n".join(str(p) for p in ports))


def release(owner):
    if not os.path.isdir(DIR):
        return
    with open(os.path.join(DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in os.listdir(DIR):
            path = os.path.join(DIR, name)
            try:
                if name.isdigit() and int(open(path).read().strip() or 0) == owner:
                    os.unlink(path)
            except (OSError, ValueError):
                pass


def listening_inodes(port):
    """Inodes of the TCP sockets listening on `port` on an address 127.0.0.1 reaches."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            addr, hexport = f[1].rsplit(":", 1)
            if f[3] != "0A" or int(hexport, 16) != port:
                continue
            # 127.0.0.1 / 0.0.0.0, and in tcp6 :: and ::ffff:127.0.0.1 (hex in host order).
            if addr in ("0100007F", "00000000", "0" * 32, "0000000000000000FFFF00000100007F"):
                inodes.add(f[9])
    return inodes


def tree(pid):
    """`pid` and its descendants (nginx's workers are children of its master)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
                kids.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def holders(inodes, pids):
    found = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    found.setdefault(link[8:-1], set()).add(pid)
        except OSError:
            pass
    return found


def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return "?"


def running(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1][0] not in "ZX"
    except (OSError, IndexError):
        return False


def who(inodes):
    everyone = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    pids = sorted({p for s in holders(inodes, everyone).values() for p in s})
    return ", ".join(f"pid {p} ({comm(p)})" for p in pids) or "a process of another user"


def wait(port, pid, name, secs, log):
    deadline = time.monotonic() + secs
    while True:
        inodes = listening_inodes(port)
        ours = holders(inodes, tree(pid)) if inodes else {}
        if inodes and set(ours) == inodes:
            return
        if ours:
            # SO_REUSEPORT lets two processes of one user listen on one port.
            fail(f"port {port}: {name} (pid {pid}) shares it with {who(inodes - set(ours))}; "
                 "the kernel would spread the load over both", log)
        if not running(pid):
            held = f"; the port is held by {who(inodes)}" if inodes else ""
            fail(f"port {port}: {name} (pid {pid}) exited before listening on it{held}", log)
        if time.monotonic() > deadline:
            if inodes:
                fail(f"port {port}: held by {who(inodes)}, not by {name} (pid {pid})", log)
            fail(f"port {port}: {name} (pid {pid}) is not listening on 127.0.0.1:{port} "
                 f"after {secs:.0f} s", log)
        time.sleep(0.05)


def fail(msg, log):
    print(f"bench: {msg}", file=sys.stderr)
    if log and os.path.exists(log):
        tail = open(log, errors="replace").read().splitlines()[-15:]
        print(f"last lines of {log}:", *("  " + l for l in tail), sep="\n", file=sys.stderr)
    sys.exit(1)


def main():
    a = sys.argv[1:]
    if a[:1] == ["reserve"] and len(a) == 3:
        reserve(int(a[1]), int(a[2]))
    elif a[:1] == ["release"] and len(a) == 2:
        release(int(a[1]))
    elif a[:1] == ["wait"] and 4 <= len(a) <= 6:
        wait(int(a[1]), int(a[2]), a[3], float(a[4]) if len(a) > 4 else 20.0,
             a[5] if len(a) > 5 else "")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
