"""Test-only chat-completions server (OpenAI, Together and Azure paths): fine-tuned models answer like the references, others do not."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fake_server import FakeServer, QuietHandler

JUDGE = "judge-model"


class FakeChat(FakeServer):
    """Serves POST /v1/chat/completions and /openai/deployments/{name}/chat/completions on 127.0.0.1.

    ``answers`` maps a conversation's last user message to its reference assistant message. A model
    counts as fine-tuned when its id starts with ``ft:`` or is in ``fine_tuned``; it answers with the
    reference. Any other model answers with a polite non-answer. ``JUDGE`` grades 5 when the
    candidate equals the reference and 2 otherwise. ``faults`` are (status, model or None) answered
    instead of the next matching requests.
    """

    def __init__(self, api_key: str, answers: dict[str, dict[str, Any]], fine_tuned: tuple[str, ...] = ()) -> None:
        self.api_key = api_key
        self.answers = answers
        self.fine_tuned = set(fine_tuned)
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.faults: list[tuple[int, str | None]] = []
        self.by_model: dict[str, int] = defaultdict(int)
        #: prompts on which the roles are swapped: the base answers like the reference, the fine-tuned model does not
        self.swapped: set[str] = set()
        super().__init__(_Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        if model == JUDGE:
            text = messages[-1]["content"]
            found = re.search(r"Reference answer:\n(.*)\n\nCandidate answer:\n(.*)\Z", text, re.S)
            grade = 5 if found and found.group(1).strip() == found.group(2).strip() else 2
            return {"role": "assistant", "content": json.dumps({"score": grade, "reason": "compared with the reference"})}
        last_user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        reference = self.answers.get(last_user if isinstance(last_user, str) else json.dumps(last_user))
        tuned = model.startswith("ft:") or model in self.fine_tuned
        if reference is not None and tuned != (last_user in self.swapped):
            out = {"role": "assistant", "content": reference.get("content")}
            if reference.get("tool_calls"):
                out["tool_calls"] = reference["tool_calls"]
            return out
        return {"role": "assistant", "content": "I am not sure I can help with that, but I will try my best."}


class _Handler(QuietHandler):
    fake: FakeChat

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}},
                   {"retry-after-ms": "1"} if status == 429 or status >= 500 else None)

    def do_POST(self) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        deployment = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", url.path)
        if url.path == "/v1/chat/completions":
            key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            model = body.get("model", "")
        elif deployment and "api-version" in query:
            key = self.headers.get("api-key") or ""
            model = deployment.group(1)
        else:
            return self._error(404, f"no route {url.path}")
        with fake.lock:
            fake.paths.append(url.path)
            fake.requests.append(body)
            fake.by_model[model] += 1
            fault = next((f for f in fake.faults if f[1] in (None, model)), None)
            if fault is not None:
                fake.faults.remove(fault)
        if key != fake.api_key:
            return self._error(401, "Incorrect API key provided.", "invalid_api_key")
        if fault is not None:
            return self._error(fault[0], "injected", "rate_limit_exceeded" if fault[0] == 429 else None)
        message = fake.reply(model, body)
        prompt = len(json.dumps(body["messages"])) // 4
        completion = len(json.dumps(message)) // 4
        return self._send(200, {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop", "message": message}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        })
