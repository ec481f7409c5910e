"""Schema and structure rules for OpenAI chat (SFT) and preference (DPO) records."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib.resources import files
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry, Resource

from ..formats import CHAT, PREFERENCE
from ..model import Finding, Record, Severity
from ..sources import loads
from ..wording import article
from .base import Code, DatasetContext, Validator, pointer_of
from .fastpath import chat_is_valid, preference_is_valid

DEFAULT_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|endofprompt|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|return|>",
    "<|call|>",
    "<|constrain|>",
)
ROLES = ("system", "user", "assistant", "tool", "function")
_OUTPUT_KEYS = ("preferred_output", "non_preferred_output")
_OLD_OUTPUT_KEYS = {"preferred_completion": "preferred_output", "non_preferred_completion": "non_preferred_output"}
_MAX_QUOTE = 60


@lru_cache(maxsize=None)
def schema_validators() -> dict[str, Draft202012Validator]:
    """Compile the bundled record schemas once per process."""
    base = files("dsqa") / "schemas"
    chat = json.loads((base / "openai-chat.schema.json").read_text("utf-8"))
    pref = json.loads((base / "openai-preference.schema.json").read_text("utf-8"))
    registry: Registry = Registry().with_resources(
        [(chat["$id"], Resource.from_contents(chat)), (pref["$id"], Resource.from_contents(pref))]
    )
    return {
        CHAT: Draft202012Validator(chat, registry=registry),
        PREFERENCE: Draft202012Validator(pref, registry=registry),
    }


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > _MAX_QUOTE:
        text = text[: _MAX_QUOTE - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    article = {"array": "an array", "object": "an object", "integer": "an integer", "null": "null"}
    words = [article.get(t, f"a {t}") for t in names]
    return " or ".join(words)


def _message_of(path: list[Any], root: Any) -> tuple[dict[str, Any] | None, int]:
    """Return the message a schema path points into and the path depth of its keys."""
    for k in range(len(path) - 1):
        if path[k] == "messages" and isinstance(path[k + 1], int):
            node = root
            try:
                for part in path[: k + 2]:
                    node = node[part]
            except (KeyError, IndexError, TypeError):
                return None, -1
            return (node if isinstance(node, dict) else None), k + 2
    return None, -1


@lru_cache(maxsize=1024)
def _schema_problem(canonical: str) -> str | None:
    try:
        Draft202012Validator.check_schema(json.loads(canonical))
    except SchemaError as exc:
        return exc.message
    return None


class SchemaValidator(Validator):
    """Record structure: what OpenAI accepts in chat (SFT) and preference (DPO) examples.

    Each record is checked against the JSON Schemas bundled in ``dsqa/schemas/`` and then against
    the rules a schema cannot express. Every finding carries a JSON Pointer to the exact place in
    the record, e.g. ``/messages/2/role``.

    Chat records may have only ``messages``, ``tools``, ``parallel_tool_calls`` and ``functions``
    at the top level (OpenAI rejects a stray top-level ``weight``). Roles are system, user,
    assistant, tool and function (deprecated); ``developer`` is not accepted in SFT data. Content
    is a string or a list of parts: ``text`` everywhere, ``image_url`` only in user messages.
    ``weight`` is allowed only on assistant messages and only as 0 or 1. An assistant message may
    have null content only when it carries ``tool_calls`` or ``function_call``; every tool-call
    ``arguments`` is a string holding JSON; every tool message answers an earlier ``tool_call_id``;
    ``tools`` name functions matching ``^[a-zA-Z0-9_-]{1,64}$`` whose ``parameters`` are a JSON
    Schema object. Reserved special-token strings such as ``<|endoftext|>`` inside any text make
    OpenAI reject the file ("message contains an invalid token").

    Preference records need ``input.messages`` (non-empty, not ending with an assistant message)
    and ``preferred_output`` / ``non_preferred_output`` each holding exactly one text-only assistant
    message, and the two must differ.

    Codes:
      SCH001  unexpected top-level key           SCH011  assistant message with no content and no tool call
      SCH002  messages missing or empty           SCH012  tool-call arguments are not a JSON object
      SCH003  role unknown or not allowed         SCH013  tool message answers no earlier tool call
      SCH004  required key missing                SCH014  malformed tool or function definition
      SCH005  value of the wrong type             SCH015  reserved special token inside text
      SCH006  unexpected key in a message         SCH016  conversation does not end with the assistant (warning)
      SCH007  content part type not accepted      SCH017  deprecated functions/function_call (info)
      SCH008  image outside a user message        SCH018  other schema violation
      SCH009  invalid weight                      SCH019  tool call names a function not in tools (warning)
      SCH010  nothing to train on (no assistant message with weight 1)
                                                  SCH020  the same tool call id twice in one example
      PRF001  input.messages missing or empty     PRF005  preferred and non-preferred outputs are identical
      PRF002  input ends with an assistant turn   PRF006  *_completion key names instead of *_output
      PRF003  output must hold exactly one message PRF007 images in preference data (DPO is text only)
      PRF004  output message not text-only assistant

    Options (``validators.schema``):
      special_tokens: [...]   strings that must not appear in any text (default: the tiktoken
                              and ChatML/harmony special tokens such as <|endoftext|>, <|im_start|>)

    Passing:
      {"messages": [{"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "Capital of France?"},
                    {"role": "assistant", "content": "Paris.", "weight": 1}]}
    Failing:
      {"messages": [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "Hello"}]}
      -> SCH003 at /messages/1/role: unknown role 'bot'
      {"messages": [...], "weight": 0}
      -> SCH001 at /weight: top-level 'weight' is rejected by OpenAI
    """

    name = "schema"
    codes: ClassVar[dict[str, Code]] = {
        "SCH001": Code(
            Severity.ERROR,
            "unexpected top-level key",
            why="""
                A chat record may hold only messages, tools, parallel_tool_calls and functions at
                its top level; OpenAI rejects the whole file for any other key (a stray top-level
                weight is the usual one). Move per-message settings such as weight into the
                assistant message, and drop bookkeeping keys (ids, sources) before uploading, or
                keep them in a separate file.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}], "weight": 0}',
            passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0}]}',
        ),
        "SCH002": Code(Severity.ERROR, "messages missing or empty"),
        "SCH003": Code(Severity.ERROR, "role unknown or not allowed"),
        "SCH004": Code(Severity.ERROR, "required key missing"),
        "SCH005": Code(Severity.ERROR, "value of the wrong type"),
        "SCH006": Code(Severity.ERROR, "unexpected key in a message or part"),
        "SCH007": Code(Severity.ERROR, "content part not accepted for fine-tuning"),
        "SCH008": Code(Severity.ERROR, "image outside a user message"),
        "SCH009": Code(Severity.ERROR, "invalid weight"),
        "SCH010": Code(Severity.ERROR, "no assistant message with weight 1"),
        "SCH011": Code(Severity.ERROR, "assistant message without content or tool call"),
        "SCH012": Code(Severity.ERROR, "tool-call arguments are not a JSON object"),
        "SCH013": Code(Severity.ERROR, "tool message answers no earlier tool call"),
        "SCH014": Code(Severity.ERROR, "malformed tool or function definition"),
        "SCH015": Code(Severity.ERROR, "reserved special token inside text"),
        "SCH016": Code(Severity.WARNING, "conversation does not end with an assistant message"),
        "SCH017": Code(Severity.INFO, "deprecated functions / function_call"),
        "SCH018": Code(Severity.ERROR, "other schema violation"),
        "SCH019": Code(Severity.WARNING, "tool call names a function that is not in tools"),
        "SCH020": Code(Severity.ERROR, "tool call id used twice in one example"),
        "PRF001": Code(Severity.ERROR, "preference input.messages missing or empty"),
        "PRF002": Code(Severity.ERROR, "preference input ends with an assistant message"),
        "PRF003": Code(Severity.ERROR, "preference output must hold exactly one message"),
        "PRF004": Code(Severity.ERROR, "preference output is not one text-only assistant message"),
        "PRF005": Code(Severity.ERROR, "preferred and non-preferred outputs are identical"),
        "PRF006": Code(Severity.ERROR, "old *_completion key names"),
        "PRF007": Code(Severity.ERROR, "images in preference data"),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"special_tokens": {"type": "array", "items": {"type": "string", "minLength": 1}}},
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {"special_tokens": list(DEFAULT_SPECIAL_TOKENS)}

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        tokens = [t for t in self.options["special_tokens"] if t]
        self._special = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))) if tokens else None
        # the common case: every token starts with '<|', which allows cheap pre-checks
        self._angle_pipe = all(t.startswith("<|") for t in tokens)

    # -- entry point -------------------------------------------------------------------------

    def check(self, record: Record) -> Iterator[Finding]:
        fmt = record.format
        if fmt not in (CHAT, PREFERENCE):
            return
        value = record.value
        seen: set[tuple[str, str]] = set()
        suppressed: set[str] = set()
        if fmt == PREFERENCE:
            for old, new in _OLD_OUTPUT_KEYS.items():
                if old in value and new not in value:
                    suppressed.update({"/" + old, "/" + new})
                    seen.add(("PRF006", "/" + old))
                    yield self.finding(
                        "PRF006", record, f"'{old}' is the old key name; OpenAI expects '{new}'",
                        "/" + old, hint=f"rename '{old}' to '{new}'",
                    )
        valid = chat_is_valid(value) if fmt == CHAT else preference_is_valid(value)
        if not valid:
            for err in schema_validators()[fmt].iter_errors(value):
                for code, pointer, message, hint in self._map_error(err, value, fmt):
                    if pointer in suppressed or (code, pointer) in seen:
                        continue
                    seen.add((code, pointer))
                    yield self.finding(code, record, message, pointer, hint)
        if fmt == CHAT:
            yield from self._chat_rules(record, value)
        else:
            yield from self._preference_rules(record, value)
        raw = record.raw
        # '<|' can only be in the text if '<' and '|' are in the line, literally or \u-escaped
        if not raw or not self._angle_pipe or ((b"<" in raw or b"\\u003" in raw) and (b"|" in raw or b"\\u007" in raw)):
            yield from self._special_tokens(record, value)

    # -- jsonschema errors -> findings --------------------------------------------------------

    def _map_error(self, err: ValidationError, root: Any, fmt: str) -> Iterator[tuple[str, str, str, str | None]]:
        path = list(err.absolute_path)
        pointer = pointer_of(path)
        kw = err.validator
        inst = err.instance
        message, depth = _message_of(path, root)
        in_output = fmt == PREFERENCE and bool(path) and path[0] in _OUTPUT_KEYS
        in_tools = bool(path) and (path[0] in ("tools", "functions") or path[:2] == ["input", "tools"])
        rel = path[depth:] if message is not None else []
        role = message.get("role") if message is not None else None
        where = f"{role} message" if isinstance(role, str) and role in ROLES else "message"
        a_where = article(where)

        if kw == "required":
            for key in err.validator_value:
                if isinstance(inst, dict) and key not in inst:
                    ptr = pointer_of([*path, key])
                    if not path and key == "input" and fmt == PREFERENCE:
                        yield "PRF001", ptr, "preference record has no 'input'", "put the prompt turns in input.messages"
                    elif not path and key == "messages":
                        yield "SCH002", ptr, "record has no 'messages' array", "add \"messages\": [{\"role\": ..., \"content\": ...}, ...]"
                    elif fmt == PREFERENCE and path == ["input"] and key == "messages":
                        yield "PRF001", ptr, "preference record has no input.messages", "put the prompt turns in input.messages"
                    elif in_tools:
                        yield "SCH014", ptr, f"tool definition is missing '{key}'", None
                    elif message is not None and len(rel) == 0:
                        yield "SCH004", ptr, f"{where} is missing required key '{key}'", None
                    else:
                        yield "SCH004", ptr, f"missing required key '{key}'", None
            return
        if kw == "additionalProperties":
            allowed = set(err.schema.get("properties", {}))
            extras = [k for k in inst if k not in allowed] if isinstance(inst, dict) else []
            for key in extras:
                ptr = pointer_of([*path, key])
                if not path:
                    if key == "weight":
                        yield (
                            "SCH001", ptr,
                            "top-level 'weight' is not allowed; OpenAI rejects the file (\"contains an extra \\\"weight\\\"\")",
                            "put weight on assistant messages: {\"role\": \"assistant\", \"content\": ..., \"weight\": 0}",
                        )
                    else:
                        allowed_keys = ", ".join(sorted(allowed))
                        yield "SCH001", ptr, f"unexpected top-level key '{key}' (allowed: {allowed_keys})", "remove it or move it out of the training file"
                elif in_output:
                    yield "PRF004", ptr, f"'{key}' is not allowed in a preference output; outputs are text-only assistant messages", None
                elif in_tools:
                    yield "SCH014", ptr, f"unexpected key '{key}' in a tool definition", None
                elif message is not None and len(rel) == 0:
                    if key == "weight":
                        yield "SCH009", ptr, f"'weight' is only allowed on assistant messages, not on {a_where}", "remove it; only assistant turns are trained"
                    else:
                        yield "SCH006", ptr, f"unexpected key '{key}' in {where}", None
                elif message is not None and len(rel) >= 2 and rel[0] == "content":
                    yield "SCH006", ptr, f"unexpected key '{key}' in a content part", None
                else:
                    yield "SCH006", ptr, f"unexpected key '{key}'", None
            return
        if in_output:
            if kw == "minItems" or kw == "maxItems":
                if len(path) == 1:
                    yield "PRF003", pointer, f"{path[0]} must hold exactly one assistant message, has {len(inst)}", None
                    return
            if len(path) == 1 and kw == "type":
                yield "PRF003", pointer, f"{path[0]} must be an array holding one assistant message, got {_json_type(inst)}", None
                return
            if kw == "const" and path[-1] == "role":
                yield "PRF004", pointer, f"preference output role must be 'assistant', got {_quote(inst)}", None
                return
            if kw == "enum" and path[-1] == "type":
                yield "PRF004", pointer, f"preference outputs are text only; part type {_quote(inst)} is not allowed", None
                return
        if kw == "enum" and message is not None and rel == ["role"]:
            if inst == "developer":
                yield "SCH003", pointer, "role 'developer' is not accepted in supervised fine-tuning data", "use 'system' for instructions"
            else:
                yield "SCH003", pointer, f"unknown role {_quote(inst)} (expected {', '.join(ROLES)})", None
            return
        if message is not None and rel[:1] == ["weight"]:
            yield "SCH009", pointer, f"weight must be 0 or 1, got {_quote(inst)}", "use 1 to train on this turn, 0 to skip it"
            return
        if kw == "enum" and message is not None and len(rel) == 3 and rel[0] == "content" and rel[2] == "type":
            if inst == "image_url":
                yield "SCH008", pointer, f"image in {a_where}; images are allowed only in user messages", "move the image to a user message"
            elif isinstance(inst, str) and inst in ("input_audio", "file", "audio"):
                yield "SCH007", pointer, f"content part type {_quote(inst)} is not accepted for fine-tuning (text and images only)", None
            else:
                allowed = ", ".join(str(v) for v in err.validator_value)
                yield "SCH007", pointer, f"content part type {_quote(inst)} is not allowed in {a_where} (allowed: {allowed})", None
            return
        if in_tools:
            if kw == "pattern":
                yield "SCH014", pointer, f"function name {_quote(inst)} must match ^[a-zA-Z0-9_-]{{1,64}}$", None
            else:
                yield "SCH014", pointer, f"malformed tool definition: {_short(err.message)}", None
            return
        if kw == "minItems" and path in (["messages"], ["input", "messages"]):
            if fmt == PREFERENCE:
                yield "PRF001", pointer, "input.messages is empty", "put the prompt turns in input.messages"
            else:
                yield "SCH002", pointer, "messages is empty", "add the conversation's turns"
            return
        if kw == "type":
            if path == ["messages"]:
                yield "SCH002", pointer, f"'messages' must be an array, got {_json_type(inst)}", None
                return
            if fmt == PREFERENCE and path in (["input"], ["input", "messages"]):
                want = "an object holding messages" if path == ["input"] else "an array"
                yield "PRF001", pointer, f"'{path[-1]}' must be {want}, got {_json_type(inst)}", "put the prompt turns in input.messages"
                return
            name = path[-1] if path else "record"
            what = f"'{name}'" if isinstance(name, str) else f"item {name}"
            if isinstance(name, int) and len(path) >= 2 and path[-2] == "messages":
                what = f"message {name}"
            elif isinstance(name, int) and len(path) >= 2 and path[-2] == "content":
                what = "content part"
            yield "SCH005", pointer, f"{what} must be {_expected(err.validator_value)}, got {_json_type(inst)}", None
            return
        if kw == "minItems" and path and path[-1] == "content":
            yield "SCH005", pointer, "content array is empty", "use a string or at least one content part"
            return
        yield "SCH018", pointer, _short(err.message), None

    # -- rules a schema cannot express ---------------------------------------------------------

    def _messages_rules(
        self, record: Record, messages: list[Any], prefix: str, tools: Any
    ) -> Iterator[Finding | tuple[str, Any]]:
        """Shared message checks; also yields ("trainable", bool) once at the end."""
        call_ids: set[str] = set()
        tool_names: set[str] | None = None
        if isinstance(tools, list):
            tool_names = {
                t["function"]["name"]
                for t in tools
                if isinstance(t, dict) and isinstance(t.get("function"), dict) and isinstance(t["function"].get("name"), str)
            }
        trainable = False
        deprecated_at: str | None = None
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                continue
            role = m.get("role")
            ptr = f"{prefix}/{i}"
            if role == "assistant":
                # an invalid weight is SCH009's business; only an explicit 0 means "do not train"
                weight = m.get("weight", 1)
                if not (weight == 0 and not isinstance(weight, bool)):
                    trainable = True
                calls = m.get("tool_calls")
                fcall = m.get("function_call")
                if fcall is not None and deprecated_at is None:
                    deprecated_at = f"{ptr}/function_call"
                if m.get("content") is None and not calls and not fcall:
                    state = "null" if "content" in m else "missing"
                    yield self.finding(
                        "SCH011", record, f"assistant message content is {state} and it has no tool_calls",
                        f"{ptr}/content", hint="give the reply text, or the tool_calls this turn makes",
                    )
                if isinstance(calls, list):
                    for j, call in enumerate(calls):
                        if not isinstance(call, dict):
                            continue
                        call_id = call.get("id")
                        if isinstance(call_id, str):
                            if call_id in call_ids:
                                yield self.finding(
                                    "SCH020", record, f"tool call id {call_id!r} is used twice in this example",
                                    f"{ptr}/tool_calls/{j}/id", hint="give every tool call its own id",
                                )
                            call_ids.add(call_id)
                        fn = call.get("function")
                        if isinstance(fn, dict):
                            yield from self._arguments(record, fn, f"{ptr}/tool_calls/{j}/function")
                            name = fn.get("name")
                            if tool_names is not None and isinstance(name, str) and name not in tool_names:
                                yield self.finding(
                                    "SCH019", record, f"tool call names {name!r}, which is not among the example's tools",
                                    f"{ptr}/tool_calls/{j}/function/name",
                                    hint="add the function to tools or fix the name",
                                )
                if isinstance(fcall, dict):
                    yield from self._arguments(record, fcall, f"{ptr}/function_call")
            elif role == "tool":
                tcid = m.get("tool_call_id")
                if isinstance(tcid, str) and tcid and tcid not in call_ids:
                    yield self.finding(
                        "SCH013", record, f"tool message answers tool_call_id {tcid!r}, which no earlier assistant tool call has",
                        f"{ptr}/tool_call_id", hint="match the id of the assistant's tool_calls entry before it",
                    )
            elif role == "function" and deprecated_at is None:
                deprecated_at = f"{ptr}/role"
        if deprecated_at is not None:
            yield self.finding(
                "SCH017", record, "deprecated function-calling fields; OpenAI recommends tools and tool_calls",
                deprecated_at, hint="convert functions/function_call to tools/tool_calls",
            )
        yield ("trainable", trainable)

    def _arguments(self, record: Record, fn: dict[str, Any], ptr: str) -> Iterator[Finding]:
        args = fn.get("arguments")
        if not isinstance(args, str):
            return
        hint = "arguments is a string holding a JSON object, e.g. \"{\\\"city\\\": \\\"Paris\\\"}\""
        try:
            parsed = loads(args)
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            yield self.finding("SCH012", record, f"tool-call arguments are not valid JSON: {reason}", f"{ptr}/arguments", hint=hint)
            return
        if not isinstance(parsed, dict):
            yield self.finding(
                "SCH012", record, f"tool-call arguments must be a JSON object, got {_json_type(parsed)}",
                f"{ptr}/arguments", hint=hint,
            )

    def _tools(self, record: Record, tools: Any, prefix: str) -> Iterator[Finding]:
        if not isinstance(tools, list):
            return
        names: dict[str, int] = {}
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(fn, dict):
                continue
            ptr = f"{prefix}/{i}/function"
            name = fn.get("name")
            if isinstance(name, str):
                if name in names:
                    yield self.finding("SCH014", record, f"function {name!r} is defined twice in tools (first at {prefix}/{names[name]})", f"{ptr}/name")
                else:
                    names[name] = i
            params = fn.get("parameters")
            if isinstance(params, dict):
                if "type" in params and params["type"] != "object":
                    yield self.finding(
                        "SCH014", record, f"function parameters must be a JSON Schema of type 'object', got type {_quote(params['type'])}",
                        f"{ptr}/parameters/type",
                    )
                problem = _schema_problem(json.dumps(params, sort_keys=True))
                if problem is not None:
                    yield self.finding("SCH014", record, f"function parameters are not a valid JSON Schema: {_short(problem)}", f"{ptr}/parameters")

    def _chat_rules(self, record: Record, value: dict[str, Any]) -> Iterator[Finding]:
        messages = value.get("messages")
        yield from self._tools(record, value.get("tools"), "/tools")
        if "functions" in value:
            yield self.finding("SCH017", record, "deprecated 'functions'; OpenAI recommends 'tools'", "/functions", hint="convert functions to tools")
        if not isinstance(messages, list) or not messages:
            return
        trainable = False
        for item in self._messages_rules(record, messages, "/messages", value.get("tools")):
            if isinstance(item, tuple):
                trainable = item[1]
            else:
                yield item
        roles = [m.get("role") for m in messages if isinstance(m, dict)]
        if not trainable:
            if "assistant" in roles:
                msg, hint = "every assistant message has weight 0: nothing to train on", "set weight 1 on at least one assistant message"
            else:
                msg, hint = "no assistant message: nothing to train on", "add the assistant reply the model should learn"
            yield self.finding("SCH010", record, msg, "/messages", hint=hint)
        last = messages[-1]
        if isinstance(last, dict) and last.get("role") != "assistant":
            role = last.get("role")
            what = f"a {_quote(role)} message" if isinstance(role, str) else "a message without a valid role"
            yield self.finding(
                "SCH016", record,
                f"conversation ends with {what}, not an assistant reply",
                f"/messages/{len(messages) - 1}", hint="end each example with the assistant turn to learn",
            )

    def _preference_rules(self, record: Record, value: dict[str, Any]) -> Iterator[Finding]:
        inp = value.get("input")
        if isinstance(inp, dict):
            yield from self._tools(record, inp.get("tools"), "/input/tools")
            messages = inp.get("messages")
            if isinstance(messages, list) and messages:
                for item in self._messages_rules(record, messages, "/input/messages", inp.get("tools")):
                    if not isinstance(item, tuple):
                        yield item
                last = messages[-1]
                if isinstance(last, dict) and last.get("role") == "assistant":
                    yield self.finding(
                        "PRF002", record, "input.messages ends with an assistant message; the outputs are the assistant's reply",
                        f"/input/messages/{len(messages) - 1}", hint="end the input with the user turn the outputs answer",
                    )
        image = _first_image(value)
        if image is not None:
            yield self.finding("PRF007", record, "image in preference data; DPO fine-tuning is text only", image, hint="remove images from DPO examples")
        pref, nonpref = value.get("preferred_output"), value.get("non_preferred_output")
        if isinstance(pref, list) and pref and pref == nonpref:
            yield self.finding(
                "PRF005", record, "preferred_output and non_preferred_output are identical; the pair teaches nothing",
                "/non_preferred_output", hint="give a worse reply as non_preferred_output",
            )
        elif _output_text(pref) is not None and _output_text(pref) == _output_text(nonpref):
            yield self.finding(
                "PRF005", record, "preferred and non-preferred outputs have the same text; the pair teaches nothing",
                "/non_preferred_output", hint="give a worse reply as non_preferred_output",
            )

    def _special_tokens(self, record: Record, value: Any) -> Iterator[Finding]:
        pattern = self._special
        if pattern is None:
            return
        stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, str):
                if not self._angle_pipe or "<|" in node:
                    match = pattern.search(node)
                    if match:
                        yield self.finding(
                            "SCH015", record,
                            f"reserved special token {match.group()} inside text (column {match.start() + 1} of the string); OpenAI rejects the file",
                            pointer_of(path), hint="remove it or break it up, e.g. '<| endoftext |>'",
                        )
            elif isinstance(node, dict):
                stack.extend((v, (*path, k)) for k, v in reversed(list(node.items())))
            elif isinstance(node, list):
                stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _output_text(output: Any) -> str | None:
    if not isinstance(output, list) or len(output) != 1 or not isinstance(output[0], dict):
        return None
    content = output[0].get("content")
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        text = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)).strip()
        return text or None
    return None


def _first_image(value: dict[str, Any]) -> str | None:
    inp = value.get("input")
    messages = inp.get("messages") if isinstance(inp, dict) else None
    if not isinstance(messages, list):
        return None
    for i, m in enumerate(messages):
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") == "image_url":
                    return f"/input/messages/{i}/content/{j}"
    return None

