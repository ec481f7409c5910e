"""The checks of OpenAI's cookbook notebook "Data preparation and analysis for chat model fine-tuning".

    python benchmarks/baseline_cookbook.py FILE [--json]

The fixed speed reference of the benchmark: the notebook's seven format-error counts, its token
counting (3 tokens per message, +1 per name, +3 reply priming), its warnings and distributions,
and its epoch and billing estimate (../shared/reference/openai-fine-tuning.md, section 3) — with
o200k_base and a 65,536-token limit instead of the notebook's cl100k_base and 16,385, as it would
be written for current models. Like the notebook it loads the whole file into a list first.

Two deviations keep it from crashing on real data, each the smallest possible: a line that is not
valid JSON is counted and left out (the notebook raises), and only string values are encoded (the
notebook raises on ``weight``, cookbook issue #1270). For measuring recall it also records the
lines behind each count; that bookkeeping does not change what it checks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

MAX_TOKENS_PER_EXAMPLE = 65536
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def load_encoding() -> Any:
    """o200k_base from the vocabulary shipped with dsqa or ../shared, never from the network."""
    import tiktoken
    import tiktoken_ext.openai_public as public
    from tiktoken.load import load_tiktoken_bpe

    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "dsqa" / "data" / "tiktoken", here.parent / "shared" / "data" / "tiktoken"):
        path = candidate / "o200k_base.tiktoken"
        if path.is_file():
            ranks = load_tiktoken_bpe(str(path), "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d")
            # tiktoken's own constructor holds the pattern and special tokens; hand it the local ranks
            original = public.load_tiktoken_bpe
            public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
            try:
                spec = public.o200k_base()
            finally:
                public.load_tiktoken_bpe = original
            return tiktoken.Encoding(**spec)
    raise SystemExit("o200k_base.tiktoken not found in dsqa/data/tiktoken or ../shared/data/tiktoken")


encoding = None


def num_tokens_from_messages(messages: list[dict[str, Any]], tokens_per_message: int = 3, tokens_per_name: int = 1) -> int:
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            if isinstance(value, str):
                num_tokens += len(encoding.encode(value))  # type: ignore[union-attr]
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3
    return num_tokens


def num_assistant_tokens_from_messages(messages: list[dict[str, Any]]) -> int:
    num_tokens = 0
    for message in messages:
        if message["role"] == "assistant" and isinstance(message.get("content"), str):
            num_tokens += len(encoding.encode(message["content"]))  # type: ignore[union-attr]
    return num_tokens


def print_distribution(values: list[int], name: str) -> None:
    print(f"\n#### Distribution of {name}:")
    print(f"min / max: {min(values)}, {max(values)}")
    print(f"mean / median: {np.mean(values)}, {np.median(values)}")
    print(f"p5 / p95: {np.quantile(values, 0.1)}, {np.quantile(values, 0.9)}")


def run(path: Path) -> dict[str, Any]:
    global encoding
    encoding = load_encoding()
    dataset: list[Any] = []
    lines: list[int] = []
    invalid_json: list[int] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                dataset.append(json.loads(line))
                lines.append(number)
            except ValueError:
                invalid_json.append(number)

    print("Num examples:", len(dataset))
    format_errors: defaultdict[str, int] = defaultdict(int)
    error_lines: defaultdict[str, list[int]] = defaultdict(list)
    valid: list[tuple[int, dict[str, Any]]] = []
    for line, ex in zip(lines, dataset):
        before = sum(format_errors.values())
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            error_lines["data_type"].append(line)
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            error_lines["missing_messages_list"].append(line)
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
                error_lines["message_missing_key"].append(line)
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                format_errors["message_unrecognized_key"] += 1
                error_lines["message_unrecognized_key"].append(line)
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
                error_lines["unrecognized_role"].append(line)
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
                error_lines["missing_content"].append(line)
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1
            error_lines["example_missing_assistant_message"].append(line)
        if sum(format_errors.values()) == before:
            valid.append((line, ex))

    if format_errors:
        print("Found errors:")
        for k, v in format_errors.items():
            print(f"{k}: {v}")
    else:
        print("No errors found")

    n_missing_system = 0
    n_missing_user = 0
    n_messages = []
    convo_lens = []
    assistant_message_lens = []
    too_long: list[int] = []
    for line, ex in valid:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        length = num_tokens_from_messages(messages)
        convo_lens.append(length)
        if length > MAX_TOKENS_PER_EXAMPLE:
            too_long.append(line)
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))

    print("Num examples missing system message:", n_missing_system)
    print("Num examples missing user message:", n_missing_user)
    if convo_lens:
        print_distribution(n_messages, "num_messages_per_example")
        print_distribution(convo_lens, "num_total_tokens_per_example")
        print_distribution(assistant_message_lens, "num_assistant_tokens_per_example")
    print(f"\n{len(too_long)} examples may be over the {MAX_TOKENS_PER_EXAMPLE} token limit, they will be truncated during fine-tuning")

    n_epochs = TARGET_EPOCHS
    n_train_examples = len(dataset)
    if n_train_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        n_epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_train_examples)
    elif n_train_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        n_epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_train_examples)
    n_billing_tokens_in_dataset = sum(min(MAX_TOKENS_PER_EXAMPLE, length) for length in convo_lens)
    print(f"Dataset has ~{n_billing_tokens_in_dataset} tokens that will be charged for during training")
    print(f"By default, you'll train for {n_epochs} epochs on this dataset")
    print(f"By default, you'll be charged for ~{n_epochs * n_billing_tokens_in_dataset} tokens")

    return {
        "examples": len(dataset),
        "invalid_json_lines": invalid_json,
        "format_errors": dict(format_errors),
        "error_lines": {k: sorted(set(v)) for k, v in error_lines.items()},
        "too_long_lines": too_long,
        "billing_tokens": n_billing_tokens_in_dataset,
        "epochs": n_epochs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--json", type=Path, help="also write the counts and their lines to this JSON file")
    args = parser.parse_args(argv)
    result = run(args.file)
    if args.json:
        args.json.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
