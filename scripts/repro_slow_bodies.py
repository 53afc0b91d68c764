#!/usr/bin/env python3
"""Issue 20, items 3, 4, 6 and 7, reproduced against a built binary (the same script measures before
and after; it uses only configuration keys both know):

    scripts/repro_slow_bodies.py [BIN]       (default target/debug/deprecation-shim)
    REPRO_ONLY=7 scripts/repro_slow_bodies.py [BIN]    (item 7 alone)

A simulated 8.0 cluster (20 ms added to every reply) and a shim in front of it with
`upstream.request_timeout = "5s"` and `rules.version_cache_ttl = "2s"`, the rest default.

- Item 3, slow bodies: 256 sockets from 127.0.0.2 open the legacy module-upgrade route without
  credentials and send one body byte every 2 s. Meanwhile, from 127.0.0.1, the admin's legacy
  module upgrade and a debuginfo download: their status and time. Then the version cache runs
  out and 150 junk callers (well-formed, wrong credentials) from 127.0.0.2 hit the debuginfo
  route, and 0.1 s later the admin (accepted by the cluster a moment ago) does too: its time.
- Item 4: a 3.5 MiB pass-through `PUT /v1/cluster` sent at 0.5 MiB/s (7 s, longer than
  request_timeout): the status and when it came.
- Item 6: 4 clients send unauthenticated calls of the debuginfo route (a 4 KiB User-Agent
  each) for 10 s, keep-alive: calls made, audit bytes written, and that rate per hour.
- Item 7: a second shim with an admin port (and `admin.token_file` where the binary knows it):
  a viewer's call, then whether `/deprecations` names callers to anyone; then 10,001 junk
  callers (no credentials, each its own User-Agent) and the admin's first call: the shim's RSS
  before and after, and whether the admin gets a row of its own (read with the token where
  there is one).

Loopback only, ports from bench/ports.py; every server is stopped at the end.
"""

import base64
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTS = os.path.join(ROOT, "bench", "ports.py")
ADMIN = "Basic " + base64.b64encode(b"admin@example.com:sim-admin-pass").decode()
VIEWER = "Basic " + base64.b64encode(b"viewer@example.com:sim-viewer-pass").decode()
UPGRADE = b'{"modules":[{"module_name":"ReJSON","new_module":"e498441c107b69c94feae975a9f78330"}]}'


def ports(n):
    out = subprocess.run([sys.executable, PORTS, "reserve", str(n), str(os.getpid())],
                         check=True, capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def wait(port, proc, name, log):
    subprocess.run([sys.executable, PORTS, "wait", str(port), str(proc.pid), name, "10", log],
                   check=True)


def call(port, method, path, headers=None, body=None, timeout=60):
    """One request from 127.0.0.1: (status, seconds)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - started
    except OSError as e:
        return f"error ({e.__class__.__name__})", time.monotonic() - started
    finally:
        conn.close()


def from_other_host(port):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def slow_sockets(port, n, stop):
    """n connections trickling a module upgrade's body, one byte every 2 s, until `stop`."""
    head = (f"POST /v1/modules/upgrade/bdb/1 HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()
    socks, answered = [], []
    for _ in range(n):
        try:
            s = from_other_host(port)
            s.sendall(head)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            pass

    def trickle():
        while not stop.wait(2):
            for s in list(socks):
                try:
                    s.send(b" ")
                except OSError:
                    pass
            for s in list(socks):
                try:
                    data = s.recv(4096)
                    if data.startswith(b"HTTP/1.1 "):
                        answered.append(data[9:12].decode())
                        socks.remove(s)
                except BlockingIOError:
                    pass
                except OSError:
                    socks.remove(s)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    return socks, answered, t


def junk_flood(port, n):
    def one(i):
        auth = "Basic " + base64.b64encode(f"junk{i}@example.com:wrong".encode()).decode()
        try:
            s = from_other_host(port)
            s.sendall(f"GET /v1/debuginfo/all HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                      f"Connection: close\r\n\r\n".encode())
            while s.recv(65536):
                pass
            s.close()
        except OSError:
            pass
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def slow_put(port, size, rate):
    """PUT /v1/cluster with `size` bytes of padded JSON at `rate` bytes/s: (status, seconds)."""
    body = b'{"name": "cluster.example.com"}'
    body += b" " * (size - len(body))
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(60)
    started = time.monotonic()
    s.sendall(f"PUT /v1/cluster HTTP/1.1\r\nHost: x\r\nAuthorization: {ADMIN}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {size}\r\n"
              f"Connection: close\r\n\r\n".encode())
    piece = rate // 10
    try:
        for i in range(0, size, piece):
            s.sendall(body[i:i + piece])
            time.sleep(0.1)
        reply = s.recv(64)
        status = reply[9:12].decode() if reply.startswith(b"HTTP/1.1 ") else "no reply"
    except OSError as e:
        status = f"cut ({e.__class__.__name__})"
    finally:
        s.close()
    return status, time.monotonic() - started


def junk_audit(port, audit, clients, secs):
    """`clients` threads of unauthenticated debuginfo calls for `secs`: (calls, audit bytes)."""
    before = os.path.getsize(audit) if os.path.exists(audit) else 0
    ua = "junk/" + "x" * 4096
    counts = [0] * clients
    deadline = time.monotonic() + secs

    def one(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            try:
                conn.request("GET", "/v1/debuginfo/all", headers={"User-Agent": ua})
                conn.getresponse().read()
                counts[i] += 1
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = os.path.getsize(audit) if os.path.exists(audit) else 0
    return sum(counts), after - before


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def admin_port_item(binary, work, sim_port):
    """Item 7 on its own shim: (names shown without token, rss before, rss after, admin row)."""
    shim_port, admin_port = ports(2)
    token = os.path.join(work, "admin.token")
    with open(token, "w") as f:
        f.write("repro-admin-token-0123456789\n")
    os.chmod(token, 0o600)
    base = (f'[listen]\naddress = "127.0.0.1:{shim_port}"\n'
            f'[upstream]\nurl = "http://127.0.0.1:{sim_port}"\n'
            f'[rules]\nrs_version = "8.0.2"\n'
            f'[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    cfg = os.path.join(work, "admin.toml")
    with open(cfg, "w") as f:
        f.write(base + f'token_file = "{token}"\n')
    knows_token = subprocess.run([binary, "check", "--config", cfg],
                                 capture_output=True).returncode == 0
    if not knows_token:
        with open(cfg, "w") as f:
            f.write(base)
    log = os.path.join(work, "admin-shim.log")
    proc = subprocess.Popen([binary, "--config", cfg], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)
    try:
        wait(shim_port, proc, "shim-admin", log)
        # The version is configured (every call is audited, whatever the binary); a viewer's
        # call first, the admin's last.
        call(shim_port, "GET", "/v1/debuginfo/all", {"Authorization": VIEWER})

        def deprecations(with_token):
            headers = {"Authorization": "Bearer repro-admin-token-0123456789"} if with_token else {}
            conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=30)
            conn.request("GET", "/deprecations", headers=headers)
            doc = __import__("json").loads(conn.getresponse().read())
            conn.close()
            return doc
        shown = [c.get("user") for c in deprecations(False).get("callers", [])]
        before = rss_kib(proc.pid)
        conn = http.client.HTTPConnection("127.0.0.1", shim_port, timeout=10)
        for i in range(10_001):
            try:
                conn.request("GET", "/v1/debuginfo/all", headers={"User-Agent": f"junk/{i}"})
                conn.getresponse().read()
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", shim_port, timeout=10)
        conn.close()
        call(shim_port, "GET", "/v1/debuginfo/all", {"Authorization": ADMIN})
        after = rss_kib(proc.pid)
        rows = deprecations(knows_token).get("callers", [])
        admin_row = any(c.get("user") == "admin@example.com" for c in rows)
        return shown, before, after, admin_row, knows_token
    finally:
        proc.kill()
        proc.wait()


def report_item7(binary, work, sim_port):
    shown, before, after, admin_row, knows_token = admin_port_item(binary, work, sim_port)
    print(f"item 7, /deprecations without a token names: {shown or 'nobody'}")
    print(f"item 7, 10,001 junk callers then the admin: RSS {before / 1024:.1f} -> "
          f"{after / 1024:.1f} MiB; the admin has its own row: {admin_row}"
          f" (read {'with the token' if knows_token else 'openly: no admin.token_file'})")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/deprecation-shim")
    work = tempfile.mkdtemp()
    sim_port, shim_port = ports(2)
    procs = []
    try:
        sim_log = os.path.join(work, "sim.log")
        procs.append(subprocess.Popen([binary, "simulate", "--listen", f"127.0.0.1:{sim_port}",
                                       "--version", "8.0"], stdout=open(sim_log, "w"),
                                      stderr=subprocess.STDOUT))
        wait(sim_port, procs[0], "simulator", sim_log)
        call(sim_port, "POST", "/__sim/faults", {"content-type": "application/json"},
             b'{"latency_ms": 20}')
        cfg = os.path.join(work, "shim.toml")
        with open(cfg, "w") as f:
            f.write(f'[listen]\naddress = "127.0.0.1:{shim_port}"\n'
                    f'[upstream]\nurl = "http://127.0.0.1:{sim_port}"\nrequest_timeout = "5s"\n'
                    f'[rules]\nversion_cache_ttl = "2s"\n'
                    f'[audit]\npath = "{work}/audit.jsonl"\n')
        shim_log = os.path.join(work, "shim.log")
        procs.append(subprocess.Popen([binary, "--config", cfg], stdout=open(shim_log, "w"),
                                      stderr=subprocess.STDOUT))
        wait(shim_port, procs[1], "shim", shim_log)
        print(f"binary: {binary}")

        if os.environ.get("REPRO_ONLY") == "7":
            report_item7(binary, work, sim_port)
            return
        stop = threading.Event()
        socks, answered, t = slow_sockets(shim_port, 256, stop)
        time.sleep(3)
        up = call(shim_port, "POST", "/v1/modules/upgrade/bdb/1",
                  {"Authorization": ADMIN, "Content-Type": "application/json"}, UPGRADE)
        dbg = call(shim_port, "GET", "/v1/debuginfo/all", {"Authorization": ADMIN})
        time.sleep(2.5)
        refused = sorted(set(answered))
        print(f"item 3, 256 slow-body sockets: {len(answered)} answered within 5.5 s "
              f"({', '.join(refused) or '-'}), {len(socks)} still open")
        print(f"item 3, admin's legacy upgrade meanwhile: {up[0]} in {up[1]:.2f} s")
        print(f"item 3, admin's debuginfo meanwhile: {dbg[0]} in {dbg[1]:.2f} s")
        stop.set()
        t.join()
        for s in socks:
            s.close()
        time.sleep(0.5)
        quiet = call(shim_port, "GET", "/v1/debuginfo/all", {"Authorization": ADMIN})
        time.sleep(2.5)
        flood = junk_flood(shim_port, 150)
        time.sleep(0.1)
        during = call(shim_port, "GET", "/v1/debuginfo/all", {"Authorization": ADMIN})
        for th in flood:
            th.join(30)
        print(f"item 3, admin's debuginfo, version cached: {quiet[0]} in {quiet[1]:.2f} s; "
              f"cache expired, behind 150 junk callers: {during[0]} in {during[1]:.2f} s")

        put = slow_put(shim_port, 3_500_000, 500_000)
        print(f"item 4, 3.5 MiB PUT /v1/cluster at 0.5 MiB/s, request_timeout 5s: "
              f"{put[0]} after {put[1]:.1f} s")

        calls, grown = junk_audit(shim_port, os.path.join(work, "audit.jsonl"), 4, 10)
        print(f"item 6, 4 junk clients for 10 s: {calls} calls, audit grew {grown / 1024:.1f} KiB "
              f"({grown / 10 * 3600 / 2**20:.1f} MiB/h at that rate)")

        report_item7(binary, work, sim_port)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run([sys.executable, PORTS, "release", str(os.getpid())], capture_output=True)


if __name__ == "__main__":
    main()
