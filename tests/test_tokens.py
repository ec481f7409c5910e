"""Token accounting, offline encodings, target models, epochs and cost, and the tokens stats contract."""

from __future__ import annotations

import base64
import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from dsqa import check, load_config
from dsqa.errors import ConfigError
from dsqa.targets import auto_epochs, base_of, resolve, training_cost
from dsqa import tokencount
from dsqa.tokencount import ChatCounter, EncodingError, get_encoding, image_tokens
from helpers import ROOT, chat, run_cli, write_jsonl

ENCODINGS = ("o200k_base", "cl100k_base")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make every attempt to open a socket fail loudly, and record it."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def fresh_encodings() -> Any:
    get_encoding.cache_clear()
    yield
    get_encoding.cache_clear()


# -- offline encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENCODINGS)
def test_bundled_encodings_load_without_network(name: str, no_network: list[Any], fresh_encodings: None) -> None:
    enc = get_encoding(name)
    assert enc.name == name
    assert enc.decode(enc.encode_ordinary("Capital of France?")) == "Capital of France?"
    assert no_network == []


def test_the_pieces_the_hand_counts_use() -> None:
    """The token splits the hand-computed counts below rely on, spelled out."""
    for name in ENCODINGS:
        enc = get_encoding(name)
        pieces = lambda s: [enc.decode([t]) for t in enc.encode_ordinary(s)]  # noqa: E731
        assert pieces("Capital of France?") == ["Capital", " of", " France", "?"]
        assert pieces("Paris.") == ["Paris", "."]
        for one in ("system", "user", "assistant", "tool", "Hello", "Hi", "bob"):
            assert pieces(one) == [one]
        assert pieces('{"city": "Paris"}') == ['{"', "city", '":', ' "', "Paris", '"}']
    assert [get_encoding("o200k_base").decode([t]) for t in get_encoding("o200k_base").encode_ordinary("Sunny")] == ["Sunny"]
    assert [get_encoding("cl100k_base").decode([t]) for t in get_encoding("cl100k_base").encode_ordinary("Sunny")] == ["S", "unny"]


def test_corrupted_vocabulary_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_encodings: None) -> None:
    bad = tmp_path / "o200k_base.tiktoken"
    shutil.copy(tokencount.vocabulary_path("o200k_base"), bad)
    data = bytearray(bad.read_bytes())
    data[100] ^= 1
    bad.write_bytes(bytes(data))
    with pytest.raises(EncodingError, match="corrupted"):
        tokencount.load_ranks("o200k_base", bad)
    monkeypatch.setattr(tokencount, "vocabulary_path", lambda name: tmp_path / f"{name}.tiktoken")
    with pytest.raises(EncodingError, match=r"o200k_base vocabulary is corrupted .*reinstall"):
        get_encoding("o200k_base")


def test_corrupted_vocabulary_stops_the_cli_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_encodings: None
) -> None:
    from dsqa.cli import main

    (tmp_path / "o200k_base.tiktoken").write_bytes(b"not a vocabulary\n")
    monkeypatch.setattr(tokencount, "vocabulary_path", lambda name: tmp_path / f"{name}.tiktoken")
    data = write_jsonl(tmp_path / "d.jsonl", [chat(i) for i in range(10)])
    with pytest.raises(SystemExit) as exit_info:
        main(["check", str(data)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "corrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unbundled_encoding_offline_says_how_to_provide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[Any], fresh_encodings: None
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with pytest.raises(EncodingError, match=r"p50k_base.*not bundled.*TIKTOKEN_CACHE_DIR/[0-9a-f]{40}"):
        get_encoding("p50k_base")
    with pytest.raises(EncodingError, match="unknown encoding 'nope'"):
        get_encoding("nope")


# -- chat accounting, counted by hand ----------------------------------------------------------------

NAMED = {
    "messages": [
        {"role": "system", "content": "Hello"},                                # 3 + 1 + 1 = 5
        {"role": "user", "content": "Capital of France?", "name": "bob"},      # 3 + 1 + 4 + (1 + 1) = 10
        {"role": "assistant", "content": "Paris.", "weight": 0},               # 3 + 1 + 2 = 6, not trained
        {"role": "user", "content": "Hi"},                                     # 3 + 1 + 1 = 5
        {"role": "assistant", "content": "Sunny"},                             # 3 + 1 + (1 | 2), trained
    ]
}

TOOLS = {
    "tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Get the weather.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name."},
            "unit": {"type": "string", "enum": ["c", "f"]},
        }},
    }}],
    "messages": [
        {"role": "user", "content": "Hi"},                                     # 5
        {"role": "assistant", "content": None, "tool_calls": [                 # 3 + 1 + name 2 + arguments 6 = 12
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},        # 3 + 1 + id 3 + (1 | 2)
        {"role": "assistant", "content": "Paris."},                            # 6
    ],
}


@pytest.mark.parametrize(("name", "total", "trainable"), [("o200k_base", 5 + 10 + 6 + 5 + 5 + 3, 1), ("cl100k_base", 5 + 10 + 6 + 5 + 6 + 3, 2)])
def test_names_and_weight_0(name: str, total: int, trainable: int) -> None:
    count = ChatCounter(name).chat(NAMED)
    assert (count.total, count.trainable, count.messages) == (total, trainable, 5)


@pytest.mark.parametrize(("name", "func_init", "sunny"), [("o200k_base", 7, 1), ("cl100k_base", 10, 2)])
def test_tools_and_tool_calls(name: str, func_init: int, sunny: int) -> None:
    # func_init + "get_weather:Get the weather" (5) + prop_init 3
    # + city: prop_key 3 + "city:string:City name" (5)
    # + unit: prop_key 3 + enum_init -3 + 2 * (enum_item 3 + 1) + "unit:string:" (3) + func_end 12
    tools = func_init + 5 + 3 + (3 + 5) + (3 - 3 + 2 * (3 + 1) + 3) + 12
    counter = ChatCounter(name)
    assert counter.tools(TOOLS["tools"]) == tools
    count = counter.chat(TOOLS)
    assert count.total == tools + 5 + 12 + (3 + 1 + 3 + sunny) + 6 + 3
    assert count.trainable == (2 + 6) + 2


def test_odd_field_types_cost_what_the_formula_says() -> None:
    # a string tool call holds no function (0); a non-string refusal or name is not text (0)
    odd = {"messages": [
        {"role": "user", "content": "Hi", "tool_calls": "x", "function_call": "y", "refusal": 5, "name": None},  # 3 + 1 + 1
        {"role": "assistant", "content": "Hi", "refusal": "Hi", "weight": 1},                                   # 3 + 1 + 1 + 1
    ]}
    count = ChatCounter("o200k_base").chat(odd)
    assert (count.total, count.trainable, count.messages, count.segments) == (5 + 6 + 3, 2, 2, [(9, 11)])


def test_memo_stays_bounded_and_keeps_repeated_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokencount, "CACHE_MAX_ENTRIES", 8)
    counter = ChatCounter("o200k_base")
    encoded: list[str] = []
    tokens = counter._tokens
    counter._tokens = lambda s: encoded.append(s) or tokens(s)  # type: ignore[method-assign]
    prompt = "You are a helpful assistant."
    for i in range(100):
        assert counter.text(prompt) == 6
        assert counter.text(f"answer {i}") == tokens(f"answer {i}")
        assert len(counter._cache) <= 8 and len(counter._previous) <= 8
    assert encoded.count(prompt) == 1


def _png(width: int, height: int) -> str:
    head = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return "data:image/png;base64," + base64.b64encode(head).decode()


def test_images() -> None:
    low = {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
    assert image_tokens(low) == (85, True)
    # 1024x1024 -> shortest side 768 -> 768x768 -> 2x2 tiles -> 85 + 4 * 170
    assert image_tokens({"type": "image_url", "image_url": {"url": _png(1024, 1024)}}) == (765, True)
    # 4096x1024 -> fit 2048x512 -> shortest side 512 (not above 768) -> 4x1 tiles
    assert image_tokens({"type": "image_url", "image_url": {"url": _png(4096, 1024), "detail": "high"}}) == (85 + 4 * 170, True)
    assert image_tokens({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}) == (85, False)
    record = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, low]},    # 3 + 1 + 1 + 85
        {"role": "assistant", "content": "Hello"},                             # 5
    ]}
    count = ChatCounter("o200k_base").chat(record)
    assert (count.total, count.images, count.unsized_images) == (90 + 5 + 3, 1, 0)


def test_preference_pair_counts_input_once_and_both_outputs() -> None:
    pair = {
        "input": {"messages": [{"role": "user", "content": "Capital of France?"}]},   # 8
        "preferred_output": [{"role": "assistant", "content": "Paris."}],            # 6
        "non_preferred_output": [{"role": "assistant", "content": "Hello"}],         # 5
    }
    count = ChatCounter("o200k_base").preference(pair)
    assert (count.total, count.sequence, count.trainable) == (8 + 6 + 5 + 3, 8 + 6 + 3, 2 + 1)


# -- target models --------------------------------------------------------------------------------------


def test_ft_ids_resolve_to_their_base() -> None:
    target = resolve("ft:gpt-4.1-mini-2025-04-14:org::abc")
    assert (target.id, target.encoding, target.max_tokens) == ("gpt-4.1-mini-2025-04-14", "o200k_base", 65536)
    assert resolve("ft:gpt-4o-mini:openai:custom-model-name:7p4lURel").id == "gpt-4o-mini-2024-07-18"
    assert resolve("ft:gpt-4o-mini-2024-07-18:my-org:custom-suffix:96olL566:ckpt-step-2000").id == "gpt-4o-mini-2024-07-18"
    assert resolve("ft:o4-mini-2025-04-16:org::x").methods == ("rft",)
    assert resolve("gpt-3.5-turbo").encoding == "cl100k_base"
    assert base_of(" gpt-4o ") == "gpt-4o"
    with pytest.raises(ConfigError, match="unknown target model 'gpt-5'"):
        resolve("gpt-5")


def test_tiktoken_itself_gets_ft_gpt_4_1_wrong() -> None:
    """Why dsqa resolves ft: ids itself (reference §1.7); this needs no network."""
    import tiktoken

    assert tiktoken.encoding_name_for_model("ft:gpt-4.1-mini-2025-04-14:org::abc") == "cl100k_base"


def test_epochs_and_cost_on_the_reference_examples() -> None:
    # GUIDE24: 100k tokens x 3 epochs = $0.90 on gpt-4o-mini, $2.40 on gpt-3.5-turbo-0125
    assert training_cost(100_000 * 3, resolve("gpt-4o-mini-2024-07-18")) == pytest.approx(0.90)
    assert training_cost(100_000 * 3, resolve("gpt-3.5-turbo-0125")) == pytest.approx(2.40)
    assert training_cost(1, resolve("o4-mini")) is None
    # notebook toy: 5 examples -> 20 epochs; SFT guide: 10 examples -> 10 epochs
    assert auto_epochs(5) == 20
    assert auto_epochs(10) == 10
    assert auto_epochs(1) == 25
    assert auto_epochs(34) == 3 and auto_epochs(100) == 3 and auto_epochs(8333) == 3
    assert auto_epochs(8334) == 2 and auto_epochs(12500) == 2 and auto_epochs(12501) == 1 and auto_epochs(100_000) == 1


def test_stats_of_a_five_example_file(tmp_path: Path) -> None:
    """The toy shape of the notebook: 5 examples get 20 epochs and every token is billed 20 times."""
    record = {"messages": [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]}  # 17
    data = write_jsonl(tmp_path / "five.jsonl", [record] * 4 + [NAMED])  # 17 x 4 + 34
    report = check([data], load_config("default").with_overrides(model="gpt-4o-mini-2024-07-18"))
    stats = report.to_dict()["datasets"][0]["stats"]["tokens"]
    assert stats["examples"] == 5
    assert stats["total_tokens"] == 17 * 4 + 34
    assert stats["trainable_tokens"] == 2 * 4 + 1
    assert stats["tokens_per_example"] == {"min": 17, "p10": 17, "median": 17, "p90": 34, "max": 34}
    assert stats["messages_per_example"] == {"min": 2, "p10": 2, "median": 2, "p90": 5, "max": 5}
    assert stats["histogram"] == [{"lo": 16, "hi": 32, "count": 4}, {"lo": 32, "hi": 64, "count": 1}]
    assert (stats["epochs"], stats["epochs_auto"]) == (20, True)
    assert stats["billed_tokens"] == 20 * (17 * 4 + 34)
    assert stats["estimated_cost_usd"] == pytest.approx(3.00 * 20 * 102 / 1e6, abs=1e-4)
    explicit = check([data], load_config("default").with_overrides(model="gpt-4.1-2025-04-14", epochs="2"))
    stats = explicit.to_dict()["datasets"][0]["stats"]["tokens"]
    assert (stats["epochs"], stats["epochs_auto"], stats["billed_tokens"]) == (2, False, 204)
    assert stats["estimated_cost_usd"] == pytest.approx(25.0 * 204 / 1e6, abs=1e-4)


def test_over_limit_example_is_capped_in_the_bill(tmp_path: Path) -> None:
    record = {"messages": [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]}  # 17
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nepochs: 1\nvalidators:\n  tokens:\n    max_tokens: 13\n", "utf-8")
    data = write_jsonl(tmp_path / "d.jsonl", [record] * 10)
    stats = check([data], load_config(pack)).to_dict()["datasets"][0]["stats"]["tokens"]
    assert (stats["total_tokens"], stats["billed_tokens"], stats["over_limit"]) == (170, 130, 10)


def test_config_keys_are_validated(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nmodel: gpt-4o\nepochs: auto\nreference_date: 2026-11-01\n", "utf-8")
    config = load_config(pack)
    assert (config.model, config.epochs, config.reference_date) == ("gpt-4o", "auto", "2026-11-01")
    assert config.with_overrides(model="gpt-4.1-mini", epochs="4").model == "gpt-4.1-mini"
    for bad, message in (("model: gpt-9", "unknown target model"), ("epochs: 0", "epochs"), ("reference_date: 2026-13-01", "month must be"), ("reference_date: 'yesterday'", "reference_date")):
        pack.write_text(f"extends: default\n{bad}\n", "utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(pack)


def test_validation_file_is_counted_not_billed(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", [chat(i) for i in range(10)])
    val = write_jsonl(tmp_path / "val.jsonl", [chat(i) for i in range(3)])
    report = check([train], load_config("default"), validation=[val]).to_dict()
    val_stats = report["datasets"][1]["stats"]["tokens"]
    assert val_stats["billed"] is False and "billed_tokens" not in val_stats and val_stats["examples"] == 3


# -- the CLI, as a new user would run it --------------------------------------------------------------------


def _long_file(tmp_path: Path) -> Path:
    records = [chat(i) for i in range(12)]
    # ~70,000 tokens of user text: over gpt-4o-mini's 65,536, so the closing answer is cut off;
    # 12 examples x 3 < 100, so "auto" trains 100 // 12 = 8 epochs
    records[3]["messages"][1]["content"] = "word " * 70_000
    return write_jsonl(tmp_path / "long.jsonl", records)


def test_cli_model_flag_text_and_json(tmp_path: Path) -> None:
    path = _long_file(tmp_path)
    text = run_cli("check", str(path), "--model", "gpt-4o-mini-2024-07-18", "--jobs", "1")
    assert text.returncode == 0, text.stderr  # over-long is a warning in the default pack
    out = text.stdout
    assert f"{path}:4: TOK001 warning example has" in out
    assert "over the 65,536-token limit of gpt-4o-mini-2024-07-18; it will be truncated from the end, losing" in out
    assert "tokens (gpt-4o-mini-2024-07-18, o200k_base, limit 65,536 per example):" in out
    assert "all 12 records counted: " in out and "8 epochs (auto):" in out and "at $3.00 per 1M training tokens" in out
    js = run_cli("check", str(path), "--model", "gpt-4o-mini-2024-07-18", "--epochs", "2", "--format", "json")
    data = json.loads(js.stdout)
    stats = data["datasets"][0]["stats"]["tokens"]
    assert stats["model"] == "gpt-4o-mini-2024-07-18" and stats["model_default"] is False
    assert stats["examples"] == 12 and stats["over_limit"] == 1 and stats["epochs"] == 2
    assert stats["billed_tokens"] == 2 * stats["billed_tokens_per_epoch"]
    assert stats["max_tokens_per_example"] == 65536 and stats["tokens_per_example"]["max"] > 65536
    tok = [f for f in data["findings"] if f["code"] == "TOK001"]
    assert [(f["line"], f["severity"]) for f in tok] == [(4, "warning")]
    assert tok[0]["data"]["assistant_tokens_lost"] == tok[0]["data"]["trainable_tokens"] > 0
    strict = run_cli("check", str(path), "--model", "gpt-4o-mini-2024-07-18", "--rules", "strict", "--select", "TOK")
    assert strict.returncode == 1 and "TOK001 error" in strict.stdout


def test_cli_bad_model_and_epochs_exit_2(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [chat(i) for i in range(10)])
    bad = run_cli("check", str(path), "--model", "gpt-5")
    assert bad.returncode == 2 and "unknown target model 'gpt-5'" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli("check", str(path), "--epochs", "many").returncode == 2


def test_default_model_counts_the_bundled_sample() -> None:
    out = run_cli("check", "sample_data/chat_clean.jsonl", cwd=ROOT)
    assert "tokens (gpt-4o-mini-2024-07-18, o200k_base, limit 65,536 per example; default target, set --model):" in out.stdout


def test_a_user_preamble_repeated_in_every_example_is_encoded_once() -> None:
    # few-shot preambles and instructions repeat in user turns across a whole dataset: re-encoding
    # one of a few KB for each of 100,000 examples would add seconds
    counter = ChatCounter("o200k_base")
    encoded: list[str] = []
    tokens = counter._tokens
    counter._tokens = lambda s: encoded.append(s) or tokens(s)  # type: ignore[method-assign]
    preamble = "Translate the sentence into French, keeping names as they are. Examples: " + "Bonjour, Marie. " * 200
    totals = set()
    for i in range(50):
        out = counter.chat({"messages": [
            {"role": "user", "content": preamble},
            {"role": "assistant", "content": f"Réponse numéro {i}."},
        ]})
        totals.add(out.total - out.trainable)
    assert encoded.count(preamble) == 1
    assert len(totals) == 1  # the preamble counts the same every time
