#!/usr/bin/env python3
"""docs/openapi.yaml against the real server.

    openapi_conformance.py JOBTAPE_BINARY OPENAPI_YAML

Validates the document (openapi-spec-validator), then starts `jobtape serve`
on 127.0.0.1:0 in a temp directory (twice: open, and with a reader token),
drives every route of issues 3 and 5 through its success and error statuses, and
checks that each status is documented for its operation and each JSON reply
matches the documented schema (openapi-schema-validator). Exit 0 when all
match. Needs python3-yaml and the two openapi validators (pip); CTest skips
it (exit 77) when they are missing.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    import yaml
    from openapi_schema_validator import OAS30Validator
    from openapi_spec_validator import validate as validate_spec
except ImportError as e:  # pragma: no cover
    print("skipped:", e)
    sys.exit(77)

BINARY, SPEC_PATH = sys.argv[1], sys.argv[2]
SPEC = yaml.safe_load(open(SPEC_PATH, encoding="utf-8"))
validate_spec(SPEC)
READER = "reader-token-0123456789"


class Server:
    def __init__(self, env=None):
        self.dir = tempfile.mkdtemp(prefix="jobtape-openapi-")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTAPE_")}
        full_env.update(env or {})
        # Output to a file, never a pipe nobody drains (a full pipe would stall the server).
        self.log = open(self.dir + "/server.log", "w+")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.dir + "/data",
             "--log-format", "text"],
            stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", open(self.log.name).read())
            if m:
                self.base = m.group(1)
                return
            time.sleep(0.05)
        raise RuntimeError("the server did not start: " + open(self.log.name).read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def schema_for(path, method, status, ctype):
    op = SPEC["paths"][path][method]
    r = op["responses"].get(str(status))
    if r is None:
        raise AssertionError(f"{method.upper()} {path}: status {status} is not documented")
    if "$ref" in r:
        r = SPEC["components"]["responses"][r["$ref"].split("/")[-1]]
    content = r.get("content")
    if content is None:
        return None
    if ctype not in content:
        raise AssertionError(f"{method.upper()} {path} {status}: {ctype} not documented")
    return content[ctype]["schema"]


class Checker:
    def __init__(self, base):
        self.base = base
        self.count = 0

    def call(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method.upper(),
                                     headers=headers or {})
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers.get("Content-Type", "")

    def check(self, method, template, path, body=None, expect=None, headers=None, raw=None):
        status, text, ctype = self.call(method, path, body, headers, raw)
        if expect is not None and status != expect:
            raise AssertionError(f"{method.upper()} {path}: {status} (expected {expect}): {text}")
        ctype = ctype.split(";")[0].strip() or "application/json"
        schema = schema_for(template, method, status, ctype)
        value = None
        if ctype == "application/json" and text:
            value = json.loads(text)
            if schema is not None:
                OAS30Validator({"components": SPEC["components"], **schema}).validate(value)
        self.count += 1
        return value


def open_server_routes(c):
    one = c.check("post", "/v1/jobs", "/v1/jobs", {"kind": "k", "queue": "q1", "payload": {"a": 0.1}}, 201)
    c.check("post", "/v1/jobs", "/v1/jobs",
            {"jobs": [{"kind": "k", "queue": "q1"}, {"kind": "k", "queue": "q1", "delay_ms": 100000}]}, 201)
    c.check("post", "/v1/jobs", "/v1/jobs", {"kind": "k", "queue": "q1", "idempotency_key": "x"}, 201)
    c.check("post", "/v1/jobs", "/v1/jobs", {"kind": "k", "queue": "q1", "idempotency_key": "x"}, 200)
    c.check("post", "/v1/jobs", "/v1/jobs", {"kind": "k", "priorty": 1}, 400)
    c.check("post", "/v1/jobs", "/v1/jobs", {"kind": "k", "priority": 1000}, 422)
    c.check("post", "/v1/jobs", "/v1/jobs", {"jobs": [{"kind": "k"}] * 1001}, 413)
    c.check("post", "/v1/jobs", "/v1/jobs", raw=b"x", headers={"Content-Type": "text/plain"}, expect=415)
    c.check("get", "/v1/jobs", "/v1/jobs?limit=2", expect=200)
    c.check("get", "/v1/jobs", "/v1/jobs?limit=0", expect=422)
    c.check("get", "/v1/jobs", "/v1/jobs?bogus=1", expect=400)
    jid = one["id"]
    c.check("get", "/v1/jobs/{id}", f"/v1/jobs/{jid}", expect=200)
    c.check("get", "/v1/jobs/{id}", "/v1/jobs/999999", expect=404)
    c.check("get", "/v1/jobs/{id}/events", f"/v1/jobs/{jid}/events", expect=200)
    claim = c.check("post", "/v1/claims", "/v1/claims", {"queues": ["q1"], "max": 2, "lease_ms": 5000}, 200)
    assert len(claim["jobs"]) == 2, claim
    c.check("post", "/v1/claims", "/v1/claims", {"queues": []}, 422)
    lease = claim["jobs"][0]["lease"]
    base = f"/v1/leases/{lease['job_id']}/{lease['attempt']}"
    token = lease["lease_token"]
    c.check("post", "/v1/leases/{job}/{attempt}/heartbeat", base + "/heartbeat", {"lease_token": token}, 200)
    c.check("post", "/v1/leases/{job}/{attempt}/events", base + "/events",
            {"lease_token": token, "events": [{"type": "progress", "data": {"percent": 5}}]}, 200)
    c.check("post", "/v1/leases/{job}/{attempt}/events", base + "/events",
            {"lease_token": token, "events": [{"type": "final", "data": {}}]}, 422)
    c.check("post", "/v1/leases/{job}/{attempt}/heartbeat", base + "/heartbeat", {"lease_token": "nope"}, 409)
    c.check("post", "/v1/leases/{job}/{attempt}/complete", base + "/complete",
            {"lease_token": token, "result": {"ok": True}}, 200)
    lease2 = claim["jobs"][1]["lease"]
    base2 = f"/v1/leases/{lease2['job_id']}/{lease2['attempt']}"
    c.check("post", "/v1/leases/{job}/{attempt}/fail", base2 + "/fail",
            {"lease_token": lease2["lease_token"], "error": {"code": "boom", "message": "x"},
             "retryable": False}, 200)
    c.check("post", "/v1/jobs/{id}/retry", f"/v1/jobs/{lease2['job_id']}/retry", None, 201)
    c.check("post", "/v1/jobs/{id}/retry", f"/v1/jobs/{lease['job_id']}/retry", None, 409)
    c.check("post", "/v1/leases/complete", "/v1/leases/complete",
            {"items": [{"job_id": lease["job_id"], "attempt": lease["attempt"], "lease_token": token}]}, 200)
    q = c.check("post", "/v1/jobs", "/v1/jobs", {"kind": "k", "queue": "q2"}, 201)
    c.check("post", "/v1/jobs/{id}/cancel", f"/v1/jobs/{q['id']}/cancel", {"reason": "test"}, 200)
    c.check("post", "/v1/jobs/{id}/cancel", f"/v1/jobs/{q['id']}/cancel", None, 200)
    c.check("get", "/v1/jobs/{id}/stream", f"/v1/jobs/{q['id']}/stream?after=2", expect=204)
    c.check("get", "/v1/jobs/{id}/stream", f"/v1/jobs/{q['id']}/stream?after=99", expect=422)
    c.check("get", "/v1/jobs/{id}/ws", f"/v1/jobs/{q['id']}/ws", expect=400)
    c.check("get", "/v1/queues", "/v1/queues", expect=200)
    c.check("patch", "/v1/queues/{name}", "/v1/queues/q1", {"max_concurrent": 3, "paused": False}, 200)
    c.check("patch", "/v1/queues/{name}", "/v1/queues/q1", {"max_concurrent": None}, 200)
    c.check("patch", "/v1/queues/{name}", "/v1/queues/q1", {}, 422)
    schedule_routes(c)
    c.check("get", "/health/live", "/health/live", expect=200)
    c.check("get", "/health/ready", "/health/ready", expect=200)
    c.check("get", "/health", "/health", expect=200)
    c.check("get", "/metrics", "/metrics", expect=200)
    c.check("get", "/openapi.json", "/openapi.json", expect=200)


def schedule_routes(c):
    one = "/v1/schedules/{name}"
    c.check("put", one, "/v1/schedules/nightly",
            {"cron": "30 2 * * *", "timezone": "Europe/Berlin",
             "job": {"kind": "k", "queue": "q3", "payload": {"a": 1}}}, 201)
    c.check("put", one, "/v1/schedules/nightly",
            {"cron": "@daily", "misfire": "run_once", "paused": True, "job": {"kind": "k"}}, 200)
    c.check("put", one, "/v1/schedules/nightly", {"cron": "61 * * * *", "job": {"kind": "k"}}, 422)
    c.check("put", one, "/v1/schedules/nightly", {"cron": "@daily"}, 400)
    c.check("put", one, "/v1/schedules/nightly", raw=b"x", headers={"Content-Type": "text/plain"},
            expect=415)
    c.check("get", one, "/v1/schedules/nightly", expect=200)
    c.check("get", one, "/v1/schedules/nope", expect=404)
    c.check("get", "/v1/schedules", "/v1/schedules?limit=1", expect=200)
    c.check("get", "/v1/schedules", "/v1/schedules?limit=0", expect=422)
    c.check("get", "/v1/schedules", "/v1/schedules?bogus=1", expect=400)
    c.check("delete", one, "/v1/schedules/nightly", expect=204)
    c.check("delete", one, "/v1/schedules/nightly", expect=404)


def token_server_routes(c):
    c.check("get", "/v1/jobs", "/v1/jobs", expect=401)
    c.check("post", "/v1/jobs", "/v1/jobs", {"kind": "k"}, 403,
            headers={"Authorization": "Bearer " + READER, "Content-Type": "application/json"})
    c.check("get", "/v1/jobs", "/v1/jobs", expect=200, headers={"Authorization": "Bearer " + READER})
    c.check("put", "/v1/schedules/{name}", "/v1/schedules/s", {"cron": "@daily", "job": {"kind": "k"}},
            403, headers={"Authorization": "Bearer " + READER, "Content-Type": "application/json"})
    c.check("get", "/v1/schedules", "/v1/schedules", expect=200,
            headers={"Authorization": "Bearer " + READER})
    c.check("get", "/health/live", "/health/live", expect=200)
    c.check("get", "/openapi.json", "/openapi.json", expect=200)


def main():
    total = 0
    for env, routes in (({}, open_server_routes), ({"JOBTAPE_TOKENS": "reader:" + READER}, token_server_routes)):
        server = Server(env)
        try:
            checker = Checker(server.base)
            routes(checker)
            total += checker.count
        finally:
            server.stop()
    print(f"ok: {total} replies match {SPEC_PATH}")


if __name__ == "__main__":
    main()
