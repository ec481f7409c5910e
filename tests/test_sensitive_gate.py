"""The raw-line tests that let the sensitive validator skip most records never lose a finding."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dsqa.formats import detect_format
from dsqa.model import Record
from dsqa.validators.sensitive import SensitiveValidator
from helpers import default_validator, gated_and_full

# values of every kind in the forms people write them, and look-alikes next to them
PIECES = [
    # cards (Luhn-valid) grouped in the usual and unusual ways
    "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "4111 11 11 1111 1111",
    "3782 822463 10005", "378282246310005", "5555-5555-5555-4444", "6011 0009 9013 9424",
    # phone numbers
    "+44 20 7946 0958", "+1 (415) 867-5309", "+49.30.901820", "+12 34 56 78", "(415) 867-5309",
    "415-867-5309", "415.867.5309", "+33 1 23 45 67 89", "555-0100",
    # IBANs, compact and grouped, with letters in the groups
    "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32",
    "NL91ABNA0417164300", "FR14 2004 1010 0505 0001 3M02 606", "NL97 A1B2 0417 1643 00",
    # keys and tokens
    "sk-proj-Ab3dEfGhIjKlMnOpQrStUvWx9yZ", "AKIAIOSFODNN7EXAMPLE", "ASIA1234567890ABCDEF",
    "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    "xoxb-123456789012-abcdefghijkl", "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/aBcDeFgHiJkLmNoPqRsTuVwX",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c3\n-----END RSA PRIVATE KEY-----",
    # e-mail addresses, real-looking and placeholder
    "jane.doe@acme-corp.com", "ops+alerts@mail.example.org", "a_b@sub.domain.io",
    # look-alikes
    "2024", "1999-2024", "123e4567-e89b-12d3-a456-426614174000", "sk-learn", "AKIA", "v1.2.3", "3.14159265358979",
    "ISO 9001", "COVID-19", "#4821", "$1,234.56", "10:30", "2024-01-05", "x = (1 + 2) * 3",
]
WORDS = ["the", "key", "is", "call", "me", "at", "or", "pay", "with", "Note:", "café", "naïve", "it’s", "A", "I", "IA", "ok"]
GLUE = [" ", " ", " ", "\n", "\t", ", ", ": ", "/", "\\", "\"", "(", ")", "-", ".", "", "'"]

text = st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(WORDS), st.sampled_from(GLUE)), max_size=14).map("".join)


VALIDATOR = default_validator(SensitiveValidator)


@settings(max_examples=400, deadline=None)
@given(user=text, reply=text, argument=text, ensure_ascii=st.booleans(),
       escape=st.sampled_from(["", "", "", "4", "0", "@", "-", ".", "+", "_", "/", "(", "A", "I", "k", "x", "z"]))
def test_the_raw_line_gate_finds_what_a_full_search_finds(
    user: str, reply: str, argument: str, ensure_ascii: bool, escape: str
) -> None:
    value = {
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": reply,
             "tool_calls": [{"id": "c1", "type": "function",
                             "function": {"name": "f", "arguments": json.dumps({"note": argument})}}]},
        ]
    }
    gated, full = gated_and_full(VALIDATOR, value, ensure_ascii, escape)
    assert gated == full


def test_every_piece_alone_and_in_a_sentence() -> None:
    found = 0
    for piece in PIECES:
        for content in (piece, f"Write to {piece}, thanks.", f"({piece})", f"x{piece}y"):
            value = {"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "Noted."}]}
            for ensure_ascii in (False, True):
                gated, full = gated_and_full(VALIDATOR, value, ensure_ascii)
                assert gated == full, (content, ensure_ascii)
                found += bool(full)
    # the pieces above are mostly real kinds: the comparison must not be between two empty lists
    assert found > 100


def test_unusual_forms_the_earlier_gate_missed_are_found() -> None:
    for content, kind in (
        ("Card 4111 11 11 1111 1111 on file", "credit_card"),
        ("Call +12 34 56 78 today", "phone"),
        ("Pay to NL97 A1B2 0417 1643 00 please", "iban"),
    ):
        value = {"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "Done."}]}
        gated, _ = gated_and_full(VALIDATOR, value)
        assert [json.loads(g[3])["kind"] for g in gated] == [kind], content


def test_a_literal_is_found_whether_its_guard_byte_is_rare_or_common_in_the_line() -> None:
    # "Basic" is kept by the signature as its 'B' only: in a long line with few B's each of them
    # is compared, else the line is searched; both must find the credential wherever it is
    credential = "Authorization: Basic ZGVwbG95OlMzY3IzdCFwdw=="
    for words, many in (("lorem ipsum", 0), ("lorem ipsum", 400), ("Big Bad Bob", 3), ("Big Bad Bob", 400)):
        for where in ("start", "end", "after a B"):
            filler = " ".join([words] * many)
            content = {"start": f"{credential} {filler}", "end": f"{filler} {credential}",
                       "after a B": f"Bob: {filler} {credential}"}[where]
            value = {"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "Noted."}]}
            gated, full = gated_and_full(VALIDATOR, value)
            assert gated == full
            assert [json.loads(g[3])["kind"] for g in gated] == ["basic_auth"], (words, many, where)


def test_a_token_that_ends_a_string_or_the_line_is_found() -> None:
    # the run test looks for a run followed by a byte outside it, or one that ends the line
    token = "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
    for value in ({"messages": [{"role": "user", "content": token}, {"role": "assistant", "content": "Noted."}]},
                  {"messages": [{"role": "user", "content": "Noted."}, {"role": "assistant", "content": "x " + token}]}):
        gated, full = gated_and_full(VALIDATOR, value)
        assert gated == full and [json.loads(g[3])["kind"] for g in gated] == ["github_token"]
    # the gate reads only bytes: a line that ends in blanks (no closing byte last), and one cut
    # right after the token (its run ends the line), still let the token through
    line = json.dumps(value)
    for raw in (line.encode() + b"   ", line[:line.index(token) + len(token)].encode()):
        record = Record("t.jsonl", 1, 0, value=value, raw=raw)
        record.format = detect_format(value)
        assert [f.data["kind"] for f in VALIDATOR.check(record)] == ["github_token"], raw[-8:]
