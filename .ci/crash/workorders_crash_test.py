#!/usr/bin/env python3
"""Crash test of work-order intake: a SIGKILL under load loses no acknowledged order.

Usage:
    python3 .ci/crash/workorders_crash_test.py [path/to/shequ]

The binary comes from the argument, else $SHEQU_BIN, else target/debug/shequ.
Standard library only; everything runs on 127.0.0.1 and stops by itself
(the whole run is bounded to 60 s).

Story: a fresh small demo database; `shequ serve` on it; 32 threads post work
orders (`POST /api/v1/workorders`, each with its own Idempotency-Key) as the
community login and note every order answered 201; after about two seconds the
server gets SIGKILL (no chance to flush anything); the server is started again
on the same database and every acknowledged order must be there, exactly once.
Replaying a few acknowledged submissions with their keys must answer 200 with
the same order and store nothing new; retrying every submission that lost its
answer in the crash stores each exactly once (200 for those already stored).
Prints "ok - ..." / "not ok - ...: detail" per check, then "N passed, M failed".
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PASSWORD = os.environ.get("SHEQU_DEMO_PASSWORD", "Shequ@2025")
LOGIN = "community"
FALLBACK_DIVISION = "430502001001"  # the demo's community login works here
THREADS = 32
LOAD_SECONDS = 2.0
BUDGET_SECONDS = 60.0
REQUEST_TIMEOUT = 10.0
REPLAYS = 5

STARTED = time.monotonic()


class CheckFailed(Exception):
    pass


def expect(cond, detail):
    if not cond:
        raise CheckFailed(detail)


def left():
    """Seconds left of the whole run's budget."""
    return BUDGET_SECONDS - (time.monotonic() - STARTED)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT):
    """One HTTP request on a fresh connection; returns (status, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        h = {"content-type": "application/json"}
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        raw = resp.read().decode("utf-8", "replace")
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw
    finally:
        conn.close()


class Server:
    """One `shequ serve` process on the test database."""

    def __init__(self, binary, db_url, port, log_path):
        self.port = port
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "serve", "--db", db_url, "--bind", f"127.0.0.1:{port}"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CheckFailed(f"the server exited with code {self.proc.returncode}")
            try:
                status, _ = request(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise CheckFailed(f"the server did not answer /healthz within {timeout:.0f}s")

    def kill(self):
        """SIGKILL: the process gets no chance to finish anything."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def load_demo(binary, db_url, log_path):
    """A fresh small demo; returns the community code of the login, from what the demo prints."""
    with open(log_path, "wb") as log:
        done = subprocess.run([binary, "demo", "--scale", "small", "--db", db_url],
                              stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                              timeout=max(5.0, left() - 30))
    out = done.stdout.decode("utf-8", "replace")
    expect(done.returncode == 0, f"shequ demo exited with code {done.returncode}: {out[-500:]}")
    m = re.search(rf"^\s*{LOGIN}\s+\S+\s+(\d{{12}})\b", out, re.M)
    return m.group(1) if m else FALLBACK_DIVISION


def token(port):
    status, body = request(port, "POST", "/api/v1/auth/token",
                           {"username": LOGIN, "password": PASSWORD})
    expect(status == 200 and isinstance(body, dict) and body.get("token"),
           f"sign-in as {LOGIN} answered {status}: {body}")
    return body["token"]


def submission(run, n, division):
    return {"category": "environment.garbage",
            "description": f"垃圾未清运 {n}（压测 {run}）",
            "division": division}


class Load:
    """THREADS threads posting orders until the server stops answering."""

    def __init__(self, port, bearer, run, division):
        self.port = port
        self.bearer = bearer
        self.run = run
        self.division = division
        self.lock = threading.Lock()
        self.next_n = 0
        self.acked = {}  # Idempotency-Key -> (body, id, tracking code)
        self.refused = []  # (status, body) of answers that were neither 201 nor a lost connection
        self.unanswered = {}  # Idempotency-Key -> body, for requests that got no answer (the kill)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(THREADS)]

    def take_n(self):
        with self.lock:
            self.next_n += 1
            return self.next_n

    def worker(self):
        conn = None
        while not self.stop.is_set():
            n = self.take_n()
            key = f"crash-{self.run}-{n}"
            body = submission(self.run, n, self.division)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
                conn.request("POST", "/api/v1/workorders",
                             body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                             headers={"content-type": "application/json",
                                      "authorization": "Bearer " + self.bearer,
                                      "idempotency-key": key})
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):
                # The server is gone (or going): this submission was never acknowledged.
                with self.lock:
                    self.unanswered[key] = body
                if conn is not None:
                    conn.close()
                    conn = None
                if self.stop.wait(0.05):
                    break
                continue
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = raw[:200]
            with self.lock:
                if resp.status == 201 and isinstance(answer, dict):
                    self.acked[key] = (body, answer.get("id"), answer.get("tracking_code"))
                else:
                    self.refused.append((resp.status, answer))
        if conn is not None:
            conn.close()

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout):
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return sum(t.is_alive() for t in self.threads)


def stored_orders(port, bearer, division):
    """Every order of the division, by tracking code (a list of ids per code)."""
    found = {}
    page = 1
    while True:
        expect(left() > 3, "ran out of time while reading the orders back")
        status, body = request(port, "GET",
                               f"/api/v1/workorders?division={division}&per_page=500&page={page}",
                               headers={"authorization": "Bearer " + bearer}, timeout=30)
        expect(status == 200 and isinstance(body, dict), f"listing page {page} answered {status}: {body}")
        for o in body["items"]:
            found.setdefault(o["tracking_code"], []).append(o)
        if page * 500 >= body["total"] or not body["items"]:
            return found, body["total"]
        page += 1


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = argv[1] if len(argv) > 1 else os.environ.get(
        "SHEQU_BIN", os.path.join(root, "target", "debug", "shequ"))
    if not os.access(binary, os.X_OK):
        print(f"usage: python3 .ci/crash/workorders_crash_test.py [path/to/shequ] "
              f"({binary} is not an executable)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="shequ-crash-")
    db_url = f"sqlite://{work}/crash.db"
    port = free_port()
    run = f"{os.getpid()}-{int(time.time())}"
    passed = failed = 0
    server = None
    st = {}

    def check(name, fn):
        nonlocal passed, failed
        try:
            note = fn()
            print(f"ok - {name}" + (f" ({note})" if note else ""))
            passed += 1
            return True
        except Exception as e:
            detail = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {e}"
            print(f"not ok - {name}: {detail}")
            failed += 1
            return False
        finally:
            sys.stdout.flush()

    def prepare():
        nonlocal server
        st["division"] = load_demo(binary, db_url, os.path.join(work, "demo.log"))
        server = Server(binary, db_url, port, os.path.join(work, "serve.log"))
        server.wait_healthy(min(30.0, left()))
        st["token"] = token(port)
        # One submission before the load shows intake works at all.
        status, body = request(port, "POST", "/api/v1/workorders", submission(run, 0, st["division"]),
                               headers={"authorization": "Bearer " + st["token"],
                                        "idempotency-key": f"crash-{run}-0"})
        expect(status == 201, f"a first submission answered {status}: {body}")
        first = submission(run, 0, st["division"])
        st["first"] = (f"crash-{run}-0", (first, body["id"], body["tracking_code"]))
        return f"demo loaded, {LOGIN} posts to {st['division']}"

    def load_and_kill():
        load = Load(port, st["token"], run, st["division"])
        load.acked.update([st["first"]])
        st["load"] = load
        load.start()
        time.sleep(LOAD_SECONDS)
        with load.lock:
            before = len(load.acked) - 1
        server.kill()
        killed_at = time.monotonic()
        # Let every thread see the connection fail, then stop them.
        time.sleep(0.5)
        stuck = load.join(timeout=REQUEST_TIMEOUT + 2)
        expect(stuck == 0, f"{stuck} threads still hang {time.monotonic() - killed_at:.0f}s after the kill")
        expect(before > 0, "no submission was acknowledged before the kill")
        expect(not load.refused, f"{len(load.refused)} submissions were refused, e.g. {load.refused[:3]}")
        return (f"{len(load.acked)} acknowledged in {LOAD_SECONDS:g}s by {THREADS} threads, "
                f"{len(load.unanswered)} went unanswered once it was killed")

    def restart():
        nonlocal server
        server.stop()
        server = Server(binary, db_url, port, os.path.join(work, "serve.log"))
        server.wait_healthy(min(30.0, left()))
        st["token"] = token(port)

    def all_acknowledged_present():
        load = st["load"]
        found, total = stored_orders(port, st["token"], st["division"])
        st["total"] = total
        ours = {code: v for code, v in found.items() if f"（压测 {run}）" in v[0]["description"]}
        st["ours"] = len(ours)
        acked_codes = {code: key for key, (_, _, code) in load.acked.items()}
        missing = [c for c in acked_codes if c not in found]
        present = len(acked_codes) - len(missing)
        extra = len([c for c in ours if c not in acked_codes])
        st["extra"] = extra
        print(f"# acknowledged {len(acked_codes)}, found {present}, missing {len(missing)}, "
              f"stored without an answer {extra}")
        expect(len(acked_codes) == len(load.acked), "two acknowledgements carried the same tracking code")
        expect(not missing, f"{len(missing)} acknowledged orders are gone after the crash, "
                            f"e.g. {missing[:5]}")
        wrong = [c for c in acked_codes
                 if found[c][0]["id"] != load.acked[acked_codes[c]][1]
                 or found[c][0]["description"] != load.acked[acked_codes[c]][0]["description"]]
        expect(not wrong, f"{len(wrong)} orders came back with another id or text, e.g. {wrong[:5]}")
        descriptions = {}
        for v in ours.values():
            for o in v:
                descriptions[o["description"]] = descriptions.get(o["description"], 0) + 1
        twice = [d for d, n in descriptions.items() if n > 1]
        expect(not twice, f"{len(twice)} submissions were stored more than once, e.g. {twice[:3]}")
        return f"all {present} acknowledged orders are stored"

    def replays_return_the_same_order():
        load = st["load"]
        keys = sorted(load.acked)[:REPLAYS]
        expect(keys, "nothing to replay")
        for key in keys:
            body, oid, code = load.acked[key]
            status, answer = request(port, "POST", "/api/v1/workorders", body,
                                     headers={"authorization": "Bearer " + st["token"],
                                              "idempotency-key": key})
            expect(status == 200, f"replaying {key} answered {status}, not 200: {answer}")
            expect(answer.get("id") == oid and answer.get("tracking_code") == code,
                   f"replaying {key} gave order {answer.get('id')} {answer.get('tracking_code')}, "
                   f"not {oid} {code}")
        _, total = stored_orders(port, st["token"], st["division"])
        expect(total == st["total"], f"the division had {st['total']} orders before the replays "
                                     f"and {total} after: a replay stored a duplicate")
        return f"{len(keys)} replays answered 200 with the first order"

    def retries_store_each_once():
        # A client that lost its answer sends the same submission again with the same key.
        load = st["load"]
        keys = sorted(load.unanswered)
        answers = {}
        lock = threading.Lock()

        def retry(part):
            for key in part:
                if left() < 8:
                    return
                status, answer = request(port, "POST", "/api/v1/workorders", load.unanswered[key],
                                         headers={"authorization": "Bearer " + st["token"],
                                                  "idempotency-key": key})
                with lock:
                    answers[key] = (status, answer)

        workers = [threading.Thread(target=retry, args=(keys[i::8],), daemon=True) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(max(1.0, left() - 5))
        expect(len(answers) == len(keys), f"only {len(answers)} of {len(keys)} retries finished in time")
        odd = [(k, a) for k, a in answers.items() if a[0] not in (200, 201)]
        expect(not odd, f"{len(odd)} retries were refused, e.g. {odd[:3]}")
        replayed = sum(1 for a in answers.values() if a[0] == 200)
        created = len(answers) - replayed
        expect(replayed == st["extra"],
               f"{st['extra']} orders were stored without an answer but {replayed} retries found theirs")
        found, total = stored_orders(port, st["token"], st["division"])
        expect(total == st["total"] + created,
               f"{created} retries were new, yet the division went from {st['total']} to {total} orders")
        per_text = {}
        for v in found.values():
            for o in v:
                if f"（压测 {run}）" in o["description"]:
                    per_text[o["description"]] = per_text.get(o["description"], 0) + 1
        twice = [d for d, n in per_text.items() if n > 1]
        expect(not twice, f"{len(twice)} submissions are stored twice after the retries, e.g. {twice[:3]}")
        return f"{len(keys)} retries: {replayed} found their order, {created} stored anew"

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        ok = check("fresh demo database served", prepare)
        ok = ok and check("load, then SIGKILL", load_and_kill)
        ok = ok and check("server restarts on the same database", restart)
        if ok:
            check("every acknowledged order survived the crash", all_acknowledged_present)
            check("replays with the Idempotency-Key return the first order", replays_return_the_same_order)
            check("retried unanswered submissions are stored once", retries_store_each_once)
        elapsed = time.monotonic() - STARTED
        if elapsed >= BUDGET_SECONDS:
            print(f"not ok - the run took {elapsed:.0f}s, over its {BUDGET_SECONDS:.0f}s budget")
            failed += 1
    finally:
        if server:
            server.stop()
        if failed:
            for name in ("demo.log", "serve.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        tail = f.read().decode("utf-8", "replace").strip().splitlines()[-15:]
                    print(f"# {name}:")
                    for line in tail:
                        print(f"#   {line}")
        shutil.rmtree(work, ignore_errors=True)
        print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
