"""Test-only stand-in for the part of the OpenAI (and Azure OpenAI) REST API that dsqa uses, with fault injection."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fake_server import FakeServer, QuietHandler, match_route

TRAINABLE = {"gpt-4.1-mini-2025-04-14", "gpt-4.1-2025-04-14", "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"}
WIND_DOWN = (
    "OpenAI is winding down the fine-tuning platform and your organization is no longer able to create new "
    "fine-tuning training jobs. Learn more https://developers.openai.com/api/docs/deprecations#update-to-openais-self-serve-fine-tuning"
)


@dataclass
class Fault:
    """What to do with the next request to a route.

    ``status``: answer with that HTTP error and do nothing. ``drop``: do the work, then close the
    connection without an answer. ``hang``: do the work (unless ``before``), then wait until released.
    ``delay``: wait that many seconds before doing the work (a slow server). ``truncate``: do the work,
    then answer 200 with the JSON cut in half. ``hold``: wait until released, then do the work and answer.
    ``fail_after``: do the work, then answer with that HTTP error status.
    """

    status: int | None = None
    code: str | None = None
    message: str = "injected"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    hang: bool = False
    before: bool = False
    delay: float = 0.0
    truncate: bool = False
    hold: bool = False
    fail_after: int | None = None


@dataclass
class State:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    parts: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    ticks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counter: int = 0
    requests: list[tuple[str, str, str]] = field(default_factory=list)


class FakeOpenAI(FakeServer):
    """A ThreadingHTTPServer on 127.0.0.1 speaking the OpenAI REST API under /v1 and Azure's under /openai."""

    def __init__(self, api_key: str, *, total_steps: int = 3, steps_per_tick: int = 1, outcome: str = "succeeded",
                 statuses: tuple[str, ...] = ("validating_files", "queued", "running")) -> None:
        self.api_key = api_key
        self.total_steps = total_steps
        self.steps_per_tick = steps_per_tick
        self.outcome = outcome
        self.statuses = statuses
        self.state = State()
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        #: seconds after creation before a job shows in the job list (a lagging index)
        self.list_lag = 0.0
        #: a provider that keeps no job metadata: the list ignores the metadata filter and jobs show none
        self.omit_metadata = False
        #: this many next requests, whatever the route, answer 429 with ``storm_headers``
        self.storm = 0
        self.storm_headers: dict[str, str] = {}
        #: also accept HTTP basic auth (a proxy that takes the credentials of the endpoint URL)
        self.accept_basic = False
        self.arrived: dict[str, threading.Event] = defaultdict(threading.Event)
        super().__init__(_Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, route: str, *faults: Fault) -> None:
        self.faults[route].extend(faults)

    def count(self, route: str) -> int:
        return sum(1 for _, r, _ in self.state.requests if r == route)

    @property
    def uploads(self) -> int:
        """Training data files stored (each upload that reached the server, however its answer went)."""
        return sum(1 for f in self.state.files.values() if f["purpose"] == "fine-tune")

    def new_id(self, prefix: str) -> str:
        self.state.counter += 1
        return f"{prefix}{self.state.counter:06d}"

    # -- behaviour ---------------------------------------------------------------------------

    def add_event(self, job_id: str, message: str, type_: str = "message", data: dict[str, Any] | None = None, level: str = "info") -> None:
        self.state.events[job_id].append({
            "id": self.new_id("ftevent-"), "object": "fine_tuning.job.event", "created_at": int(time.time()),
            "level": level, "message": message, "type": type_, "data": data,
        })

    def advance(self, job: dict[str, Any]) -> None:
        """One tick of the job's life per retrieve: the listed statuses, one step per tick while running, then the outcome."""
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        jid = job["id"]
        tick = self.state.ticks[jid] = self.state.ticks[jid] + 1
        if tick < len(self.statuses):
            job["status"] = self.statuses[tick]
            self.add_event(jid, f"Job {'started' if job['status'] == 'running' else 'entered ' + job['status']}")
            return
        first = (tick - len(self.statuses)) * self.steps_per_tick + 1
        if job["status"] == "running" and 1 <= first <= self.total_steps:
            for step in range(first, min(first + self.steps_per_tick, self.total_steps + 1)):
                train, valid = round(2.0 / (step + 1), 4), round(2.2 / (step + 1), 4)
                self.add_event(jid, f"Step {step}/{self.total_steps}: training loss={train:.2f}, validation loss={valid:.2f}", "metrics",
                               {"step": step, "train_loss": train, "valid_loss": valid, "total_steps": self.total_steps,
                                "train_mean_token_accuracy": 0.5 + step / 10})
            return
        if self.outcome == "failed":
            job.update(status="failed", finished_at=int(time.time()),
                       error={"code": "invalid_training_file", "message": "Example 3, message 2 Discriminator 'role' is missing in value", "param": "training_file"})
            self.add_event(jid, "Fine-tuning job failed", level="error")
            return
        model = f"ft:{job['model']}:dsqa-test::{jid[-6:]}"
        rows = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
        for s in range(1, self.total_steps + 1):
            rows.append(f"{s},{2.0 / (s + 1):.4f},{0.5 + s / 10:.2f},{'' if s % 2 else f'{2.2 / (s + 1):.4f}'},{'' if s % 2 else '0.55'}")
        result = self.store_file(("\n".join(rows) + "\n").encode(), "step_metrics.csv", "fine-tune-results")
        job.update(status="succeeded", fine_tuned_model=model, finished_at=int(time.time()), trained_tokens=1234, result_files=[result["id"]])
        for s in range(max(1, self.total_steps - 2), self.total_steps + 1):
            self.state.checkpoints[jid].append({
                "id": self.new_id("ftckpt_"), "object": "fine_tuning.job.checkpoint", "created_at": int(time.time()),
                "fine_tuned_model_checkpoint": f"{model}:ckpt-step-{s}", "fine_tuning_job_id": jid, "step_number": s,
                "metrics": {"step": s, "train_loss": round(2.0 / (s + 1), 4), "valid_loss": round(2.2 / (s + 1), 4)},
            })
        self.add_event(jid, f"New fine-tuned model created: {model}")
        self.add_event(jid, "The job has successfully completed")

    def store_file(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        fid = self.new_id("file-")
        obj = {"id": fid, "object": "file", "bytes": len(content), "created_at": int(time.time()), "filename": filename,
               "purpose": purpose, "status": "processed"}
        self.state.files[fid] = {**obj, "content": content}
        return obj


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a stored object (without the fake's own bookkeeping)."""
    return {k: v for k, v in obj.items() if k != "content" and not k.startswith("_")}


class _Handler(QuietHandler):
    fake: FakeOpenAI

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        if "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", "req_test")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}, headers)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = url.path
        if path.startswith("/v1/"):
            key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            path = path[3:]
        elif path.startswith("/openai/"):
            if "api-version" not in query:
                return self._error(404, "Resource not found (api-version missing)")
            key = self.headers.get("api-key") or ""
            path = path[7:]
        else:
            return self._error(404, f"no route {url.path}")
        route, args = match_route(_ROUTES, method, path)
        with fake.lock:
            fake.state.requests.append((method, route, url.query))
        if key != fake.api_key and not (fake.accept_basic and key.startswith("Basic ")):
            # the real API echoes part of a wrong key; this one echoes all of it so leaks are caught
            return self._error(401, f"Incorrect API key provided: {key}.", "invalid_api_key")
        fault = None
        with fake.lock:
            if fake.storm > 0:
                fake.storm -= 1
                fault = Fault(status=429, code="rate_limit_exceeded", message="Rate limit reached", headers=dict(fake.storm_headers))
            elif fake.faults[route]:
                fault = fake.faults[route].pop(0)
        fake.arrived[route].set()
        if fault is not None and fault.status is not None:
            return self._error(fault.status, fault.message, fault.code, fault.headers)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.hold:
            fake.release.wait(60)
        if fault is not None and fault.hang and fault.before:
            fake.release.wait(30)
            self.close_connection = True
            return None
        try:
            with fake.lock:
                status, payload, raw = self._dispatch(route, args, query, body)
        except KeyError as exc:
            return self._error(404, f"No such object: {exc.args[0]}")
        if fault is not None and fault.hang:
            fake.release.wait(30)
        if fault is not None and (fault.drop or fault.hang):
            self.close_connection = True
            return None
        if status >= 400:
            return self._error(status, payload["message"], payload.get("code"))
        if fault is not None and fault.fail_after is not None:
            return self._error(fault.fail_after, "injected after the work was done")
        if fault is not None and fault.truncate:
            whole = json.dumps(payload).encode()
            return self._send(status, None, raw=whole[: len(whole) // 2], headers={"Content-Type": "application/json"})
        return self._send(status, payload, raw=raw)

    def _multipart(self, body: bytes) -> dict[str, tuple[str | None, bytes]]:
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
        out = {}
        for part in msg.iter_parts():
            out[part.get_param("name", header="content-disposition")] = (part.get_filename(), part.get_payload(decode=True))
        return out

    def _dispatch(self, route: str, args: list[str], query: dict[str, str], body: bytes) -> tuple[int, Any, bytes | None]:
        fake, st = self.fake, self.fake.state
        if route == "files.create":
            form = self._multipart(body)
            filename, content = form["file"]
            return 200, fake.store_file(content, filename or "upload.jsonl", form["purpose"][1].decode()), None
        if route == "files.retrieve":
            return 200, _public(st.files[args[0]]), None
        if route == "files.list":
            found = [_public(f) for f in st.files.values() if not query.get("purpose") or f["purpose"] == query["purpose"]]
            return 200, {"object": "list", "data": found, "has_more": False}, None
        if route == "files.delete":
            st.files.pop(args[0])
            return 200, {"id": args[0], "object": "file", "deleted": True}, None
        if route == "files.content":
            return 200, None, st.files[args[0]]["content"]
        if route == "uploads.create":
            req = json.loads(body)
            uid = fake.new_id("upload_")
            st.uploads[uid] = {"id": uid, "object": "upload", "bytes": req["bytes"], "created_at": int(time.time()),
                               "expires_at": int(time.time()) + 3600, "filename": req["filename"], "purpose": req["purpose"],
                               "status": "pending", "file": None}
            return 200, st.uploads[uid], None
        if route == "parts.create":
            upload = st.uploads[args[0]]
            pid = fake.new_id("part_")
            st.parts[pid] = self._multipart(body)["data"][1]
            return 200, {"id": pid, "object": "upload.part", "created_at": int(time.time()), "upload_id": upload["id"]}, None
        if route == "uploads.complete":
            upload = st.uploads[args[0]]
            req = json.loads(body)
            content = b"".join(st.parts[p] for p in req["part_ids"])
            if len(content) != upload["bytes"]:
                return 400, {"message": f"uploaded {len(content)} bytes, expected {upload['bytes']}"}, None
            if req.get("md5") and hashlib.md5(content).hexdigest() != req["md5"]:
                return 400, {"message": "md5 mismatch"}, None
            upload.update(status="completed", file=fake.store_file(content, upload["filename"], upload["purpose"]))
            return 200, upload, None
        if route == "jobs.create":
            req = json.loads(body)
            if req["model"] not in TRAINABLE:
                return 400, {"message": f"Model {req['model']} is not available for fine-tuning or does not exist.", "code": "model_not_available"}, None
            for key in ("training_file", "validation_file"):
                if req.get(key) and req[key] not in st.files:
                    return 400, {"message": f"invalid {key}: {req[key]}"}, None
            jid = fake.new_id("ftjob-")
            method = req.get("method") or {"type": "supervised"}
            st.jobs[jid] = {
                "id": jid, "object": "fine_tuning.job", "created_at": int(time.time()), "error": {}, "fine_tuned_model": None,
                "finished_at": None, "hyperparameters": {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"},
                "model": req["model"], "organization_id": "org-test", "result_files": [], "seed": req.get("seed", 42),
                "status": fake.statuses[0], "trained_tokens": None, "training_file": req["training_file"],
                "validation_file": req.get("validation_file"), "metadata": req.get("metadata"), "method": method,
                "user_provided_suffix": req.get("suffix"), "_listed_from": time.time() + fake.list_lag,
            }
            fake.add_event(jid, "Created fine-tuning job")
            return 200, _public(st.jobs[jid]), None
        if route == "jobs.list":
            wanted = {k[len("metadata["):-1]: v for k, v in query.items() if k.startswith("metadata[")}
            visible = [j for j in reversed(list(st.jobs.values())) if time.time() >= j["_listed_from"]]
            if fake.omit_metadata:
                return 200, _page([{**_public(j), "metadata": None} for j in visible], query), None
            jobs = [_public(j) for j in visible if all((j["metadata"] or {}).get(k) == v for k, v in wanted.items())]
            return 200, _page(jobs, query), None
        if route == "jobs.retrieve":
            job = st.jobs[args[0]]
            fake.advance(job)
            return 200, _public(job), None
        if route == "jobs.events":
            st.jobs[args[0]]
            return 200, _page(list(reversed(st.events[args[0]])), query), None
        if route == "jobs.checkpoints":
            st.jobs[args[0]]
            return 200, _page(list(reversed(st.checkpoints[args[0]])), query), None
        if route == "jobs.cancel":
            job = st.jobs[args[0]]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return 400, {"message": f"Job {job['id']} has already completed"}, None
            job.update(status="cancelled", finished_at=int(time.time()))
            fake.add_event(job["id"], "Fine-tuning job cancelled")
            return 200, _public(job), None
        return 404, {"message": f"no route {route}"}, None


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    if "after" in query:
        ids = [i["id"] for i in items]
        items = items[ids.index(query["after"]) + 1:] if query["after"] in ids else []
    limit = int(query.get("limit", 20))
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}


_ROUTES = {
    ("POST", ("files",)): "files.create",
    ("GET", ("files", "*")): "files.retrieve",
    ("GET", ("files",)): "files.list",
    ("DELETE", ("files", "*")): "files.delete",
    ("GET", ("files", "*", "content")): "files.content",
    ("POST", ("uploads",)): "uploads.create",
    ("POST", ("uploads", "*", "parts")): "parts.create",
    ("POST", ("uploads", "*", "complete")): "uploads.complete",
    ("POST", ("fine_tuning", "jobs")): "jobs.create",
    ("GET", ("fine_tuning", "jobs")): "jobs.list",
    ("GET", ("fine_tuning", "jobs", "*")): "jobs.retrieve",
    ("GET", ("fine_tuning", "jobs", "*", "events")): "jobs.events",
    ("POST", ("fine_tuning", "jobs", "*", "cancel")): "jobs.cancel",
    ("GET", ("fine_tuning", "jobs", "*", "checkpoints")): "jobs.checkpoints",
}
