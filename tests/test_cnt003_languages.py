"""CNT003 finds refusal and AI-disclaimer boilerplate in the languages people train in, in any letter case, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa.validators.content import ContentValidator
from dsqa.validators.content.cnt003_boilerplate import find_boilerplate, find_boilerplate_gated
from helpers import REAL, default_validator, gated_and_full, run_cli

VALIDATOR = default_validator(ContentValidator)

#: (language, a reply, the boilerplate CNT003 quotes from it)
BOILERPLATE = [
    ("zh", "由于我是一个人工智能，我无法给出个人偏好，但可以比较几款手机的特点。", "我是一个人工智能"),
    ("zh", "抱歉，作为一个人工智能助手，我无法看到图片。", "作为一个人工智能助手，我无法"),
    ("zh", "作为一个 AI 系统，我没有法律专业知识，请咨询律师。", "作为一个 AI 系统"),
    ("zh", "我是一个人工智能助手，我的程序旨在提供客观建议。因此，我无法对这幅画提供评价。", "我无法对这幅画提供"),
    ("zh", "我没有个人观点，但很多人喜欢爵士乐。", "我没有个人观点"),
    ("zh", "由于我是一个计算机程序，我不知道这栋大楼的施工细节。", "我是一个计算机程序"),
    ("ja", "AIとして、私には週末がありません。", "AIとして、"),
    ("ja", "申し訳ありませんが、その質問にはお答えできません。", "お答えできません"),
    ("ja", "私はAIなので、好きな食べ物はありません。", "私はAIなので"),
    ("es", "Como modelo de lenguaje, no tengo preferencias personales.", "Como modelo de lenguaje"),
    ("es", "Lo siento, pero no puedo ayudarte con eso.", "no puedo ayudar"),
    ("es", "Soy una inteligencia artificial y no tengo cuerpo.", "Soy una inteligencia artificial"),
    ("fr", "En tant qu'IA, je n'ai pas de goûts culinaires.", "En tant qu'IA"),
    ("fr", "Je suis désolé, mais je ne peux pas vous aider avec cela.", "je ne peux pas vous aider"),
    ("de", "Als KI habe ich keine eigene Meinung zu Politik.", "Als KI habe ich keine"),
    ("de", "Leider kann ich das nicht. Ich kann Ihnen dabei nicht helfen.", "Ich kann Ihnen dabei nicht helfen"),
    ("de", "Ich bin ein Sprachmodell und habe keinen Körper.", "Ich bin ein Sprachmodell"),
    ("pt", "Como uma IA, eu não tenho cores favoritas.", "Como uma IA, eu não"),
    ("pt", "Desculpe, mas não posso ajudar com isso.", "não posso ajudar"),
    ("pt", "Sou apenas um modelo de linguagem treinado com textos.", "Sou apenas um modelo de linguagem"),
    ("ru", "Как языковая модель, я не имею личного мнения.", "Как языковая модель"),
    ("ru", "Извините, я не могу помочь с этим запросом.", "я не могу помочь"),
    ("ru", "У меня нет личного мнения о джазе.", "У меня нет личного мнения"),
]

#: replies that talk about AI, say "as a ..." or "no", and are no boilerplate
LOOK_ALIKES = [
    "作为一名老师，您可以多倾听学生的想法。",
    "作为人工智能领域的一个应用，病虫害识别系统可以帮助农民。",
    "作为一个人工智能助手，我会先请双方说出各自的想法。",
    "我是一名 AI 助手，能够回答您的问题。",
    "是的，人工智能技术正在改变我们的工作方式。",
    "我无法想象没有你的生活，你给了我很多快乐。",
    "AIとして活用できるツールは多いです。",
    "No tengo coche, así que llegaré en autobús.",
    "Como ia dizendo, vai chover à tarde.",
    "La IA como campo de estudio nació en 1956.",
    "Ein Programm, das oft als KI bezeichnet wird, schreibt Texte.",
    "Je ne sais pas encore, je te le dirai demain.",
    "Такие технологии, как ИИ и робототехника, меняют промышленность.",
    "Я не могу дождаться выходных!",
]


def cnt003(reply: str, **options: Any) -> list[tuple[Any, ...]]:
    validator = ContentValidator(options, VALIDATOR.context) if options else VALIDATOR
    value = {"messages": [{"role": "user", "content": "?"}, {"role": "assistant", "content": reply}]}
    gated, full = gated_and_full(validator, value)
    assert gated == full, reply
    assert gated_and_full(validator, value, ensure_ascii=True) == (gated, full)  # every non-ASCII letter escaped
    return [f for f in gated if f[0] == "CNT003"]


@pytest.mark.parametrize(("language", "reply", "quoted"), BOILERPLATE)
def test_boilerplate_is_found_in_every_language_and_letter_case(language: str, reply: str, quoted: str) -> None:
    for text in (reply, reply.upper(), reply.lower(), reply.title()):
        found = cnt003(text)
        assert len(found) == 1, (language, text)
    m = find_boilerplate(reply, 300)
    assert m is not None and m.group() == quoted


@pytest.mark.parametrize("reply", LOOK_ALIKES)
def test_look_alikes_are_not_flagged(reply: str) -> None:
    assert cnt003(reply) == []
    assert cnt003(reply.upper()) == []


def test_a_refusal_counts_only_at_the_start_of_a_reply_a_disclaimer_anywhere() -> None:
    long_start = "Aquí está el plan completo de la mudanza, paso a paso y con todos los detalles. "
    assert cnt003(long_start + "Lamentablemente no puedo ayudarte con esa parte.", refusal_chars=60) == []
    assert cnt003("Lamentablemente no puedo ayudarte con esa parte.", refusal_chars=60)
    assert cnt003(long_start + "Como modelo de lenguaje, no opino.", refusal_chars=60)


def test_the_earliest_boilerplate_of_any_language_is_quoted() -> None:
    assert find_boilerplate("No puedo ayudar. As an AI language model, I decline.", 300).group() == "As an AI language model"
    assert find_boilerplate("Como modelo de lenguaje, no. As an AI, no.", 300).group() == "Como modelo de lenguaje"
    assert find_boilerplate("I cannot help with that. No puedo ayudar.", 300).group() == "I cannot help with that"
    assert find_boilerplate("No puedo ayudar. I cannot help with that.", 300).group() == "No puedo ayudar"


FRAGMENTS = [quoted for _, _, quoted in BOILERPLATE] + LOOK_ALIKES + [
    "As an AI", "I cannot help", "no", "IA", "KI", "nao", "não", "ſ", "ı", "İ", " ", ", ", ". ", "n", "ne ", "una ", "eine ",
    "keine", "nicht", "modèle", "tant", "qu'", "je ", "yo no", "ia no",
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=8), case=st.sampled_from([str, str.upper, str.lower]))
def test_the_prefilters_never_lose_a_finding(parts: list[str], case: Any) -> None:
    text = case("".join(parts))
    for chars in (300, 20):
        full, gated = find_boilerplate(text, chars), find_boilerplate_gated(text, chars, True)
        assert (full and (full.start(), full.group())) == (gated and (gated.start(), gated.group())), text


def test_a_chinese_file_is_checked_with_its_replies_counted(tmp_path: Path) -> None:
    boilerplate = [r for lang, r, _ in BOILERPLATE if lang == "zh"]
    replies = boilerplate + LOOK_ALIKES[:6]
    records = [{"instruction": f"问题{i}", "input": "", "output": r} for i, r in enumerate(replies)]
    path = tmp_path / "alpaca_zh.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "zh.jsonl"
    proc = run_cli("convert", str(path), "-o", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    proc = run_cli("check", str(out), "--select", "CNT003", "--format", "json")
    lines = sorted(f["line"] for f in json.loads(proc.stdout)["findings"])
    assert lines == list(range(1, len(boilerplate) + 1))  # the Chinese look-alikes after them are not flagged


def test_the_assistant_introducing_itself_in_identity_json_is_no_boilerplate(tmp_path: Path) -> None:
    # LLaMA-Factory's identity set: 75 Chinese introductions ("我是一名 AI 助手，能够回答您的问题"), none a hedge
    source = REAL / "identity.json"
    replies = [r["output"] for r in json.loads(source.read_text(encoding="utf-8"))]
    chinese = [r for r in replies if any("\u4e00" <= c <= "\u9fff" for c in r)]
    assert len(chinese) == 75
    assert [r for r in replies if find_boilerplate(r, 300) is not None] == []
    out = tmp_path / "identity.jsonl"
    run_cli("convert", str(source), "-o", str(out))
    proc = run_cli("check", str(out), "--select", "CNT003", "--format", "json")
    assert json.loads(proc.stdout)["findings"] == [], proc.stdout
