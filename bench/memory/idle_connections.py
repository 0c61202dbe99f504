#!/usr/bin/python3
"""Resident memory per idle connection (docs/benchmarks.md): starts an ipcd on a Unix
socket, opens N connections that complete the handshake (HELLO, WELCOME) and then stay
silent, and reads the broker's VmRSS before, with them, and after they closed. Also
N connections that never send HELLO (pre-authentication cost).
Usage: bench/memory/idle_connections.py IPCD_BINARY [N]"""
import os, resource, socket, struct, subprocess, sys, tempfile, time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def hello():
    mech = b"anonymous"
    body = struct.pack(">IHH", 0x49504344, 1, 1) + struct.pack(">H", len(mech)) + mech
    body += struct.pack(">H", 0)  # no properties
    return struct.pack(">IB", 1 + len(body), 0x01) + body


def read_frame(sock):
    head = b""
    while len(head) < 5:
        chunk = sock.recv(5 - len(head))
        if not chunk:
            raise RuntimeError("closed")
        head += chunk
    length, kind = struct.unpack(">IB", head)
    rest = length - 1
    while rest > 0:
        rest -= len(sock.recv(rest))
    return kind


def settle(pid, seconds=2.0):
    time.sleep(seconds)  # let the broker handle everything and the tick release memory
    return rss_kib(pid)


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 1024)), hard))
    work = tempfile.mkdtemp(prefix="ipcd-mem-")
    path = os.path.join(work, "ipcd.sock")
    with open(os.path.join(work, "ipcd.json"), "w") as f:
        f.write('{"listeners": [{"url": "unix://%s"}], "storage": {"dir": "%s/data"},'
                ' "limits": {"keepalive_ms": 0, "auth_timeout_ms": 600000},'
                ' "log": {"level": "warn"}}' % (path, work))
    results = {"connections": n}
    for label, handshake in (("authenticated", True), ("before_hello", False)):
        # A fresh broker for each kind, so that neither reuses the other's memory.
        broker = subprocess.Popen([binary, "-c", os.path.join(work, "ipcd.json")],
                                  preexec_fn=lambda: resource.setrlimit(
                                      resource.RLIMIT_NOFILE, (n + 1024, n + 1024)))
        try:
            for _ in range(200):
                if os.path.exists(path):
                    break
                time.sleep(0.05)
            base = settle(broker.pid, 1.0)
            socks = []
            for _ in range(n):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                if handshake:
                    s.sendall(hello())
                    if read_frame(s) != 0x02:
                        raise RuntimeError("no WELCOME")
                socks.append(s)
            held = settle(broker.pid)
            results[label + "_bytes_per_connection"] = round((held - base) * 1024 / n)
            for s in socks:
                s.close()
            after = settle(broker.pid, 3.0)
            results[label + "_rss_kib"] = [base, held, after]  # before, with, after close
        finally:
            broker.terminate()
            broker.wait()
    print(results)


if __name__ == "__main__":
    main()
