#!/usr/bin/env python3
"""Unauthenticated flood (issue 25, item 1): N parallel POSTs of about 5 MB
each (`{"query":"{__typename}","variables":{"v":[0,0,...]}}`) with no
credential, against a gateway on SQLite. Prints how long until every
answer arrived, their statuses, and the gateway's resident memory before
and at its peak (VmHWM), for each binary given, one after the other in one
run. Usage: bench/flood.py BIN [BIN...]   (stdlib only)."""
import os, socket, subprocess, sys, tempfile, threading, time

from ready import wait_ready

PARALLEL = int(os.environ.get("PARALLEL", "20"))
BODY = b'{"query":"{__typename}","variables":{"v":[' + b",".join([b"0"] * 2_500_000) + b"]}}"


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def post(port, results, i):
    """Sends the whole body (as a client that never reads first would) and
    reads the status line; a server that answers early may close mid-body."""
    started = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port))
    head = f"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(BODY)}\r\n\r\n"
    status = "?"
    try:
        s.sendall(head.encode())
        view = memoryview(BODY)
        s.setblocking(True)
        for off in range(0, len(BODY), 65536):
            s.sendall(view[off : off + 65536])
    except OSError:
        pass  # answered and closed before the body was all sent
    try:
        status = s.recv(64).split(b" ")[1].decode()
    except (OSError, IndexError):
        status = "reset"
    results[i] = (status, time.monotonic() - started)
    s.close()


def run(binary):
    d = tempfile.mkdtemp()
    port = 18000 + os.getpid() % 1000
    env = dict(os.environ, RUST_LOG="warn")
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [binary, "--bind", f"127.0.0.1:{port}", "--database-url", f"sqlite://{d}/f.db?mode=rwc"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        # Start-up (migrations, the demo seed) has its own peak: reset it.
        with open(f"/proc/{server.pid}/clear_refs", "w") as f:
            f.write("5")
        before = rss_kib(server.pid, "VmRSS")
        results = [None] * PARALLEL
        started = time.monotonic()
        threads = [threading.Thread(target=post, args=(port, results, i)) for i in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - started
        peak = rss_kib(server.pid, "VmHWM")
        statuses = {}
        for status, _ in results:
            statuses[status] = statuses.get(status, 0) + 1
        print(f"{binary}: {PARALLEL} x {len(BODY) / 1e6:.1f} MB without a credential: "
              f"all answered in {took:.2f} s, statuses {statuses}, "
              f"RSS {before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB (+{(peak - before) / 1024:.0f} MB)")
    finally:
        server.kill()
        server.wait()


for b in sys.argv[1:]:
    run(b)
