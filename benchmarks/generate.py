"""Generate deterministic synthetic OpenAI chat data with planted defects and their ground truth.

    python benchmarks/generate.py N OUT [--seed S]

writes N examples to OUT (JSONL, about 1 KB each) and OUT.truth.json beside it: for every
planted defect class, the 1-based lines that carry it (and, for duplicates and conflicts, the
line of the example they copy). Same N and seed, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

SYSTEM_PROMPTS = [
    "You are a helpful assistant for Northwind Outfitters, an online shop for hiking and camping gear. Answer politely and briefly.",
    "You are a patient programming tutor. Explain ideas step by step and show short code only when it helps.",
    "You are a travel assistant. Give practical advice and mention visa or safety caveats when they matter.",
    "You are a personal finance coach. Be concrete, avoid jargon, and never promise returns.",
    "You are a home gardening expert who gives seasonal, region-aware advice.",
    "You are a support agent for a smart thermostat company. Troubleshoot calmly and escalate when unsure.",
]

TOPICS: dict[str, dict[str, list[str]]] = {
    "gear": {
        "noun": ["tent", "sleeping bag", "backpack", "headlamp", "stove", "water filter", "rain jacket", "trekking pole",
                 "boot", "sleeping pad", "compass", "first aid kit", "cooler", "hammock", "tarp", "camp chair"],
        "adj": ["lightweight", "waterproof", "durable", "compact", "insulated", "breathable", "affordable", "sturdy"],
        "place": ["the Alps", "a desert trail", "the coast", "a rainy forest", "high altitude", "a winter campsite"],
    },
    "code": {
        "noun": ["function", "list comprehension", "dictionary", "class", "decorator", "generator", "unit test", "loop",
                 "exception", "module", "variable", "recursion", "API call", "regular expression", "database query", "thread"],
        "adj": ["readable", "efficient", "idiomatic", "fragile", "reusable", "slow", "thread-safe", "concise"],
        "place": ["a web server", "a data pipeline", "a script", "a notebook", "a command-line tool", "production"],
    },
    "travel": {
        "noun": ["train pass", "hostel", "museum ticket", "visa", "ferry", "night market", "rental car", "city tour",
                 "travel insurance", "airport transfer", "walking route", "local SIM card", "guesthouse", "day trip"],
        "adj": ["cheap", "crowded", "scenic", "reliable", "expensive", "quiet", "convenient", "seasonal"],
        "place": ["Lisbon", "Kyoto", "Mexico City", "Reykjavik", "Marrakesh", "Hanoi", "Vienna", "Cape Town"],
    },
    "money": {
        "noun": ["budget", "emergency fund", "index fund", "credit card", "mortgage", "pension", "savings account",
                 "student loan", "tax return", "insurance policy", "spending plan", "brokerage account"],
        "adj": ["low-cost", "risky", "flexible", "predictable", "tax-efficient", "short-term", "long-term", "diversified"],
        "place": ["your first job", "retirement", "a recession", "a career change", "a new family", "your thirties"],
    },
    "garden": {
        "noun": ["tomato plant", "compost pile", "raised bed", "rose bush", "herb garden", "lawn", "fruit tree",
                 "seed tray", "mulch layer", "greenhouse", "pepper plant", "strawberry patch", "hedge"],
        "adj": ["shady", "sandy", "frost-hardy", "thirsty", "overgrown", "sunny", "acidic", "well-drained"],
        "place": ["early spring", "late autumn", "a dry summer", "a clay soil", "a small balcony", "a windy hillside"],
    },
    "thermostat": {
        "noun": ["thermostat", "C-wire", "heat pump", "schedule", "Wi-Fi connection", "battery", "sensor", "firmware update",
                 "furnace", "display", "app", "fan setting", "humidity reading", "boiler"],
        "adj": ["blank", "unresponsive", "inaccurate", "noisy", "offline", "slow", "flickering", "stuck"],
        "place": ["the hallway", "the basement", "a rental flat", "an older house", "the living room", "a cold night"],
    },
}
VERBS = ["choose", "clean", "store", "replace", "compare", "check", "adjust", "repair", "plan", "test", "protect", "update"]
QUESTION_TEMPLATES = [
    "How do I {verb} a {adj} {noun} for {place}?",
    "What is the best way to {verb} my {noun}?",
    "Is a {adj} {noun} worth it for {place}?",
    "My {noun} seems {adj} lately.",
    "Can you explain why a {noun} gets {adj} in {place}?",
    "I am planning for {place} and need a {noun}.",
    "Which {noun} would you recommend if I care about being {adj}?",
    "Should I {verb} the {noun} before {place}?",
]
ANSWER_TEMPLATES = [
    "A {adj} {noun} usually works best for {place}.",
    "Start by checking whether the {noun} is {adj}, because that changes what you should {verb} first.",
    "Many people forget to {verb} the {noun} regularly, and that is the most common cause of trouble.",
    "If you are dealing with {place}, a {adj2} {noun2} is a sensible companion to the {noun}.",
    "Try to {verb} it once a week and note any change.",
    "The {noun} should feel {adj}; if it does not, {verb} it again or replace it.",
    "For {place} I would budget a little more and pick a {adj2} option.",
    "Avoid storing the {noun} somewhere {adj2}, since that shortens its life noticeably.",
    "Compare at least two options and {verb} the one that fits {place}.",
    "In my experience a {noun2} makes the bigger difference, more than the {noun} itself.",
    "Keep a simple log so you can {verb} the {noun} at the right moment.",
    "When in doubt, {verb} the {noun2} first and then look at the {noun}.",
]
EXTRA_SENTENCES = [
    "Thanks for asking, and good luck!",
    "Let me know if you want a more detailed checklist.",
    "I hope this helps you get started.",
]
# a detail with a number in every first question, as real requests carry (order numbers, dates,
# sizes), so that two generated conversations do not share a prompt by accident
CONTEXT_DETAILS = [
    "My order number is {n}.",
    "This is for a trip of {d} days.",
    "I have about {n} dollars to spend.",
    "I asked about this before, ticket {n}.",
    "The model number on the label is X{n}.",
    "We are {d} people.",
]
GENERATOR_VERSION = 3
FAKE_SECRETS = [
    "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" + "Q7rS0tU3vW6xY9zA",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a",
    "maria.gonzalez" + "@posteo.de",
]
RATES = {  # fraction of examples that carry each planted defect
    "exact_duplicate": 0.01,
    "near_duplicate": 0.01,
    "conflicting_answer": 0.005,
    "broken_json": 0.001,
    "missing_assistant": 0.002,
    "empty_content": 0.002,
    "overlong": 0.0001,
    "secret": 0.0005,
}


def _fill(rng: random.Random, template: str, topic: dict[str, list[str]]) -> str:
    return template.format(
        verb=rng.choice(VERBS), noun=rng.choice(topic["noun"]), noun2=rng.choice(topic["noun"]),
        adj=rng.choice(topic["adj"]), adj2=rng.choice(topic["adj"]), place=rng.choice(topic["place"]),
    )


def _sentences(rng: random.Random, templates: list[str], topic: dict[str, list[str]], n: int) -> str:
    return " ".join(_fill(rng, rng.choice(templates), topic) for _ in range(n))


def _example(rng: random.Random) -> dict[str, Any]:
    index = rng.randrange(len(SYSTEM_PROMPTS))
    topic = TOPICS[list(TOPICS)[index % len(TOPICS)]]
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPTS[index]}]
    for turn in range(rng.choice((1, 1, 2, 2, 3))):
        question = _sentences(rng, QUESTION_TEMPLATES, topic, rng.randint(1, 4))
        if turn == 0:
            question += " " + rng.choice(CONTEXT_DETAILS).format(n=rng.randint(1000, 999999), d=rng.randint(2, 30))
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant", "content": _sentences(rng, ANSWER_TEMPLATES, topic, rng.randint(2, 9))})
    return {"messages": messages}


def _near(rng: random.Random, source: dict[str, Any]) -> dict[str, Any]:
    """A word changed in the last answer, or a sentence appended to it."""
    record = json.loads(json.dumps(source))
    answer = record["messages"][-1]
    if rng.random() < 0.5:
        words = answer["content"].split(" ")
        i = rng.randrange(len(words))
        words[i] = rng.choice(["really", "simply", "often", "quite", "clearly", "maybe"])
        answer["content"] = " ".join(words)
    else:
        answer["content"] += " " + rng.choice(EXTRA_SENTENCES)
    return record


def generate(n: int, out: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    truth: dict[str, list[Any]] = {name: [] for name in RATES}
    pool: list[tuple[int, dict[str, Any]]] = []  # earlier clean examples that defects may copy
    thresholds = []
    acc = 0.0
    for name, rate in RATES.items():
        acc += rate
        thresholds.append((acc, name))
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for line in range(1, n + 1):
            roll = rng.random()
            kind = next((name for limit, name in thresholds if roll < limit), None)
            if kind in ("exact_duplicate", "near_duplicate", "conflicting_answer") and not pool:
                kind = None
            record: dict[str, Any] | None = None
            text: str | None = None
            if kind == "exact_duplicate":
                src_line, src = rng.choice(pool)
                record = src
                truth[kind].append({"line": line, "of": src_line})
            elif kind == "near_duplicate":
                src_line, src = rng.choice(pool)
                record = _near(rng, src)
                truth[kind].append({"line": line, "of": src_line})
            elif kind == "conflicting_answer":
                src_line, src = rng.choice(pool)
                record = json.loads(json.dumps(src))
                topic = TOPICS[rng.choice(list(TOPICS))]
                record["messages"][-1]["content"] = _sentences(rng, ANSWER_TEMPLATES, topic, rng.randint(2, 9))
                truth[kind].append({"line": line, "of": src_line})
            elif kind == "broken_json":
                good = json.dumps(_example(rng), ensure_ascii=False)
                text = good[: rng.randrange(10, len(good) - 5)]
                truth[kind].append(line)
            elif kind == "missing_assistant":
                record = _example(rng)
                record["messages"] = [m for m in record["messages"] if m["role"] != "assistant"]
                truth[kind].append(line)
            elif kind == "empty_content":
                record = _example(rng)
                record["messages"][-1]["content"] = ""
                truth[kind].append(line)
            elif kind == "overlong":
                record = _example(rng)
                topic = TOPICS["code"]
                record["messages"][-1]["content"] = _sentences(rng, ANSWER_TEMPLATES, topic, 7000)
                truth[kind].append(line)
            elif kind == "secret":
                record = _example(rng)
                secret = rng.choice(FAKE_SECRETS)
                record["messages"][1]["content"] += f" My key is {secret} if you need it."
                truth[kind].append(line)
            else:
                record = _example(rng)
                if len(pool) < 5000:
                    pool.append((line, record))
                elif rng.random() < 0.05:
                    pool[rng.randrange(len(pool))] = (line, record)
            f.write((text if text is not None else json.dumps(record, ensure_ascii=False)) + "\n")
    tmp.replace(out)
    meta = {"examples": n, "seed": seed, "version": GENERATOR_VERSION, "rates": RATES, "truth": truth}
    truth_path = out.with_name(out.name + ".truth.json")
    truth_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of examples")
    parser.add_argument("out", type=Path, help="output JSONL file (the truth goes to OUT.truth.json)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    meta = generate(args.n, args.out, args.seed)
    counts = ", ".join(f"{k} {len(v)}" for k, v in meta["truth"].items())
    print(f"wrote {args.n} examples to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB); planted: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
