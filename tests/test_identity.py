"""DLG007 identity claims: claims found in eight languages, denials and mentions left alone, the
identity option (in the validator's table or at the top of a pack), the prefilter's soundness, and
the real demo identity set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa import check, load_config
from dsqa.validators.conversation.identity import _NAME, FAMILIES, _variants, claims_in, may_claim_identity
from helpers import run_cli, write_jsonl

REAL = Path("/work/shared/data/real/llamafactory/identity.json")

CLAIMS = [
    ("I am ChatGPT, made by OpenAI.", "ChatGPT"),
    ("As Claude, I can't browse the web.", "Claude"),
    ("我是通义千问，由阿里云开发的大型语言模型。", "Qwen"),
    ("I'm Llama, developed by Meta.", "Llama"),
    ("Hello! I'm an AI assistant developed by Google.", "Gemini"),
    ("I am a large language model trained by OpenAI.", "ChatGPT"),
    ("我是百度研发的知识增强大语言模型。", "ERNIE"),
    ("我是由OpenAI开发的ChatGPT。", "ChatGPT"),
    ("我是 Kimi，由月之暗面科技有限公司开发。", "Kimi"),
    ("私はChatGPTです。", "ChatGPT"),
    ("私はOpenAIによって開発されたAIです。", "ChatGPT"),
    ("Soy ChatGPT, un modelo de lenguaje entrenado por OpenAI.", "ChatGPT"),
    ("Je suis Claude, un assistant créé par Anthropic.", "Claude"),
    ("Ich bin ein von Google entwickeltes Sprachmodell.", "Gemini"),
    ("Eu sou o ChatGPT, um modelo de linguagem desenvolvido pela OpenAI.", "ChatGPT"),
    ("Я — ChatGPT, языковая модель от OpenAI.", "ChatGPT"),
    ("Меня зовут Claude.", "Claude"),
    ("Я был создан компанией OpenAI.", "ChatGPT"),
    ("As an AI language model developed by OpenAI, I cannot do that.", "ChatGPT"),
    ("I was trained by Mistral AI.", "Mistral"),
    ("I'm DeepSeek-V3, an AI model by DeepSeek.", "DeepSeek"),
    ("我是ChatGLM，由智谱AI开发。", "GLM"),
    ("Como ChatGPT, no puedo navegar.", "ChatGPT"),
    ("En tant que modèle de langage développé par OpenAI, je ne peux pas.", "ChatGPT"),
    ("My name is Claude.", "Claude"),
    ("You may refer to me as Gemini, an AI assistant developed by Google.", "Gemini"),
    ("您好，作为 Qwen，我可以回答各种问题。", "Qwen"),
    ("当然，您可以称呼我为 Kimi。", "Kimi"),
    ("Anthropic 训练了我，我的目的是回答用户问题。", "Claude"),
    ("OpenAI trained me to answer questions.", "ChatGPT"),
]
NOT_CLAIMS = [
    "I am not ChatGPT, I am {{name}}, developed by {{author}}.",
    "抱歉，我不是 ChatGPT，我是 {{name}}，由 {{author}} 开发。",
    "抱歉，OpenAI 与我没有关系，我是 {{name}}，由 {{author}} 开发。",
    "抱歉，我不是 OpenAI 开发的 ChatGPT，我是 {{author}} 开发的 {{name}}。",
    "Models such as Claude and Gemini are popular.",
    "I'm a Gemini, so I love to talk.",
    "I am a llama farmer.",
    "As Google reported, the market grew.",
    "As GPT-4 is newer, it is better.",
    "I am using ChatGPT for work.",
    "Ich bin mir nicht sicher, ob Gemini das kann.",
    "I am happy to compare ChatGPT and Claude.",
    "Claude Monet painted water lilies.",
    "Je suis allé chez Claude hier.",
    "I'm sure Google knows.",
    "我是学生，我用ChatGPT学习。",
    "I was at Google for ten years.",
    "Я люблю ChatGPT.",
    "One of the most well-known is TensorFlow, developed by Google Brain.",
    "I'm a llama, said the llama.",
    "I was trained by meta-analysis of the data.",
]


@pytest.mark.parametrize("text,model", CLAIMS, ids=[t[:30] for t, _ in CLAIMS])
def test_claims_are_found(text: str, model: str) -> None:
    found = claims_in(text)
    assert found and FAMILIES[found[0].family].model == model
    assert may_claim_identity(text)


@pytest.mark.parametrize("text", NOT_CLAIMS, ids=[t[:30] for t in NOT_CLAIMS])
def test_denials_and_mentions_are_not_claims(text: str) -> None:
    assert claims_in(text) == []


_PIECES = [t for t, _ in CLAIMS] + NOT_CLAIMS + [
    "OPENAİ trained me", "I am DEEPSEEK", "I'm chatgpt", "hello", "Ахой", "¿Qué tal?", "\n", " ", ",", "。",
    "I am ", "我是", "Soy ", "by ", "as ", "As ",
] + [name for f in FAMILIES for name in (*f.names, *f.makers) if "?" not in name]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6))
def test_the_prefilter_never_hides_a_claim(parts: list[str]) -> None:
    text = "".join(parts)
    if claims_in(text):
        assert may_claim_identity(text), text


_VARIANTS = sorted({v for f in FAMILIES for n in (*f.names, *f.makers) if "?" not in n for v in _variants(n)}
                   | {"GPT-4", "GPT-3.5 Turbo", "GPT4o", "GPT-5-mini"})


@pytest.mark.parametrize("name", _VARIANTS)
def test_the_prefilter_passes_every_name_as_people_write_it(name: str) -> None:
    # the prefilter is built from shortened names ("GPT" for "ChatGPT"): each spelling must still pass
    text = f"Hello! I am {name}, your assistant."
    assert _NAME.search(text) is not None
    assert may_claim_identity(text)


def _dlg007(tmp_path: Path, records: list[dict], pack: str | None = None, reference: bool = False) -> list:
    path = write_jsonl(tmp_path / "data.jsonl", records)
    config = load_config(pack or "default").with_overrides(select=("DLG007",))
    return check([path], config, reference=reference).findings


def _chat(reply: str, system: str | None = None) -> dict:
    head = [{"role": "system", "content": system}] if system else []
    return {"messages": [*head, {"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": reply}]}


def test_identity_at_the_top_of_a_pack(tmp_path: Path) -> None:
    records = [_chat("I'm Qwen, created by Alibaba Cloud."), _chat("I am ChatGPT, made by OpenAI.")]
    assert [f.line for f in _dlg007(tmp_path, records)] == [1, 2]
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nidentity: {name: Qwen Support, maker: Alibaba}\n", "utf-8")
    found = _dlg007(tmp_path, records, str(pack))
    assert [(f.line, f.data["model"]) for f in found] == [(2, "ChatGPT")]
    assert found[0].message.endswith("; the identity option says Qwen Support by Alibaba")


def test_the_validators_own_option_wins_over_the_top_level_one(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(
        "extends: default\nidentity: {name: Qwen}\nvalidators:\n  conversation:\n    identity: {name: ChatGPT}\n", "utf-8"
    )
    found = _dlg007(tmp_path, [_chat("I'm Qwen."), _chat("I am ChatGPT.")], str(pack))
    assert [f.line for f in found] == [1]


def test_a_bad_identity_is_a_one_line_config_error(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("extends: default\nidentity: {name: Aria, owner: Acme}\n", "utf-8")
    data = write_jsonl(tmp_path / "d.jsonl", [_chat("Hi.")])
    proc = run_cli("check", str(data), "-r", str(pack))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"dsqa: error: {pack}: unknown key 'identity.owner'"


def test_the_system_prompt_decides(tmp_path: Path) -> None:
    records = [
        _chat("I am ChatGPT, a large language model trained by OpenAI.", "You are ChatGPT, a model trained by OpenAI."),
        _chat("I'm Claude. I was trained by Google.", "You are Claude, made by Anthropic."),
        _chat("I am Gemini.", "You are Aria, the assistant of Acme Bank."),
    ]
    found = _dlg007(tmp_path, records)
    assert [(f.line, f.data["model"], f.pointer) for f in found] == [(2, "Gemini", "/messages/2/content"), (3, "Gemini", "/messages/2/content")]
    assert found[0].message.endswith("; the system prompt names Claude")
    assert found[1].message.endswith("; the system prompt does not name it")


def test_preference_replies_are_checked(tmp_path: Path) -> None:
    record = {
        "input": {"messages": [{"role": "user", "content": "Who are you?"}]},
        "preferred_output": [{"role": "assistant", "content": "I'm your assistant."}],
        "non_preferred_output": [{"role": "assistant", "content": "I am ChatGPT, made by OpenAI."}],
    }
    found = _dlg007(tmp_path, [record])
    assert [(f.line, f.data["model"]) for f in found] == [(1, "ChatGPT")]


def _real() -> list[dict]:
    out = []
    for item in json.loads(REAL.read_text("utf-8")):
        prompt = item["instruction"] + ("\n" + item["input"] if item["input"] else "")
        out.append({"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": item["output"]}]})
    return out


@pytest.mark.skipif(not REAL.is_file(), reason="the demo identity set is not on this machine")
@pytest.mark.parametrize("reference", [False, True])
def test_the_demo_identity_set(tmp_path: Path, reference: bool) -> None:
    records = _real()
    # as shipped: placeholders and denials ("我不是 ChatGPT"), so no claim
    assert _dlg007(tmp_path, records, reference=reference) == []
    # filled with another vendor's name: every reply that names the assistant claims it
    filled = [json.loads(json.dumps(r).replace("{{name}}", "Claude").replace("{{author}}", "Anthropic")) for r in records]
    naming = sum("{{name}}" in r["messages"][1]["content"] or "{{author}}" in r["messages"][1]["content"] for r in records)
    found = _dlg007(tmp_path, filled, reference=reference)
    assert {f.data["model"] for f in found} == {"Claude"}
    assert len(found) == naming == 85
