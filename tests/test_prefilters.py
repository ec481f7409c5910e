"""Every prefilter of the content and sensitive rules is sound: a run with them finds exactly what a
reference run (every prefilter answering yes) finds, on generated records and on real data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa import load_config
from dsqa.engine import check
from dsqa.formats import detect_format
from dsqa.model import Record
from dsqa.validators import DatasetContext
from dsqa.validators.content import ContentValidator
from dsqa.validators.sensitive import SensitiveValidator

CONFIG = load_config("default")
NORMAL = DatasetContext(path="t.jsonl")
REFERENCE = DatasetContext(path="t.jsonl", reference=True)
CLASSES = (ContentValidator, SensitiveValidator)
VALIDATORS = {ctx.reference: [cls(CONFIG.options(cls.name), ctx) for cls in CLASSES] for ctx in (NORMAL, REFERENCE)}

#: texts each of which is the only witness of some literal of a prefilter (deleting that literal
#: loses the finding), with look-alikes and other languages
CONTENT_PIECES = [
    # CNT002
    "{{name}}", "{{ café }}", "{name}", "{% if x %}", "<PLACEHOLDER>", "<your name>", "[INSERT NAME]",
    "[insert name]", "[enter your email]", '[add "x" here]', "[placeholder]", "[todo]", "[tbd]",
    "[fill in the date]", "[ADD 50% more]", "TODO", "TBD", "FIXME", "[ınsert name]",
    # CNT003, in the usual spelling and in other letter cases
    "I cannot help with that", "I can not assist", "I will not share", "I am not able to help",
    "We are not allowed to share", "I do not have opinions", "I am unable to help", "I can't help",
    "I won't do that", "I can’t help", "I won’t answer", "I don’t have feelings", "I don't have beliefs",
    "I must decline to answer", "As an AI, no.", "As a AI, no.", "As an artificial intelligence, no.",
    "As a language model, no.", "I'm just a computer program", "I CANNOT HELP", "AS AN AI LANGUAGE MODEL",
    "as an ai", "I Won'T Answer", "I do not know, and I cannot help with that", "As an Aı, I think so", "I wİll not help you", "I MUST DECLINE TO ANSWER",
    # CNT003 in the other languages: each piece the only witness of one "n" form of their prefilters
    "no tengo opiniones", "NO PUEDO AYUDARTE", "no podemos ayudar", "Como IA, no lo sé", "Como IA no opino", "Como IA, yo no opino", "Como IA eu no sei",
    "nao tenho sentimentos", "nao posso ajudar", "nao podemos ajudar", "nao consigo responder", "Não posso ajudar",
    "Soy una IA", "Como una modelo de IA", "Soy una programa informático", "Je n'ai pas d'opinions", "Je n’ai pas de sentiments",
    "Ich habe keine Gefühle", "Je ne peux pas vous aider", "Je ne pourrais pas répondre", "Je ne suis pas en mesure de le faire",
    "Je suis une IA", "Ich bin eine KI", "Je suis une intelligence artificielle", "Je suis une modèle de langage",
    "Je suis une programme informatique", "Ich bin eine Sprachmodell", "Als eine großes Sprachmodell", "Ich bin eine Computerprogramm",
    "En tant qu'IA, voilà", "Soy un IA", "Ich bin ein KI-Sprachmodell", "Je suis un intelligence artificielle", "Como un modelo de IA",
    "Je suis un modèle de langage", "Soy un programa informático", "Ich bin ein Sprachmodell", "Als ein großes Sprachmodell",
    "Ich bin ein Computerprogramm", "soy una inteligencia artificial", "Como modelo de lenguaje", "Sou um modelo de linguagem",
    "Ich kann dir nicht helfen", "Als künstliche Intelligenz", "als künſtliche Intelligenz", "AS AN AI, NO PUEDO AYUDAR",
    "由于我是一个人工智能，我无法给出个人偏好", "Я всего лишь языковая модель", "AIとして、私には週末がありません", "お答えできません",
    # CNT004 and CNT005
    "ha ha ha ha ha ha ha ha ha ha ha ha ha", "and it went on and on and then it went on and on and then",
    "Here is the code you asked for:\n```python\nprint(1).", "This is a long reply that stops at the end of the",
    # CNT006
    "cafÃ©", "Â» next", "itâ€™s", "\ufffd",
    # look-alikes and other languages
    "café", "naïve", "it’s", "\\frac{a}{b}", '{"a": 1}', "`{code}`", "Ahoj, jak se máš?", "Привет, как дела?",
    "你好，我不能帮你", "مرحبا كيف حالك", "İstanbul'da ıssız bir gün", "Straße", "😀 ok",
]
SECRET_PIECES = [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "card 4111111111111111", "Visa 4222222222222", "3782 822463 10005",
    "+44 20 7946 0958", "+12 34 56 78", "+12 (34) 56 78", "(415) 867-5309", "415-867-5309", "415.867.5309",
    # the only witnesses of ' ' and '-' in the run of ssn, and of ' ', '.', '-', ')' and the length in phone_national's
    "SSN 123 45 6789", "SSN 123-45-6789", "Tel 030 901820", "Tel 030.901820", "Tel 030-901820", "Tel (030) 901820", "Tel 030 90182",
    "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "NO93 8601 1117 947", "NL97 A1B2 0417 1643 00",
    "sk-proj-Ab3dEfGhIjKlMnOpQrStUvWx9yZ", "AKIAIOSFODNN7EXAMPLE", "ASIA1234567890ABCDEF", "ABIA1234567890ABCDEF",
    "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", "gho_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "ghu_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", "ghs_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "ghr_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    "github_pat_11AAAAAAAAAAAAAAAAAAAAAA0",  # no "gh" in it: the old line gate missed it
    "xoxb-123456789012-abcdefghijkl", "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/aBcDeFgHiJkLmNoPqRsTuVwX",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "rk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c3\n-----END RSA PRIVATE KEY-----",
    "jane.doe@acme-corp.com", "a_b@sub.domain.io",
    # look-alikes
    "2024", "sk-learn", "AKIA", "v1.2.3", "ISO 9001", "+1 555 0100", "١٢٣٤٥٦٧٨٩٠١٢٣",
]

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _line(value: dict[str, Any], ensure_ascii: bool, escape: str) -> bytes:
    """``value`` as a JSONL line, with every ``escape`` character in its strings written as a \\u escape."""
    line = json.dumps(value, ensure_ascii=ensure_ascii)
    if escape:
        inner = re.compile(r"\\u[0-9a-fA-F]{4}|\\.|" + re.escape(escape))
        line = _JSON_STRING.sub(lambda s: inner.sub(
            lambda m: m.group() if len(m.group()) > 1 else "\\u%04x" % ord(escape), s.group()), line)
        assert json.loads(line) == value
    return line.encode("utf-8")


def findings(reference: bool, value: dict[str, Any], raw: bytes) -> list[tuple[Any, ...]]:
    """What the content and sensitive validators find in one record, in one mode."""
    record = Record("t.jsonl", 1, 0, value=value, raw=raw)
    record.format = detect_format(value)
    return [(f.code, f.pointer, f.message, json.dumps(f.data, sort_keys=True))
            for v in VALIDATORS[reference] for f in v.check(record)]


def assert_same(value: dict[str, Any], ensure_ascii: bool = False, escape: str = "",
                slash: bool = False) -> list[tuple[Any, ...]]:
    """Both modes find the same in ``value`` read from a line (and with no line, as an array element).

    ``slash``: the line writes every '/' as \\/ (valid JSON, and no JSON structure holds a '/').
    """
    raw = _line(value, ensure_ascii, escape)
    if slash:
        raw = raw.replace(b"/", b"\\/")
        assert json.loads(raw) == value
    expected = findings(True, value, raw)
    assert findings(False, value, raw) == expected, (raw, expected)
    assert findings(False, value, b"") == expected
    return expected


def _chat(text: str, role: str) -> dict[str, Any]:
    others = {"system": "You help.", "user": "Well?", "assistant": "Fine, thanks for asking about it."}
    turns = [{"role": r, "content": text if r == role else others[r]} for r in ("system", "user", "assistant")]
    return {"messages": turns}


def _escapes(piece: str) -> list[str]:
    """Characters of ``piece`` worth writing as \\u escapes: the first of each kind."""
    out: list[str] = []
    for test in (str.isupper, str.islower, str.isdigit, lambda c: not c.isalnum() and c.isascii() and c not in ' "\\'):
        out += [c for c in piece if c.isascii() and test(c)][:1]
    return out


@pytest.mark.parametrize("piece", CONTENT_PIECES + SECRET_PIECES)
def test_every_piece_is_found_the_same_with_and_without_prefilters(piece: str) -> None:
    found = 0
    for role in ("system", "user", "assistant"):
        for text in (piece, f"Well, {piece}", f"{piece} is what I would say about this whole matter."):
            value = _chat(text, role)
            for ensure_ascii in (False, True):
                found += bool(assert_same(value, ensure_ascii))
            for escape in _escapes(piece):
                found += bool(assert_same(value, False, escape))
            if "/" in piece:
                found += bool(assert_same(value, False, "", slash=True))
    if piece not in ("café", "naïve", "it’s", "\\frac{a}{b}", '{"a": 1}', "`{code}`", "2024", "sk-learn", "AKIA",
                     "v1.2.3", "ISO 9001", "+1 555 0100", "١٢٣٤٥٦٧٨٩٠١٢٣", "Straße", "😀 ok", "Ahoj, jak se máš?",
                     "Привет, как дела?", "你好，我不能帮你", "مرحبا كيف حالك", "İstanbul'da ıssız bir gün", "[ınsert name]", "I won’t answer"):
        assert found, piece  # the comparison is not between two empty lists


# -- generated records: several languages, tool calls, images, secrets, escapes

WORDS = ["the", "answer", "is", "here", "A", "I", "Ok", "we", "can", "not", "help", "you", "model", "AI", "ai",
         "café", "Straße", "ıi", "İ", "你好", "Привет", "مرحبا", "😀", "1234", "555", "+1", "-", "(", ")", "ı"]
GLUE = [" ", " ", " ", "\n", ", ", ". ", "", "'", "’", '"', "\\", "/", "-", "{", "}", "[", "]", "<", ">", "@", "\t"]
TEXT = st.lists(st.one_of(st.sampled_from(CONTENT_PIECES), st.sampled_from(SECRET_PIECES), st.sampled_from(WORDS),
                          st.sampled_from(GLUE), st.text(max_size=4)), max_size=12).map("".join)


@st.composite
def records(draw: Any) -> dict[str, Any]:
    user: Any = draw(TEXT)
    if draw(st.booleans()):
        user = [{"type": "text", "text": user},
                {"type": "image_url", "image_url": {"url": "https://example.com/" + draw(TEXT)[:20] + ".png"}}]
    messages: list[dict[str, Any]] = [{"role": "system", "content": draw(TEXT)}, {"role": "user", "content": user}]
    if draw(st.booleans()):
        messages.append({"role": "assistant", "content": draw(st.sampled_from(["", None])), "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": json.dumps({"q": draw(TEXT)})}}]})
        messages.append({"role": "tool", "tool_call_id": "c1", "content": draw(TEXT)})
    messages.append({"role": "assistant", "content": draw(TEXT)})
    if draw(st.booleans()):
        return {"input": {"messages": messages[:2]}, "preferred_output": [{"role": "assistant", "content": draw(TEXT)}],
                "non_preferred_output": [{"role": "assistant", "content": draw(TEXT)}]}
    return {"messages": messages}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=records(), ensure_ascii=st.booleans(),
       escape=st.sampled_from(["", "", "", "{", "<", "[", "'", "A", "I", "T", "m", "&", "4", "0", "@", "-", ".", "+",
                               "_", "/", "(", "k", "x", "z", " "]))
def test_generated_records_give_the_same_findings_in_both_modes(value: dict[str, Any], ensure_ascii: bool,
                                                                 escape: str) -> None:
    assert_same(value, ensure_ascii, escape)


# -- the LLaMA-Factory demo sets, converted to chat (and preference) records as test_content_real reads them

REAL = Path("/work/shared/data/real/llamafactory")


def _sharegpt_preference(rec: dict[str, Any]) -> dict[str, Any]:
    roles = {"human": "user", "gpt": "assistant", "system": "system"}
    messages = [{"role": roles[t["from"]], "content": t["value"]} for t in rec["conversations"]]
    return {"input": {"messages": messages},
            "preferred_output": [{"role": "assistant", "content": rec["chosen"]["value"]}],
            "non_preferred_output": [{"role": "assistant", "content": rec["rejected"]["value"]}]}


def _converted(path: Path) -> list[dict[str, Any]]:
    from test_content_real import _alpaca, _glaive

    data = json.loads(path.read_text("utf-8"))
    first = data[0]
    convert = (_glaive if "tools" in first else _sharegpt_preference if "chosen" in first
               else _glaive if "conversations" in first else _alpaca)
    return [convert(r) for r in data]


@pytest.mark.skipif(not REAL.is_dir(), reason="real data not present")
@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("*.json")) if REAL.is_dir() else [])
def test_real_sets_give_the_same_findings_in_both_modes(tmp_path: Path, name: str) -> None:
    records = _converted(REAL / name)
    out = []
    for ensure_ascii in (False, True):
        path = tmp_path / f"{name}.{ensure_ascii}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=ensure_ascii) + "\n" for r in records), "utf-8")
        normal, reference = (check([path], CONFIG, reference=ref) for ref in (False, True))
        assert [f.to_dict() for f in normal.findings] == [f.to_dict() for f in reference.findings]
        out.append(sum(f.code[:3] in ("CNT", "SEC") for f in normal.findings))
    assert out[0] == out[1]
    if name != "identity.json":
        assert out[0] > 0
