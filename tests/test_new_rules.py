"""The conversation, preference, preparation and contamination rules on real data, and their --jobs merges."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dsqa import check, load_config
from dsqa.validators.conversation.ends import MAX_KEYS, Ends
from helpers import REAL, SHARED, run_cli

NEW = ("DLG", "TPL", "PRF008", "PRF009", "PRF010", "PRP", "CTM")


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("real")
    files = {}
    for name in ("alpaca_en_demo", "glaive_toolcall_en_demo", "dpo_en_demo", "identity"):
        target = out / f"{name}.jsonl"
        proc = run_cli("convert", str(REAL / f"{name}.json"), "-o", str(target))
        assert target.is_file(), proc.stderr
        files[name] = target
    return files


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the demo sets are not at {REAL}")
def test_new_rules_find_nothing_wrong_in_the_demo_sets(converted: dict[str, Path]) -> None:
    # reviewed by hand: the only candidates were an editing task answered with its input
    # (DLG005, no longer flagged) and two extractive answers in dpo_en_demo (PRF008, likewise)
    config = load_config("default").with_overrides(select=NEW)
    for name, path in converted.items():
        report = check([path], config)
        assert [(f.code, f.line) for f in report.findings] == [], name


def test_shared_ends_merge_like_one_run() -> None:
    rng = random.Random(1)
    texts = [f"{rng.random():.12f} answer {rng.random():.3f}!!!" for _ in range(MAX_KEYS * 30)]
    whole = Ends(start=False)
    for t in texts:
        whole.add(t)
    parts = [Ends(start=False) for _ in range(3)]
    cut = len(texts) // 3
    for i, t in enumerate(texts):
        parts[min(i // cut, 2)].add(t)
    merged = parts[0]
    merged.merge(parts[1])
    merged.merge(parts[2])
    assert (merged.width, merged.counts, merged.texts) == (whole.width, whole.counts, whole.texts)
    # past MAX_KEYS distinct ends the window narrows, the same way in both, and the shared end
    # shorter than the window is still found
    assert whole.width == 4 and whole.shared(0.9) == ("!!!", len(texts))


def test_jobs_give_the_same_new_findings(tmp_path: Path) -> None:
    rng = random.Random(2)
    rows = []
    for i in range(3_000):
        reply = f" The total is {rng.randint(1, 999)}.!!!" if i % 50 else "<think>Adding up.</think> Done."
        question = f"Question {i}: add the numbers {rng.random()}"
        if i in (5, 1_500, 2_999):  # in the first, a middle and the last span of --jobs 3
            question = GSM8K_FIRST
        rows.append({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]})
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = load_config("default").with_overrides(select=NEW)
    one = check([path], config, jobs=1)
    three = check([path], config, jobs=3)
    assert [f.to_dict() for f in one.findings] == [f.to_dict() for f in three.findings]
    # DLG006: "<think>Adding up.</think> Done." answers the long GSM8K question in three words
    assert {f.code for f in one.findings} == {"PRP001", "PRP002", "TPL002", "CTM001", "DLG006"}
    assert [f.line for f in one.findings if f.code == "CTM001"] == [6, 1_501, 3_000]


GSM8K_FIRST = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her "
    "friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. "
    "How much in dollars does she make every day at the farmers' market?"
)


def test_a_private_evaluation_set(tmp_path: Path) -> None:
    evals = tmp_path / "support-evals.jsonl"
    items = [
        {"id": "refund-7", "question": "A customer bought a kettle on 3 March that stopped heating after two weeks; "
                                       "the receipt is lost but the card statement shows the payment. Can they get a refund?",
         "answer": "Yes: the card statement is proof of purchase, and a fault within 30 days is refunded in full."},
        {"id": "ship-2", "question": "How long does standard shipping take to the Canary Islands, and are customs "
                                     "duties included in the price shown at checkout?",
         "answer": "Five to eight working days; duties are not included and are paid on delivery."},
    ]
    evals.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    index = tmp_path / "evals.idx"
    proc = run_cli("index", "build", f"support={evals}", "-o", str(index))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"into {index}")
    assert proc.stdout.startswith("indexed 4 texts of 1 evaluation set (")
    train = tmp_path / "train.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"Order {i}: where is my parcel?"}, {"role": "assistant", "content": "On its way."}]}
            for i in range(11)]
    rows.append({"messages": [{"role": "user", "content": items[0]["question"]}, {"role": "assistant", "content": "Yes."}]})
    train.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pack = tmp_path / "pack.yaml"
    pack.write_text(json.dumps({"extends": "default", "validators": {"contamination": {"indexes": [str(index)], "bundled": False}}}))
    proc = run_cli("check", str(train), "--rules", str(pack), "--select", "CTM", "--format", "json")
    found = json.loads(proc.stdout)["findings"]
    assert [(f["code"], f["line"]) for f in found] == [("CTM001", 12)]
    assert found[0]["message"].startswith("holds the question of support refund-7 ('A customer bought a kettle")
    missing = tmp_path / "missing.yaml"
    missing.write_text(json.dumps({"extends": "default", "validators": {"contamination": {"indexes": ["nope.idx"]}}}))
    proc = run_cli("check", str(train), "--rules", str(missing), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["dsqa: error: nope.idx: contamination index not found"]


@pytest.mark.skipif(not (SHARED / "data" / "benchmarks").is_dir(), reason="the benchmark sets are not in ../shared")
def test_the_bundled_index_is_built_from_the_public_sets(tmp_path: Path) -> None:
    from dsqa.contamination import BUNDLED, Index

    bench = SHARED / "data" / "benchmarks"
    out = tmp_path / "public.npz"
    proc = run_cli("index", "build", f"GSM8K test={bench / 'gsm8k_test.jsonl'}", f"HumanEval={bench / 'humaneval.jsonl.gz'}", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    rebuilt, shipped = Index.load(out), Index.load(BUNDLED)
    assert rebuilt.items == shipped.items
    assert (rebuilt.hashes == shipped.hashes).all() and (rebuilt.owners == shipped.owners).all()
    assert {i.benchmark for i in shipped.items} == {"GSM8K test", "HumanEval"}
    assert sum(1 for i in shipped.items if i.benchmark == "GSM8K test" and i.part == "question") == 1_319


def test_an_image_over_10_mb_and_too_many_image_examples(tmp_path: Path) -> None:
    import base64

    from dsqa.validators.conversation.images import MAX_IMAGE_EXAMPLES, ImageCount

    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
    big = "data:image/png;base64," + base64.b64encode(png + b"\0" * (11 * 1024 * 1024)).decode()
    rows = [{"messages": [{"role": "user", "content": [{"type": "text", "text": "Describe the scan."},
                                                        {"type": "image_url", "image_url": {"url": big}}]},
                          {"role": "assistant", "content": "A blank page."}]}]
    path = tmp_path / "scan.jsonl"
    path.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    report = check([path], load_config("default").with_overrides(select=("IMG",)))
    assert [(f.code, f.line, f.pointer, f.message) for f in report.findings] == [
        ("IMG002", 1, "/messages/0/content/1/image_url", "image of 11.0 MB; OpenAI skips images over 10 MB")]
    parts = [ImageCount(examples=MAX_IMAGE_EXAMPLES // 2), ImageCount(examples=MAX_IMAGE_EXAMPLES // 2 + 1)]
    parts[0].merge(parts[1])
    (finding,) = parts[0].findings("big.jsonl", "conversation")
    assert finding.message == "50,001 examples contain images; a vision fine-tuning file may hold at most 50,000"
    assert not list(ImageCount(examples=MAX_IMAGE_EXAMPLES).findings("ok.jsonl", "conversation"))


def test_replies_piled_up_at_a_length_cap(tmp_path: Path) -> None:
    rng = random.Random(4)
    words = "the river carries sand from the hills to the sea and the plain grows a little every year".split()
    rows = []
    for i in range(400):
        if i % 5 == 0:  # cut at the generator's limit: about 200 tokens, mid-sentence
            reply = " ".join(rng.choice(words) for _ in range(200))
        else:
            reply = " ".join(rng.choice(words) for _ in range(rng.randint(20, 150))) + "."
        rows.append({"messages": [{"role": "user", "content": f"Tell me about rivers ({i})."}, {"role": "assistant", "content": reply}]})
    path = tmp_path / "capped.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = check([path], load_config("default").with_overrides(select=("TOK006",)))
    (finding,) = report.findings
    assert finding.line is None and finding.data is not None
    assert finding.data["replies"] == 80 and finding.data["cut"] == 80 and finding.data["lines"] == [1, 6, 11]
    assert finding.message.startswith("80 of 400 final replies (20.0%) end at ")
    three = check([path], load_config("default").with_overrides(select=("TOK006",)), jobs=3)
    assert [f.to_dict() for f in three.findings] == [finding.to_dict()]
    # the same lengths with full stops are not a cap: the replies ended on their own
    ended = [{"messages": [r["messages"][0], {"role": "assistant", "content": r["messages"][1]["content"].rstrip(".") + "."}]} for r in rows]
    path.write_text("".join(json.dumps(r) + "\n" for r in ended), encoding="utf-8")
    assert not check([path], load_config("default").with_overrides(select=("TOK006",))).findings
