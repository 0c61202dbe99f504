#!/usr/bin/python3
"""A password-guessing burst against one user, and an honest user's login during it
(docs/benchmarks.md): starts ipcd with two password users at the default hash cost,
fires N parallel wrong-password logins for one of them over TCP, and times the other
user's login over the Unix socket while they run; once with the back-off on (the
default auth.lockout) and once with it off (failures 0).
Usage: bench/auth/guessing_burst.py IPCD IPCCTL [N]"""
import json, os, socket, struct, subprocess, sys, tempfile, threading, time


def put_str(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def hello(user, password):
    props = [("client_name", "bench"), ("user", user), ("password", password)]
    body = struct.pack(">IHH", 0x49504344, 1, 1) + put_str("password")
    body += struct.pack(">H", len(props)) + b"".join(put_str(k) + put_str(v) for k, v in props)
    return struct.pack(">IB", 1 + len(body), 0x01) + body


def login(family, address, user, password):
    """Seconds until the broker answered, and whether it was a WELCOME."""
    start = time.monotonic()
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(address)
    s.sendall(hello(user, password))
    head = b""
    while len(head) < 5:
        chunk = s.recv(5 - len(head))
        if not chunk:
            break
        head += chunk
    s.close()
    return time.monotonic() - start, len(head) == 5 and head[4] == 0x02


def run(ipcd, ipcctl, n, lockout):
    work = tempfile.mkdtemp(prefix="ipcd-guess-")
    hashes = {}
    for user in ("alice", "bob"):
        out = subprocess.run([ipcctl, "passwd"], input=f"{user}-pw\n", capture_output=True,
                             text=True, check=True)
        hashes[user] = out.stdout.strip()
    sock = os.path.join(work, "ipcd.sock")
    config = {"listeners": [{"url": f"unix://{sock}"}, {"url": "tcp://127.0.0.1:17931"}],
              "storage": {"dir": f"{work}/data"}, "log": {"level": "error"},
              "auth": {"users": [{"name": u, "password": h} for u, h in hashes.items()],
                       "lockout": {"failures": 5 if lockout else 0}}}
    with open(f"{work}/ipcd.json", "w") as f:
        json.dump(config, f)
    broker = subprocess.Popen([ipcd, "-c", f"{work}/ipcd.json"])
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        alone, ok = login(socket.AF_UNIX, sock, "bob", "bob-pw")
        assert ok, "bob cannot log in"
        guesses = [threading.Thread(target=login, args=(socket.AF_INET, ("127.0.0.1", 17931),
                                                        "alice", f"guess-{i}"))
                   for i in range(n)]
        for t in guesses:
            t.start()
        time.sleep(0.2)  # the burst is under way
        during, ok = login(socket.AF_UNIX, sock, "bob", "bob-pw")
        for t in guesses:
            t.join()
        return {"lockout": lockout, "guesses": n, "bob_alone_s": round(alone, 3),
                "bob_during_burst_s": round(during, 3), "bob_ok": ok}
    finally:
        broker.terminate()
        broker.wait()


if __name__ == "__main__":
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    for lockout in (False, True):
        print(run(sys.argv[1], sys.argv[2], n, lockout))
