"""The raw-line tests that let the content validator skip most texts never lose a finding."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dsqa.validators.content import ContentValidator, find_repetition
from dsqa.validators.content.cnt003_boilerplate import not_refusal as _not_refusal
from helpers import default_validator, gated_and_full

PIECES = [
    "{{name}}", "{name}", "{ name }", "{% if x %}", "<PLACEHOLDER>", "<your name>", "[INSERT NAME]", "[TODO]", "TODO",
    "TBD", "FIXME", "TO DO", "{\"a\": 1}", "[1, 2]", "f\"{x}\"", "`{code}`", "```\n{block}\n```", "\\frac{a}{b}",
    "As an AI language model", "as an ai", "I'm just an AI", "I cannot help with that", "I can't assist with this",
    "I won't do that", "I will not share", "I am unable to help", "I must decline to answer", "I do not have opinions",
    "I don't have feelings", "I don’t have beliefs", "I can’t help", "not allowed to help", "model", "AI",
    "cafÃ©", "â€™", "\ufffd", "café", "it’s", "naïve",
    "ha ha ha ha ha ha ha ha ha ha ha ha ha", "the end of the", "and so,", "an open ``` fence",
]
WORDS = ["the", "answer", "is", "here", "A", "I", "Ok", "we", "can", "not", "help", "you", "with", "that", "model"]
GLUE = [" ", " ", " ", "\n", ", ", ". ", "", "'", "\"", "\\", "/", "-", "{", "}", "[", "]", "<", ">"]

text = st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(WORDS), st.sampled_from(GLUE)), max_size=16).map("".join)


VALIDATOR = default_validator(ContentValidator)


@settings(max_examples=400, deadline=None)
@given(system=text, user=text, reply=text, ensure_ascii=st.booleans(),
       escape=st.sampled_from(["", "", "", "{", "<", "[", "'", "A", "I", "T", "m", "&"]))
def test_the_raw_line_gates_find_what_checking_every_text_finds(
    system: str, user: str, reply: str, ensure_ascii: bool, escape: str
) -> None:
    value = {"messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": reply},
    ]}
    gated, full = gated_and_full(VALIDATOR, value, ensure_ascii, escape)
    assert gated == full


def test_every_piece_in_every_role() -> None:
    found = 0
    for piece in PIECES:
        for role in ("system", "user", "assistant"):
            value = {"messages": [
                {"role": role, "content": f"Well, {piece} is what I would say about this whole matter."},
                {"role": "assistant", "content": "Fine, thanks for asking about it."},
            ]}
            for ensure_ascii in (False, True):
                gated, full = gated_and_full(VALIDATOR, value, ensure_ascii)
                assert gated == full, (piece, role, ensure_ascii)
                found += bool(full)
    assert found > 80  # most pieces are flagged somewhere: the comparison is not of empty lists


@settings(max_examples=400, deadline=None)
@given(head=st.lists(st.sampled_from(["not", "an", "an ", "will ", " able", " allowed", "c", "nnot", "n", "o", "t", " "]),
                     max_size=12).map("".join))
def test_the_not_literals_are_found_around_each_not(head: str) -> None:
    literals = ("annot", "an not", "not able", "will not", "not allowed")
    assert _not_refusal(head) == any(literal in head for literal in literals)


#: validators that count a loop from 2, 3, 4 (the default) and 6 repeats
BY_TIMES = {t: ContentValidator({"repeat_min_times": t}, VALIDATOR.context) for t in (2, 3, 4, 6)}
PHRASE = st.lists(st.text(alphabet="abxyz,.", min_size=1, max_size=7), min_size=1, max_size=12)


def _loops(times: int, reply: str) -> bool:
    value = {"messages": [{"role": "user", "content": "go on"}, {"role": "assistant", "content": reply}]}
    gated, full = gated_and_full(BY_TIMES[times], value)
    assert gated == full
    return "CNT004" in [code for code, *_ in gated]


@settings(max_examples=400, deadline=None)
@given(prefix=st.lists(st.sampled_from(["So", "here", "it", "goes:", "a", "ab", "\n", "x"]), max_size=8).map(" ".join),
       phrase=PHRASE, min_times=st.sampled_from(sorted(BY_TIMES)), extra=st.integers(0, 3),
       trail=st.sampled_from(["", " ", "\n", " \n "]))
def test_a_loop_that_runs_to_the_end_of_a_reply_is_always_found(
    prefix: str, phrase: list[str], min_times: int, extra: int, trail: str
) -> None:
    # the probe looks for the loop only where it may be; a loop that runs to the end must pass it,
    # however short its words and however few the repeats asked for (repeat_min_words is 12)
    times = max(min_times, -(-12 // len(phrase))) + extra
    reply = f"{prefix} {' '.join(phrase * times)}{trail}".lstrip()
    assert _loops(min_times, reply), reply


@settings(max_examples=400, deadline=None)
@given(prefix=st.sampled_from(["", "So:", "Well,", "Q"]), suffix=st.sampled_from(["", "End.", "Done!", "ok"]),
       phrase=PHRASE, min_times=st.sampled_from(sorted(BY_TIMES)), extra=st.integers(0, 3))
def test_a_loop_that_fills_the_middle_of_a_reply_is_always_found(
    prefix: str, suffix: str, phrase: list[str], min_times: int, extra: int
) -> None:
    # the middle probe: with less than one phrase before and after the loop, and a loop long
    # enough that the probe and one phrase on each side of it fit inside, the loop is found
    period = len(" ".join(phrase)) + 1
    assume(len(prefix) < period and len(suffix) < period)
    times = max(min_times, 4, -(-12 // len(phrase)), 4 + -(-21 // period)) + extra
    reply = f"{prefix} {' '.join(phrase * times)} {suffix}".strip()
    assert _loops(min_times, reply), reply


def test_a_loop_of_a_phrase_longer_than_one_that_does_not_fit_is_still_found() -> None:
    # 5-word phrases need 3 repeats (15 words) to cover 12 words, 6-word phrases only 2: a longer
    # phrase can fit where a shorter one does not
    words = "a a a a a . a a a a a .".split()
    assert find_repetition(words, 2, 12) == ("a a a a a .", 2)
    assert find_repetition(words[:-1], 2, 12) is None


def test_boilerplate_is_found_in_any_letter_case() -> None:
    # CNT003's patterns match in any case, and so do its prefilters: an all-capitals refusal or a
    # lower-case "as an ai" is flagged like the usual spelling (before, the key-word gate missed them)
    def cnt003(reply: str) -> bool:
        value = {"messages": [{"role": "user", "content": "Help me"}, {"role": "assistant", "content": reply}]}
        gated, full = gated_and_full(VALIDATOR, value)
        assert gated == full
        return "CNT003" in [code for code, *_ in gated]

    assert cnt003("I cannot help with that.") and cnt003("As an AI, I think so.") and cnt003("I Can't Help with that.")
    assert cnt003("I CANNOT HELP WITH THAT.") and cnt003("As an ai, I think so.")
    assert cnt003("AS AN AI LANGUAGE MODEL, I CAN'T SAY.") and cnt003("i must DECLINE to answer")
    assert cnt003("I AM NOT ABLE TO HELP") and cnt003("As An ArTiFiCiAl InTeLlIgEnCe, no.")
    assert not cnt003("I can help with that.") and not cnt003("AI is a field of computer science.")
