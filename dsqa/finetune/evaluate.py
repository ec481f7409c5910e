"""Compare a fine-tuned model with its base on held-out examples: send, cache, score, bootstrap, report."""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
import re
import statistics
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DsqaError
from .backend import BackendError
from .ledger import Ledger

if TYPE_CHECKING:
    from ..model import Finding, Report

Echo = Callable[[str], None]

TOGETHER_URL = "https://api.together.xyz/v1"
EVAL_BACKENDS = ("openai", "azure", "together")
#: resamples of the bootstrap; the seed makes every report reproducible
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20240501
#: two scores closer than this are a tie
TIE = 0.01
#: examples shown side by side
SHOWN = 5
#: USD per 1M tokens (input, output) for inference on a fine-tuned model of each base (PRICING);
#: base models cost at most this, so an estimate with these prices is an upper bound
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4.1-2025-04-14": (3.00, 12.00),
    "gpt-4.1-mini-2025-04-14": (0.80, 3.20),
    "gpt-4.1-nano-2025-04-14": (0.20, 0.80),
    "gpt-4o-2024-08-06": (3.75, 15.00),
    "gpt-4o-mini-2024-07-18": (0.30, 1.20),
    "gpt-3.5-turbo-0125": (3.00, 6.00),
}
JUDGE_MAX_TOKENS = 100
JUDGE_RUBRIC = (
    "You grade a candidate answer against a reference answer to the same conversation. Score 5 when the candidate says "
    "everything the reference says and nothing wrong, 4 for a small omission, 3 for a partly correct answer, 2 for a mostly "
    "wrong or off-topic one, 1 for a wrong or empty one. Reply with JSON only: {\"score\": N, \"reason\": \"one sentence\"}."
)


# -- examples ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One held-out conversation: everything before the last assistant reply, and that reply."""

    line: int
    prompt: list[dict[str, Any]]
    reference: dict[str, Any]
    tools: list[Any] | None = None


def load_examples(path: Path) -> list[Example]:
    """The held-out file's chat records; a record without an assistant reply is a one-line error."""
    out = []
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DsqaError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    for n, value in _records(path, text):
        messages = value.get("messages") if isinstance(value, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise DsqaError(f"{path}:{n}: not a chat record (expected a messages list)")
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        if last is None or last == 0:
            raise DsqaError(f"{path}:{n}: no assistant reply after a prompt to compare the models against")
        prompt = [{k: v for k, v in m.items() if k != "weight"} for m in messages[:last]]
        tools = value.get("tools") if isinstance(value.get("tools"), list) else None
        out.append(Example(n, prompt, messages[last], tools))
    if not out:
        raise DsqaError(f"{path}: no examples")
    return out


def _records(path: Path, text: str) -> list[tuple[int, Any]]:
    """(line, value) of each JSONL line; for a .json array, (record number, value)."""
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DsqaError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
        return list(enumerate(values, start=1))
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            out.append((n, json.loads(raw)))
        except json.JSONDecodeError as exc:
            raise DsqaError(f"{path}:{n}: not JSON: {exc.msg}") from None
    return out


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    out = []
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            out.append({"name": fn.get("name"), "arguments": fn.get("arguments")})
    return out


def shown(message: dict[str, Any]) -> str:
    """A reply as one readable string: its text, or its tool calls."""
    calls = _calls(message)
    if calls:
        return "; ".join(f"{c['name']}({c['arguments']})" for c in calls)
    return _text(message.get("content"))


# -- the chat client -------------------------------------------------------------------------------


class ChatClient:
    """The chat-completions endpoint of one backend, through the openai SDK (thread-safe)."""

    def __init__(self, name: str, client: Any, endpoint: str, key_env: str, secrets: tuple[str, ...]) -> None:
        self.name = name
        self.endpoint = endpoint
        self._client = client
        self._key_env = key_env
        self._secrets = tuple(s for s in secrets if s)

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """One request (the SDK retries 408/409/429/5xx and dropped connections); a reply dict."""
        import openai

        try:
            response = self._client.chat.completions.create(**body)
        except openai.OpenAIError as exc:
            raise self._error(exc, body["model"]) from None
        if not response.choices:
            raise BackendError(f"model {body['model']}: the reply has no choices", "rejected")
        message = response.choices[0].message
        calls = [{"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
                 for c in (message.tool_calls or []) if getattr(c, "function", None) is not None]
        reply: dict[str, Any] = {"role": "assistant", "content": message.content}
        if calls:
            reply["tool_calls"] = calls
        usage = response.usage
        if usage is not None:
            reply["usage"] = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
        return reply

    def _error(self, exc: Exception, model: str) -> BackendError:
        import openai

        what = f"asking {model}"
        if isinstance(exc, openai.APIStatusError):
            detail = str(exc)
            body = getattr(exc, "body", None)
            if isinstance(body, dict) and body.get("message"):
                detail = str(body["message"])
            for secret in self._secrets:
                detail = detail.replace(secret, "***")
            detail = " ".join(detail.split())
            if isinstance(exc, openai.AuthenticationError):
                return BackendError(f"{what}: the API key was rejected (401); check {self._key_env}", "config")
            if isinstance(exc, openai.NotFoundError):
                return BackendError(f"{what}: not found (404): {detail}", "not_found")
            kind = "transient" if exc.status_code == 429 or exc.status_code >= 500 else "rejected"
            return BackendError(f"{what}: HTTP {exc.status_code} from {self.endpoint}" + (" after retries" if kind == "transient" else "") + f": {detail}", kind)
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(f"{what}: {self.endpoint} did not answer in time", "transient")
        if isinstance(exc, openai.APIConnectionError):
            return BackendError(f"{what}: cannot reach {self.endpoint} (network unreachable or connection dropped)", "transient")
        return BackendError(f"{what}: {type(exc).__name__}", "config")


def make_client(backend: str, timeout: float = 120.0, retries: int = 3) -> ChatClient:
    """A chat client configured from the environment, as the fine-tuning backends are."""
    try:
        import openai
    except ImportError:
        raise BackendError("the openai package is not installed: pip install 'dsqa[finetune]'", "config") from None
    if backend == "openai":
        key = os.environ.get("OPENAI_API_KEY", "").strip()
        if not key:
            raise BackendError("no API key: set OPENAI_API_KEY (backend openai)", "config")
        client = openai.OpenAI(api_key=key, base_url=os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
                               timeout=timeout, max_retries=retries)
        return ChatClient("openai", client, str(client.base_url).rstrip("/"), "OPENAI_API_KEY", (key,))
    if backend == "together":
        key = os.environ.get("TOGETHER_API_KEY", "").strip()
        if not key:
            raise BackendError("no API key: set TOGETHER_API_KEY (backend together)", "config")
        base = os.environ.get("TOGETHER_BASE_URL", "").strip().rstrip("/") or TOGETHER_URL
        if not base.endswith("/v1"):
            base += "/v1"  # the SDK's base URL has no /v1; its OpenAI-compatible API lives under it
        client = openai.OpenAI(api_key=key, base_url=base, timeout=timeout, max_retries=retries)
        return ChatClient("together", client, base, "TOGETHER_API_KEY", (key,))
    if backend == "azure":
        missing = [n for n in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION") if not os.environ.get(n, "").strip()]
        if missing:
            raise BackendError(f"backend azure needs {', '.join(missing)} in the environment", "config")
        key = os.environ["AZURE_OPENAI_API_KEY"].strip()
        endpoint = os.environ["AZURE_OPENAI_ENDPOINT"].strip()
        client = openai.AzureOpenAI(api_key=key, azure_endpoint=endpoint, api_version=os.environ["OPENAI_API_VERSION"].strip(),
                                    timeout=timeout, max_retries=retries)
        return ChatClient("azure", client, endpoint.rstrip("/"), "AZURE_OPENAI_API_KEY", (key,))
    raise BackendError(f"unknown backend {backend!r} (available: {', '.join(EVAL_BACKENDS)})", "config")


# -- requests, cost and cache ------------------------------------------------------------------------


def request_body(model: str, example: Example, max_tokens: int) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": example.prompt, "temperature": 0, "max_tokens": max_tokens}
    if example.tools:
        body["tools"] = example.tools
    return body


def judge_body(judge: str, example: Example, reply: dict[str, Any]) -> dict[str, Any]:
    conversation = "\n".join(f"{m.get('role')}: {shown(m)}" for m in example.prompt)
    user = f"Conversation:\n{conversation}\n\nReference answer:\n{shown(example.reference)}\n\nCandidate answer:\n{shown(reply)}"
    return {"model": judge, "messages": [{"role": "system", "content": JUDGE_RUBRIC}, {"role": "user", "content": user}],
            "temperature": 0, "max_tokens": JUDGE_MAX_TOKENS}


def body_sha256(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def price_of(model: str, override: tuple[float, float] | None) -> tuple[float, float] | None:
    """USD per 1M input and output tokens: the table's by the model's base, else --price (None without either)."""
    from ..targets import base_of, table

    base = base_of(model)
    return PRICES.get(table().names.get(base, base), override)


class TokenCounter:
    """Prompt tokens with the model's encoding (o200k_base when dsqa does not know the model)."""

    def __init__(self) -> None:
        from ..tokencount import ChatCounter

        self._counters: dict[str, Any] = {}
        self._make = ChatCounter

    def __call__(self, model: str, body: dict[str, Any]) -> int:
        from ..targets import base_of, table

        tab = table()
        mid = tab.names.get(base_of(model))
        encoding = tab.models[mid].encoding if mid else "o200k_base"
        if encoding not in self._counters:
            self._counters[encoding] = self._make(encoding)
        return int(self._counters[encoding].chat({"messages": body["messages"], "tools": body.get("tools")}).total)


@dataclass
class Estimate:
    """What the uncached requests may cost: tokens per model, and USD when every price is known."""

    requests: int = 0
    cached: int = 0
    input_tokens: dict[str, int] = field(default_factory=dict)
    output_tokens: dict[str, int] = field(default_factory=dict)
    usd: float | None = 0.0
    unpriced: list[str] = field(default_factory=list)

    def add(self, model: str, prompt: int, output: int, price: tuple[float, float] | None) -> None:
        self.requests += 1
        self.input_tokens[model] = self.input_tokens.get(model, 0) + prompt
        self.output_tokens[model] = self.output_tokens.get(model, 0) + output
        if price is None:
            if model not in self.unpriced:
                self.unpriced.append(model)
            self.usd = None
        elif self.usd is not None:
            self.usd += (prompt * price[0] + output * price[1]) / 1_000_000

    def line(self) -> str:
        if not self.requests:
            return f"nothing to send: all {_n(self.cached, 'reply')} are in the ledger"
        tokens = sum(self.input_tokens.values()) + sum(self.output_tokens.values())
        head = f"{_n(self.requests, 'request')} to send ({self.cached:,} answered from the ledger), up to {tokens:,} tokens"
        if self.usd is None:
            return f"{head}; cost unknown: no price for {', '.join(self.unpriced)} (pass --price IN,OUT in USD per 1M tokens)"
        return f"{head}; estimated cost at most ${self.usd:,.4f}"


def _n(n: int, word: str) -> str:
    if n == 1:
        return f"{n:,} {word}"
    return f"{n:,} {word[:-1]}ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else f"{n:,} {word}s"


# -- scoring ---------------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, NFKC, single spaces, no surrounding quotes or final full stop."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
    return text.strip("\"'`").rstrip(".").strip()


def _structured(message: dict[str, Any]) -> Any:
    """The reference's structure: tool calls (with parsed arguments) or a JSON object/array reply; None for text."""
    calls = _calls(message)
    if calls:
        return [{"name": c["name"], "arguments": _loads(c["arguments"])} for c in calls]
    text = _text(message.get("content")).strip()
    if text[:1] in "{[":
        value = _loads(text)
        if isinstance(value, (dict, list)):
            return value
    return None


class _Invalid:
    """A JSON string that does not parse."""


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return _Invalid()


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{prefix}/{k}"))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(_leaves(v, f"{prefix}/{i}"))
        return out
    return {prefix: value}


def _reply_structure(reply: dict[str, Any], tool_reference: bool) -> Any:
    if tool_reference:
        calls = _calls(reply)
        return [{"name": c["name"], "arguments": _loads(c["arguments"])} for c in calls] if calls else _Invalid()
    text = _text(reply.get("content")).strip()
    fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S)
    return _loads(fence.group(1) if fence else text)


def _has_invalid(value: Any) -> bool:
    if isinstance(value, _Invalid):
        return True
    if isinstance(value, dict):
        return any(_has_invalid(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_invalid(v) for v in value)
    return False


def score(example: Example, reply: dict[str, Any]) -> dict[str, float]:
    """exact, similarity and (for JSON or tool-call references) valid and fields, each in [0, 1]."""
    from rapidfuzz import fuzz

    ref, got = normalise(shown(example.reference)), normalise(shown(reply))
    out = {"exact": float(ref == got), "similarity": fuzz.ratio(ref, got) / 100}
    structure = _structured(example.reference)
    if structure is not None:
        value = _reply_structure(reply, bool(_calls(example.reference)))
        out["valid"] = float(not _has_invalid(value))
        want, have = _leaves(structure), _leaves(value) if not isinstance(value, _Invalid) else {}
        out["fields"] = sum(1 for k, v in want.items() if k in have and have[k] == v) / len(want)
    return out


def primary(scores: dict[str, float]) -> float:
    """The score that decides wins and losses: field match for structured references, else similarity."""
    return scores.get("fields", scores["similarity"])


def judge_score(reply: dict[str, Any]) -> float | None:
    """A judge's 1-5 grade scaled to [0, 1], or None when the reply holds no grade."""
    text = _text(reply.get("content"))
    value = _loads(text.strip())
    grade = value.get("score") if isinstance(value, dict) else None
    if not isinstance(grade, (int, float)) or isinstance(grade, bool):
        found = re.search(r"\b([1-5])\b", text)
        grade = int(found.group(1)) if found else None
    if grade is None or not 1 <= grade <= 5:
        return None
    return (float(grade) - 1) / 4


def bootstrap(values: Sequence[float], seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Mean and its 95% percentile-bootstrap interval (seeded, so the same data gives the same interval)."""
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return mean, mean, mean
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=n)) for _ in range(BOOTSTRAP_SAMPLES))
    return mean, means[int(0.025 * BOOTSTRAP_SAMPLES)], means[int(0.975 * BOOTSTRAP_SAMPLES) - 1]


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Who is asked what: (model, example index, body, its sha256) for every request."""

    items: list[tuple[str, int, dict[str, Any], str]] = field(default_factory=list)


def send_all(ledger: Ledger, client: ChatClient, plan: Plan, concurrency: int, echo: Echo) -> tuple[dict[str, dict[str, Any]], int]:
    """Every reply of the plan by body sha256, from the ledger or the API; returns (replies, how many were sent)."""
    replies: dict[str, dict[str, Any]] = {}
    todo: dict[str, tuple[str, dict[str, Any]]] = {}
    for model, _, body, sha in plan.items:
        if sha in replies or sha in todo:
            continue
        cached = ledger.cached_reply(client.name, client.endpoint, model, sha)
        if cached is not None:
            replies[sha] = cached
        else:
            todo[sha] = (model, body)
    if not todo:
        return replies, 0
    failure: BackendError | None = None
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(client.complete, body): (sha, model) for sha, (model, body) in todo.items()}
        for future in as_completed(futures):
            sha, model = futures[future]
            if future.cancelled():
                continue
            try:
                reply = future.result()
            except BackendError as exc:
                failure = failure or exc
                if exc.kind == "config":
                    for pending in futures:
                        pending.cancel()  # a bad key or endpoint fails every request alike
                continue
            # the ledger is written from this thread only (one SQLite connection); each reply as it comes
            ledger.store_reply(client.name, client.endpoint, model, sha, reply)
            replies[sha] = reply
            done += 1
            if done % 50 == 0:
                echo(f"  {done:,} of {len(todo):,} replies")
    if failure is not None and done:
        raise BackendError(f"{failure} ({done:,} of {len(todo):,} replies were received and kept in the ledger; run again to resume)",
                           failure.kind)
    if failure is not None:
        raise failure
    return replies, len(todo)


@dataclass
class EvalResult:
    """Everything the eval report shows; ``to_dict`` is the JSON report."""

    data: str
    backend: str
    models: dict[str, str]
    examples: list[Example]
    scores: dict[str, list[dict[str, float]]]
    replies: dict[str, list[dict[str, Any]]]
    judge: str | None = None
    judged: dict[str, list[float | None]] = field(default_factory=dict)
    sent: int = 0
    cached: int = 0
    estimate: str = ""
    guards: list[str] = field(default_factory=list)
    leaked_lines: list[int] = field(default_factory=list)
    check_summary: dict[str, int] = field(default_factory=dict)

    def metric_values(self, role: str, metric: str) -> list[float]:
        if metric == "judge":
            return [v for v in self.judged.get(role, []) if v is not None]
        if metric == "score":
            return [primary(s) for s in self.scores[role]]
        return [s[metric] for s in self.scores[role] if metric in s]

    def metrics(self) -> list[str]:
        found = ["score", "exact", "similarity"]
        if any("valid" in s for s in self.scores["ft"]):
            found += ["valid", "fields"]
        if self.judge:
            found.append("judge")
        return found

    def comparison(self) -> dict[str, Any] | None:
        if "base" not in self.scores:
            return None
        wins = ties = losses = 0
        diffs = []
        for a, b in zip(self.scores["ft"], self.scores["base"]):
            d = primary(a) - primary(b)
            diffs.append(d)
            if abs(d) <= TIE:
                ties += 1
            elif d > 0:
                wins += 1
            else:
                losses += 1
        mean, low, high = bootstrap(diffs)
        return {"metric": "score", "wins": wins, "ties": ties, "losses": losses, "difference": {"mean": mean, "low": low, "high": high}}

    def largest_differences(self) -> list[dict[str, Any]]:
        roles = ["ft", "base"] if "base" in self.scores else ["ft"]
        rows = []
        for i, ex in enumerate(self.examples):
            ft = primary(self.scores["ft"][i])
            other = primary(self.scores["base"][i]) if "base" in self.scores else 1.0
            rows.append((abs(ft - other), i, ex))
        rows.sort(key=lambda r: (-r[0], r[1]))
        out = []
        for gap, i, ex in rows[:SHOWN]:
            if gap <= TIE:
                break  # alike (or, alone, a perfect score): nothing to show
            item: dict[str, Any] = {"line": ex.line, "prompt": shown(ex.prompt[-1]), "reference": shown(ex.reference)}
            for role in roles:
                item[role] = {"reply": shown(self.replies[role][i]), "score": primary(self.scores[role][i])}
            out.append(item)
        return out

    def to_dict(self) -> dict[str, Any]:
        from .. import __version__

        table: dict[str, Any] = {}
        for role in self.scores:
            table[role] = {}
            for metric in self.metrics():
                values = self.metric_values(role, metric)
                if values:
                    mean, low, high = bootstrap(values)
                    table[role][metric] = {"mean": mean, "low": low, "high": high, "n": len(values)}
        return {
            "tool": "dsqa", "version": __version__, "kind": "eval", "data": self.data, "backend": self.backend,
            "models": self.models, "judge": self.judge, "examples": len(self.examples),
            "requests": {"sent": self.sent, "cached": self.cached}, "estimate": self.estimate,
            "check": self.check_summary, "guards": self.guards, "leaked_lines": self.leaked_lines,
            "metrics": table, "comparison": self.comparison(), "largest_differences": self.largest_differences(),
            "confidence": {"level": 0.95, "method": "percentile bootstrap", "samples": BOOTSTRAP_SAMPLES, "seed": BOOTSTRAP_SEED},
        }


LABELS = {
    "score": "score (similarity; fields for JSON and tool calls)",
    "exact": "exact match (normalised)",
    "similarity": "similarity (rapidfuzz ratio)",
    "valid": "valid JSON / tool call",
    "fields": "fields matching the reference",
    "judge": "judge",
}


def _label(metric: str, judge: str | None) -> str:
    if metric == "judge":
        return f"{judge}'s judgement (1-5 as 0-1; a model's opinion)"
    return LABELS[metric]


def _ci(m: dict[str, Any] | None) -> str:
    if not m:
        return "-"
    return f"{m['mean']:.3f} [{m['low']:.3f}, {m['high']:.3f}]"


def _tally(comp: dict[str, Any]) -> str:
    losses = f"{comp['losses']:,} " + ("loss" if comp["losses"] == 1 else "losses")
    return f"{_n(comp['wins'], 'win')}, {_n(comp['ties'], 'tie')}, {losses}"


def _clip(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def render_text(data: dict[str, Any]) -> str:
    roles = list(data["metrics"])
    names = {"ft": "FT", "base": "BASE"}
    lines = [f"dsqa eval: {data['data']}, {_n(data['examples'], 'example')} ({data['backend']})"]
    for role in roles:
        lines.append(f"  {names[role]:<5}{data['models'][role]}")
    lines.append(f"requests: {data['requests']['sent']:,} sent, {data['requests']['cached']:,} answered from the ledger")
    lines += [f"guard: {g}" for g in data["guards"]]
    lines.append("")
    width = max(len(_label(m, data["judge"])) for m in data["metrics"]["ft"]) + 2
    lines.append((f"{'metric':<{width}}" + "".join(f"{names[r] + ' mean [95% CI]':<28}" for r in roles)).rstrip())
    for metric in data["metrics"]["ft"]:
        n = data["metrics"]["ft"][metric]["n"]
        label = _label(metric, data["judge"]) + (f" (n={n})" if n != data["examples"] else "")
        lines.append(f"{label:<{width}}" + "".join(f"{_ci(data['metrics'][r].get(metric)):<28}" for r in roles).rstrip())
    comp = data["comparison"]
    if comp:
        d = comp["difference"]
        lines += ["", f"FT against BASE (score): {_tally(comp)}; mean difference {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"]
    if data["largest_differences"]:
        lines += ["", "where the models differ most:" if comp else "lowest-scoring examples:"]
        for item in data["largest_differences"]:
            scores = ", ".join(f"{names[r]} {item[r]['score']:.2f}" for r in roles)
            lines.append(f"  {data['data']}:{item['line']} ({scores})")
            lines.append(f"    prompt:    {_clip(item['prompt'])}")
            lines.append(f"    reference: {_clip(item['reference'])}")
            for r in roles:
                lines.append(f"    {names[r] + ':':<11}{_clip(item[r]['reply'])}")
    return "\n".join(lines) + "\n"


def _md(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def render_markdown(data: dict[str, Any]) -> str:
    roles = list(data["metrics"])
    names = {"ft": "FT", "base": "BASE"}
    out = [f"## dsqa eval: `{_md(data['data'])}`", "",
           f"{_n(data['examples'], 'example')} on {data['backend']}: "
           + ", ".join(f"{names[r]} `{_md(data['models'][r])}`" for r in roles)
           + f". Requests: {data['requests']['sent']:,} sent, {data['requests']['cached']:,} from the ledger.", ""]
    out += [f"- {_md(g)}" for g in data["guards"]] + ([""] if data["guards"] else [])
    out.append("| metric | " + " | ".join(f"{names[r]} mean [95% CI]" for r in roles) + " |")
    out.append("|---|" + "---:|" * len(roles))
    for metric in data["metrics"]["ft"]:
        out.append(f"| {_md(_label(metric, data['judge']))} | " + " | ".join(_ci(data["metrics"][r].get(metric)) for r in roles) + " |")
    comp = data["comparison"]
    if comp:
        d = comp["difference"]
        out += ["", f"**FT against BASE:** {_tally(comp)}; "
                f"mean difference {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"]
    if data["largest_differences"]:
        out += ["", "### Where they differ most" if comp else "### Lowest-scoring examples", "",
                "| line | prompt | reference | " + " | ".join(names[r] for r in roles) + " |", "|---:|---|---|" + "---|" * len(roles)]
        for item in data["largest_differences"]:
            out.append(f"| {item['line']} | {_md(_clip(item['prompt'], 120))} | {_md(_clip(item['reference'], 120))} | "
                       + " | ".join(f"{_md(_clip(item[r]['reply'], 120))} ({item[r]['score']:.2f})" for r in roles) + " |")
    return "\n".join(out) + "\n"


def render_html(data: dict[str, Any]) -> str:
    from ..reporters.htmlreport import CSP, STYLE

    e = html.escape
    roles = list(data["metrics"])
    names = {"ft": "FT", "base": "BASE"}
    parts = ["<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\"><title>dsqa eval: {e(data['data'])}</title>",
             f"<style>{STYLE}</style></head><body>", f"<h1>dsqa eval: <code>{e(data['data'])}</code></h1>",
             f"<p>{_n(data['examples'], 'example')} on {e(data['backend'])}: "
             + ", ".join(f"{names[r]} <code>{e(data['models'][r])}</code>" for r in roles)
             + f". Requests: {data['requests']['sent']:,} sent, {data['requests']['cached']:,} from the ledger.</p>"]
    if data["guards"]:
        parts.append("<ul>" + "".join(f"<li>{e(g)}</li>" for g in data["guards"]) + "</ul>")
    parts.append("<h2>Means with 95% confidence intervals</h2><table><thead><tr><th>metric</th>"
                 + "".join(f"<th>{names[r]}</th>" for r in roles) + "</tr></thead><tbody>")
    for metric in data["metrics"]["ft"]:
        parts.append(f"<tr><td>{e(_label(metric, data['judge']))}</td>"
                     + "".join(f"<td class=\"num\">{e(_ci(data['metrics'][r].get(metric)))}</td>" for r in roles) + "</tr>")
    parts.append("</tbody></table>")
    comp = data["comparison"]
    if comp:
        d = comp["difference"]
        parts.append(f"<p><b>FT against BASE:</b> {_tally(comp)}; "
                     f"mean difference {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]</p>")
    if data["largest_differences"]:
        parts.append(f"<h2>{'Where they differ most' if comp else 'Lowest-scoring examples'}</h2><table><thead><tr><th>line</th>"
                     "<th>prompt</th><th>reference</th>" + "".join(f"<th>{names[r]}</th>" for r in roles) + "</tr></thead><tbody>")
        for item in data["largest_differences"]:
            parts.append(f"<tr><td class=\"num\">{item['line']}</td><td>{e(item['prompt'])}</td><td>{e(item['reference'])}</td>"
                         + "".join(f"<td>{e(item[r]['reply'])} <span class=\"muted\">({item[r]['score']:.2f})</span></td>" for r in roles) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "text": render_text, "markdown": render_markdown, "html": render_html,
    "json": lambda d: json.dumps(d, indent=2, ensure_ascii=False) + "\n",
}


# -- the whole run -----------------------------------------------------------------------------------


class Refused(DsqaError):
    """A guard stopped the run before anything was sent (exit 1)."""

    exit_code = 1


@dataclass
class EvalOptions:
    """What `dsqa eval` was asked to do."""

    model: str
    data: Path
    against: str | None = None
    judge: str | None = None
    job: str | None = None
    max_cost: float = 5.0
    yes: bool = False
    allow_train: bool = False
    concurrency: int = 4
    max_tokens: int | None = None
    price: tuple[float, float] | None = None
    rules: str | None = None


LEAK_CODES = ("DUP004", "DUP005")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def guard(ledger: Ledger, opts: EvalOptions, echo: Echo) -> tuple[list[str], list[int], dict[str, int]]:
    """Check the held-out file (against the job's training file when the ledger knows it); refuse the training file itself."""
    from ..config import load_config
    from ..engine import check, default_jobs

    notes: list[str] = []
    info = ledger.training_data(job_id=opts.job) if opts.job else ledger.training_data(model=opts.model)
    if opts.job and info is None:
        raise DsqaError(f"{opts.job}: not in the ledger ({ledger.path}); leave out --job or submit with `dsqa submit`")
    train = _training_file(info, opts, notes)
    config = load_config(opts.rules)
    report = check([train] if train else [], config, validation=[opts.data], jobs=default_jobs())
    mine = [f for f in report.findings if f.path == str(opts.data)]
    leaked = sorted({f.line for f in mine if f.code in LEAK_CODES and f.line is not None})
    summary = _refuse_failing(report, mine, opts, echo)
    notes.insert(0, f"held-out check passed: {_n(summary['error'], 'error')}, {_n(summary['warning'], 'warning')}, {summary['info']:,} info")
    if train is not None:
        notes.append(_leak_note(leaked, train, opts.data))
    return notes, leaked, summary


def _training_file(info: dict[str, Any] | None, opts: EvalOptions, notes: list[str]) -> Path | None:
    """The job's training file to check for leakage, if it is still as submitted; refuses it as the held-out file."""
    train: Path | None = None
    held_sha = _sha256(opts.data)
    if info is None or not info.get("train_sha256"):
        notes.append(f"leakage not checked: the ledger knows no training file for {opts.model} (pass --job JOB if dsqa submitted it)")
    else:
        if held_sha == info["train_sha256"] and not opts.allow_train:
            raise Refused(f"not sent: {opts.data} is the training file of job {info['job_id']}; a model scores well on what it was "
                          "trained on, which says nothing about new inputs (--allow-train runs it anyway)")
        candidate = Path(info["train_path"])
        if candidate.is_file() and _sha256(candidate) == info["train_sha256"]:
            train = candidate
        else:
            notes.append(f"leakage not checked: the training file of job {info['job_id']} ({info['train_path']}) is gone or changed since it was submitted")
    if held_sha == (info or {}).get("train_sha256"):
        notes.append(f"{opts.data} is the training file of job {info['job_id'] if info else '?'} (--allow-train): scores say how well it learned, not how it generalises")
        train = None
    return train


def _refuse_failing(report: Report, mine: list[Finding], opts: EvalOptions, echo: Echo) -> dict[str, int]:
    """The held-out file's finding counts (leak codes aside); shows its findings and refuses when they fail the check."""
    from ..model import DatasetResult, Report
    from ..reporters import render

    blocking = [f for f in mine if f.code not in LEAK_CODES and report.threshold is not None and f.severity >= report.threshold]
    summary = Report(findings=[f for f in mine if f.code not in LEAK_CODES], datasets=[], fail_on=report.fail_on).summary()
    if blocking:
        import io

        own = [d for d in report.datasets if d.path == str(opts.data)]
        buf = io.StringIO()
        bare = [DatasetResult(d.path, d.format, d.records) for d in own]  # the findings, not the statistics
        render("text", Report(findings=[f for f in mine if f.code not in LEAK_CODES], datasets=bare,
                              fail_on=report.fail_on, version=report.version), buf)
        echo(buf.getvalue().rstrip("\n"))
        raise Refused(f"not sent: the held-out file {opts.data} fails its check ({_n(summary['error'], 'error')}); fix the findings above")
    return summary


def _leak_note(leaked: list[int], train: Path, data: Path) -> str:
    """What the leak check found: which held-out lines are in the training file."""
    if leaked:
        lines = ", ".join(str(n) for n in leaked[:10]) + (" and more" if len(leaked) > 10 else "")
        verb = "is" if len(leaked) == 1 else "are"
        return (f"leakage: {len(leaked):,} of {_n(len(load_examples(data)), 'held-out example')} {verb} in the training file "
                f"{train}, exactly or nearly ({'line' if len(leaked) == 1 else 'lines'} {lines}); their scores flatter the model")
    return f"leakage: no held-out example is in the training file {train}"


def _max_tokens(counter: TokenCounter, model: str, ex: Example, fixed: int | None) -> int:
    if fixed is not None:
        return fixed
    ref = counter(model, {"messages": [ex.reference]})
    return max(64, min(4096, 2 * ref + 64))


def evaluate(ledger: Ledger, client: ChatClient, opts: EvalOptions, echo: Echo) -> EvalResult:
    """Guards, cost gate, replies (cached or sent), judge grades and scores."""
    notes, leaked, summary = guard(ledger, opts, echo)
    examples = load_examples(opts.data)
    roles = {"ft": opts.model, **({"base": opts.against} if opts.against else {})}
    counter = TokenCounter()
    plan = _plan(roles, examples, counter, opts.max_tokens)
    estimate = _estimate(ledger, client, plan, examples, counter, opts)
    echo(estimate.line())
    _cost_gate(estimate, opts)
    replies, sent = send_all(ledger, client, plan, opts.concurrency, echo)
    result = EvalResult(str(opts.data), client.name, roles, examples, {}, {}, judge=opts.judge, guards=notes,
                        leaked_lines=leaked, check_summary=summary, estimate=estimate.line())
    for role, model in roles.items():
        got = [replies[sha] for m, _, _, sha in plan.items if m == model]
        result.replies[role] = got
        result.scores[role] = [score(ex, r) for ex, r in zip(examples, got)]
    if opts.judge:
        sent += _judge_all(ledger, client, opts.judge, opts.concurrency, result, echo)
    result.sent = sent
    result.cached = estimate.cached
    return result


def _plan(roles: dict[str, str], examples: list[Example], counter: TokenCounter, fixed: int | None) -> Plan:
    """Every model's request for every example."""
    plan = Plan()
    limits = [_max_tokens(counter, roles["ft"], ex, fixed) for ex in examples]
    for model in roles.values():
        for i, ex in enumerate(examples):
            body = request_body(model, ex, limits[i])
            plan.items.append((model, i, body, body_sha256(body)))
    return plan


def _estimate(ledger: Ledger, client: ChatClient, plan: Plan, examples: list[Example], counter: TokenCounter,
              opts: EvalOptions) -> Estimate:
    """What the plan's uncached requests, and the judge's, may cost."""
    estimate = Estimate()
    for model, i, body, sha in plan.items:
        reply = ledger.cached_reply(client.name, client.endpoint, model, sha)
        if reply is not None:
            estimate.cached += 1
        else:
            estimate.add(model, counter(model, body), body["max_tokens"], price_of(model, opts.price))
        if opts.judge:
            stand_in = reply or {"role": "assistant", "content": shown(examples[i].reference)}
            jbody = judge_body(opts.judge, examples[i], stand_in)
            if reply is not None and ledger.cached_reply(client.name, client.endpoint, opts.judge, body_sha256(jbody)) is not None:
                estimate.cached += 1
            else:
                extra = 0 if reply is not None else body["max_tokens"]
                estimate.add(opts.judge, counter(opts.judge, jbody) + extra, JUDGE_MAX_TOKENS, price_of(opts.judge, opts.price))
    return estimate


def _cost_gate(estimate: Estimate, opts: EvalOptions) -> None:
    """Refuse to send without --yes when the cost is unknown or above --max-cost."""
    if estimate.requests and not opts.yes:
        if estimate.usd is None:
            raise Refused("not sent: the cost cannot be estimated without a price for " + ", ".join(estimate.unpriced)
                          + " (pass --price IN,OUT in USD per 1M tokens, or --yes to send anyway)")
        if estimate.usd > opts.max_cost:
            raise Refused(f"not sent: the estimate ${estimate.usd:,.4f} is above --max-cost ${opts.max_cost:,.2f} (raise it, or pass --yes)")


def _judge_all(ledger: Ledger, client: ChatClient, judge: str, concurrency: int, result: EvalResult, echo: Echo) -> int:
    """The judge's grade of every reply into ``result.judged``; returns how many requests were sent."""
    jplan = Plan()
    for role in result.models:
        for i, ex in enumerate(result.examples):
            jbody = judge_body(judge, ex, result.replies[role][i])
            jplan.items.append((judge, i, jbody, body_sha256(jbody)))
    jreplies, jsent = send_all(ledger, client, jplan, concurrency, echo)
    n = len(result.examples)
    for k, role in enumerate(result.models):
        result.judged[role] = [judge_score(jreplies[sha]) for _, _, _, sha in jplan.items[k * n:(k + 1) * n]]
    unparsed = sum(1 for v in (x for vs in result.judged.values() for x in vs) if v is None)
    if unparsed:
        result.guards.append(f"the judge gave no 1-5 grade in {_n(unparsed, 'reply')}; those are left out of its means")
    return jsent
