"""Test-only stand-in for the part of Together AI's REST API that dsqa uses (files, fine-tunes), with fault injection."""

from __future__ import annotations

import datetime as dt
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

from tests.fake_openai import Fault
from tests.fake_server import FakeServer, QuietHandler, match_route

TRAINABLE = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": {"sft": 131072, "dpo": 32768, "full": True},
    "Qwen/Qwen3-8B": {"sft": 32768, "dpo": 16384, "full": True},
    "openai/gpt-oss-20b": {"sft": 16384, "dpo": 8192, "full": False},
}
#: the fake's price per 1M tokens (Together's real rates depend on size, method and LoRA/full)
PRICE_PER_1M = 0.48


def iso(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class State:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    metrics: dict[str, list[dict[str, float]]] = field(default_factory=lambda: defaultdict(list))
    ticks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counter: int = 0
    requests: list[tuple[str, str, str]] = field(default_factory=list)


class FakeTogether(FakeServer):
    """A ThreadingHTTPServer on 127.0.0.1 speaking Together's REST API under /v1 (plus the presigned upload URL)."""

    def __init__(self, api_key: str, *, total_steps: int = 3, outcome: str = "completed",
                 statuses: tuple[str, ...] = ("pending", "queued", "running")) -> None:
        self.api_key = api_key
        self.total_steps = total_steps
        self.outcome = outcome
        self.statuses = statuses
        self.state = State()
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.arrived: dict[str, threading.Event] = defaultdict(threading.Event)
        super().__init__(_Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, route: str, *faults: Fault) -> None:
        self.faults[route].extend(faults)

    def count(self, route: str) -> int:
        return sum(1 for _, r, _ in self.state.requests if r == route)

    def new_id(self, prefix: str) -> str:
        self.state.counter += 1
        return f"{prefix}{self.state.counter:06d}"

    # -- behaviour ---------------------------------------------------------------------------

    def add_event(self, job_id: str, type_: str, message: str, level: str = "info", **extra: Any) -> None:
        # the counter keeps event times distinct and ordered within one second
        self.state.counter += 1
        self.state.events[job_id].append({"object": "fine-tune-event", "created_at": iso(time.time() + self.state.counter / 1000),
                                          "type": type_, "message": message, "level": level, **extra})

    def add_job(self, req: dict[str, Any], created: float | None = None) -> dict[str, Any]:
        jid = self.new_id("ft-")
        now = created if created is not None else time.time()
        job = {
            "id": jid, "status": self.statuses[0], "user_id": "user-test", "created_at": iso(now), "updated_at": iso(now),
            "model": req["model"], "model_output_name": None, "training_file": req["training_file"],
            "validation_file": req.get("validation_file") or "", "n_epochs": req.get("n_epochs", 1), "n_evals": req.get("n_evals", 0),
            "n_checkpoints": req.get("n_checkpoints", 1), "batch_size": req.get("batch_size", "max"),
            "learning_rate": req.get("learning_rate"), "warmup_ratio": req.get("warmup_ratio"), "suffix": req.get("suffix"),
            "training_type": req.get("training_type"), "training_method": req.get("training_method"),
            "random_seed": req.get("random_seed"), "token_count": None, "request": req,
        }
        self.state.jobs[jid] = job
        self.add_event(jid, "job_pending", "Fine tune request created")
        return job

    def advance(self, job: dict[str, Any]) -> None:
        """One tick per retrieve: the listed statuses, one step per tick while running, then the outcome."""
        if job["status"] in ("completed", "error", "cancelled"):
            return
        jid = job["id"]
        tick = self.state.ticks[jid] = self.state.ticks[jid] + 1
        job["updated_at"] = iso(time.time())
        if tick < len(self.statuses):
            job["status"] = self.statuses[tick]
            if job["status"] == "running":
                self.add_event(jid, "training_start", "Training started", total_steps=self.total_steps)
            return
        step = tick - len(self.statuses) + 1
        if step <= self.total_steps:
            loss = round(2.0 / (step + 1), 4)
            self.state.metrics[jid].append({"global_step": float(step), "loss": loss, **({"eval_loss": round(2.2 / (step + 1), 4)} if step % 2 == 0 else {})})
            self.add_event(jid, "epoch_complete" if step == self.total_steps else "checkpoint_save",
                           f"Step {step} of {self.total_steps} done", step=step, total_steps=self.total_steps)
            return
        if self.outcome == "error":
            job["status"] = "error"
            self.add_event(jid, "job_error", "Training failed: the training file has a line the tokenizer rejects", level="error")
            return
        name = f"user-test/{job['model'].split('/')[-1]}-{job['suffix'] or 'ft'}-{jid[-6:]}"
        job.update(status="completed", model_output_name=name, token_count=4321)
        self.add_event(jid, "model_upload_complete", f"Model uploaded: {name}")
        self.add_event(jid, "job_complete", "Fine-tuning job completed")


def _file_obj(f: dict[str, Any]) -> dict[str, Any]:
    return {"id": f["id"], "object": "file", "bytes": len(f["content"] or b""), "created_at": f["created_at"], "filename": f["filename"],
            "FileType": f["file_type"], "purpose": f["purpose"], "processing_status": f["status"]}


def _job_obj(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k != "request"}


class _Handler(QuietHandler):
    fake: FakeTogether

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error"}}, headers)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route, args = match_route(_ROUTES, method, url.path)
        with fake.lock:
            fake.state.requests.append((method, route, url.query))
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if route != "upload.put" and key != fake.api_key:
            # echoes the whole wrong key so a leak into dsqa's output is caught
            return self._error(401, f"Invalid API key provided: {key}")
        fault = None
        with fake.lock:
            if fake.faults[route]:
                fault = fake.faults[route].pop(0)
        fake.arrived[route].set()
        if fault is not None and fault.status is not None:
            return self._error(fault.status, fault.message, fault.headers)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)  # a slow server: the work is done after the wait
        if fault is not None and fault.before and (fault.hang or fault.drop):
            if fault.hang:
                fake.release.wait(30)
            self.close_connection = True
            return None
        try:
            with fake.lock:
                status, payload, raw, headers = self._dispatch(route, args, query, body)
        except KeyError as exc:
            return self._error(404, f"No such object: {exc.args[0]}")
        if fault is not None and fault.hang:
            fake.release.wait(30)
        if fault is not None and (fault.drop or fault.hang):
            self.close_connection = True
            return None
        if status == 409:
            return self._send(409, {"file_id": payload["file_id"], "error": {"message": payload["message"]}})
        if status >= 400:
            return self._error(status, payload["message"])
        return self._send(status, payload, headers, raw)

    def _form(self, body: bytes) -> dict[str, str]:
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
        return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True).decode() for part in msg.iter_parts()}

    def _dispatch(self, route: str, args: list[str], query: dict[str, str], body: bytes) -> tuple[int, Any, bytes | None, dict[str, str] | None]:
        fake, st = self.fake, self.fake.state
        if route == "files.create":
            form = self._form(body)
            for f in st.files.values():
                if f["checksum"] == form["checksum"] and f["status"] == "COMPLETED":
                    return 409, {"message": "file exists", "file_id": f["id"]}, json.dumps({"file_id": f["id"]}).encode(), None
            fid = fake.new_id("file-")
            st.files[fid] = {"id": fid, "filename": form["file_name"], "file_type": form["file_type"], "purpose": form["purpose"],
                             "checksum": form["checksum"], "content": None, "status": "PENDING", "created_at": int(time.time())}
            return 302, {}, b"", {"Location": f"{fake.base_url}/upload/{fid}", "X-Together-File-Id": fid}
        if route == "upload.put":
            st.files[args[0]]["content"] = body
            return 200, {}, b"", None
        if route == "files.preprocess":
            f = st.files[args[0]]
            if f["content"] is None or hashlib.sha256(f["content"]).hexdigest() != f["checksum"]:
                return 400, {"message": "uploaded content does not match the checksum"}, None, None
            f["status"] = "COMPLETED"
            return 200, _file_obj(f), None, None
        if route == "files.list":
            return 200, {"data": [_file_obj(f) for f in st.files.values()]}, None, None
        if route == "files.retrieve":
            return 200, _file_obj(st.files[args[0]]), None, None
        if route == "files.content":
            return 200, None, st.files[args[0]]["content"] or b"", None
        if route == "files.delete":
            st.files.pop(args[0])
            return 200, {"id": args[0], "deleted": True}, None, None
        if route == "limits":
            model = query.get("model_name", "")
            spec = TRAINABLE.get(model)
            if spec is None:
                return 404, {"message": f"Model {model} is not available for fine-tuning"}, None, None
            full = {"max_batch_size": 32, "max_batch_size_dpo": 16, "min_batch_size": 8} if spec["full"] else None
            return 200, {
                "model_name": model, "default_gradient_accumulation_steps": 1, "max_learning_rate": 1.0, "min_learning_rate": 1e-8,
                "max_num_checkpoints": 10, "max_num_epochs": 20, "max_num_evals": 100, "max_seq_length_sft": spec["sft"],
                "max_seq_length_dpo": spec["dpo"], "min_max_seq_length": 1024, "merge_output_lora": True,
                "supports_full_training": spec["full"], "supports_reasoning": False, "supports_tools": True, "supports_vision": False,
                "lora_training": {"default_rank": 16, "max_batch_size": 64, "max_batch_size_dpo": 32, "max_rank": 64,
                                  "min_batch_size": 8, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
                "full_training": full,
            }, None, None
        if route == "estimate":
            req = json.loads(body)
            content = st.files[req["training_file"]]["content"] or b""
            tokens = len(content) // 4 * int(req.get("n_epochs") or 1)
            return 200, {"estimation_available": True, "estimated_total_price": round(tokens * PRICE_PER_1M / 1e6, 6),
                         "estimated_train_token_count": tokens, "estimated_eval_token_count": 0, "allowed_to_proceed": True,
                         "user_limit": 100.0}, None, None
        if route == "jobs.create":
            req = json.loads(body)
            if req["model"] not in TRAINABLE:
                return 400, {"message": f"Model {req['model']} is not supported for fine-tuning"}, None, None
            for k in ("training_file", "validation_file"):
                if req.get(k) and req[k] not in st.files:
                    return 400, {"message": f"invalid {k}: {req[k]}"}, None, None
            return 200, _job_obj(fake.add_job(req)), None, None
        if route == "jobs.list":
            return 200, {"data": [_job_obj(j) for j in st.jobs.values()]}, None, None
        if route == "jobs.retrieve":
            job = st.jobs[args[0]]
            fake.advance(job)
            return 200, _job_obj(job), None, None
        if route == "jobs.cancel":
            job = st.jobs[args[0]]
            if job["status"] in ("completed", "error", "cancelled"):
                return 400, {"message": f"Job {job['id']} has already finished"}, None, None
            job.update(status="cancelled", updated_at=iso(time.time()))
            fake.add_event(job["id"], "cancel_requested", "Cancel requested")
            return 200, _job_obj(job), None, None
        if route == "jobs.events":
            st.jobs[args[0]]
            return 200, {"data": st.events[args[0]]}, None, None
        if route == "jobs.checkpoints":
            job = st.jobs[args[0]]
            points = []
            if job["status"] == "completed":
                for s in range(1, fake.total_steps + 1):
                    points.append({"checkpoint_type": "Intermediate" if s < fake.total_steps else "Final", "created_at": job["updated_at"],
                                   "path": f"{job['id']}:{s}", "step": s, "object_name": f"{job['model_output_name']}:step-{s}"})
            return 200, {"data": points}, None, None
        if route == "jobs.metrics":
            st.jobs[args[0]]
            return 200, {"metrics": st.metrics[args[0]]}, None, None
        return 404, {"message": f"no route {route}"}, None, None


_ROUTES = {
    ("POST", ("v1", "files")): "files.create",
    ("PUT", ("upload", "*")): "upload.put",
    ("POST", ("v1", "files", "*", "preprocess")): "files.preprocess",
    ("GET", ("v1", "files")): "files.list",
    ("GET", ("v1", "files", "*")): "files.retrieve",
    ("GET", ("v1", "files", "*", "content")): "files.content",
    ("DELETE", ("v1", "files", "*")): "files.delete",
    ("GET", ("v1", "fine-tunes", "models", "limits")): "limits",
    ("POST", ("v1", "fine-tunes", "estimate-price")): "estimate",
    ("POST", ("v1", "fine-tunes")): "jobs.create",
    ("GET", ("v1", "fine-tunes")): "jobs.list",
    ("GET", ("v1", "fine-tunes", "*")): "jobs.retrieve",
    ("POST", ("v1", "fine-tunes", "*", "cancel")): "jobs.cancel",
    ("GET", ("v1", "fine-tunes", "*", "events")): "jobs.events",
    ("GET", ("v1", "fine-tunes", "*", "checkpoints")): "jobs.checkpoints",
    ("GET", ("v1", "fine-tunes", "*", "metrics")): "jobs.metrics",
}
