"""Turn-taking inside one conversation: who speaks when, and replies that only echo or dodge the prompt."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ..formats import CHAT
from ..model import Finding, Record, Severity
from .base import Code, DatasetContext, Validator

_TALK = frozenset(("system", "user", "assistant"))
#: roles the schema knows; with any other role the schema error says what is wrong, not DLG001
_KNOWN = frozenset(("system", "developer", "user", "assistant", "tool", "function"))


def _text(message: Mapping[str, Any]) -> str | None:
    """The whole text of a message: its string content, or its text parts joined; None if it has none."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        if texts and len(texts) == len(content):  # a turn with an image is more than its text
            return "\n".join(texts)
    return None


def _calls(message: Mapping[str, Any]) -> bool:
    return bool(message.get("tool_calls") or message.get("function_call"))


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {many or word + 's'}"


class DialogueValidator(Validator):
    """Turn-taking in chat examples: a missing user turn, turns out of order, turns said twice,
    and replies that repeat the prompt or answer a long question with a word.

    OpenAI accepts all of these, and a model learns from them exactly what they show: to answer
    itself, to take instructions halfway through, to parrot the user. Each is reported once per
    example and code, at the first place, with the count.
    """

    name = "dialogue"
    codes: ClassVar[dict[str, Code]] = {
        "DLG001": Code(
            Severity.WARNING,
            "conversation has no user turn",
            why="""
                The example has assistant replies but no user message (often a system prompt
                followed straight by the reply, left over from a prompt/completion conversion).
                The model learns to speak unprompted; OpenAI's cookbook checker counts it as a
                format error. Put the request in a user message.
            """,
            failing='{"messages": [{"role": "system", "content": "Summarise the memo."}, {"role": "assistant", "content": "The memo asks for budgets by Friday."}]}',
            passing='{"messages": [{"role": "system", "content": "You summarise memos."}, {"role": "user", "content": "Budgets are due Friday, says the memo."}, {"role": "assistant", "content": "Budgets by Friday."}]}',
        ),
        "DLG002": Code(
            Severity.WARNING,
            "two turns of the same role in a row",
            why="""
                Two user messages, two assistant replies or two system messages follow each
                other. Chat models are trained on alternating turns; a run of one role usually
                means a lost turn or two examples glued together. Merge the two turns, or put the
                missing turn between them. An assistant turn that makes tool calls may be
                followed by tool results and another assistant turn; that is not flagged.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Are you there?"}, {"role": "assistant", "content": "Yes, how can I help?"}]}',
            passing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Are you there?"}, {"role": "assistant", "content": "Yes, how can I help?"}]}',
        ),
        "DLG003": Code(
            Severity.WARNING,
            "system message after the conversation has started",
            why="""
                A system message that comes after a user or assistant turn teaches the model to
                take new standing instructions in the middle of a conversation, which few
                deployments do. Move it to the start, or make it a user turn.
            """,
            failing='{"messages": [{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."}, {"role": "assistant", "content": "Hi!"}]}',
            passing='{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hi!"}]}',
        ),
        "DLG004": Code(
            Severity.WARNING,
            "the same turn twice in one example",
            why="""
                One message of the example is word for word another one of the same role,
                usually a copy-and-paste slip or a generation loop across turns. A repeated
                assistant reply teaches the model to repeat itself. Turns shorter than
                repeat_min_chars (after trimming) are not compared, so "Thanks!" twice is fine.
            """,
            failing='{"messages": [{"role": "user", "content": "Plan a day in Rome."}, {"role": "assistant", "content": "Start at the Colosseum, then the Forum."}, {"role": "user", "content": "And after lunch?"}, {"role": "assistant", "content": "Start at the Colosseum, then the Forum."}]}',
            passing='{"messages": [{"role": "user", "content": "Plan a day in Rome."}, {"role": "assistant", "content": "Start at the Colosseum, then the Forum."}, {"role": "user", "content": "And after lunch?"}, {"role": "assistant", "content": "Walk to the Pantheon and Piazza Navona."}]}',
            options=("repeat_min_chars",),
        ),
        "DLG005": Code(
            Severity.WARNING,
            "assistant reply repeats the user's turn",
            why="""
                The reply is the user's message again (letter case and spacing aside), or nearly
                all of it (nine tenths or more), in a reply of at least copy_min_words words. The
                model learns to echo its input. A reply that is a part of the prompt, such as the
                chosen option of a multiple-choice question or the text an editing task was
                given, is not flagged.
            """,
            failing='{"messages": [{"role": "user", "content": "Translate into French: The train leaves at noon."}, {"role": "assistant", "content": "Translate into French: The train leaves at noon."}]}',
            passing='{"messages": [{"role": "user", "content": "Is the capital of Australia Sydney or Canberra?"}, {"role": "assistant", "content": "Canberra"}]}',
            options=("copy_min_words",),
        ),
        "DLG006": Code(
            Severity.WARNING,
            "reply trivially short for its prompt",
            why="""
                A reply of at most short_reply_words words to a user turn of at least
                short_prompt_words words ("OK." to a long question), in a dataset where such
                short replies are rare (under short_reply_share of all replies): there it is
                usually a truncated or placeholder answer. In a dataset made of short answers
                (labels, yes/no), none is flagged.
            """,
            failing="a dataset of long answers where one 120-word question is answered with \"OK.\"",
            passing="a classification dataset where most replies are one word",
            options=("short_reply_words", "short_prompt_words", "short_reply_share"),
        ),
    }
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "repeat_min_chars": {
                "type": "integer", "minimum": 1,
                "description": "turns shorter than this (after trimming) are not compared for DLG004",
            },
            "copy_min_words": {
                "type": "integer", "minimum": 1,
                "description": "replies shorter than this many words are not compared with the user's turn (DLG005)",
            },
            "short_reply_words": {"type": "integer", "minimum": 1, "description": "a reply of at most this many words is short (DLG006)"},
            "short_prompt_words": {"type": "integer", "minimum": 1, "description": "a user turn of at least this many words is long (DLG006)"},
            "short_reply_share": {
                "type": "number", "minimum": 0, "maximum": 1,
                "description": "DLG006 fires only when short replies are under this share of all replies",
            },
        },
        "additionalProperties": False,
    }
    defaults: ClassVar[Mapping[str, Any]] = {
        "repeat_min_chars": 20,
        "copy_min_words": 4,
        "short_reply_words": 3,
        "short_prompt_words": 50,
        "short_reply_share": 0.05,
    }

    #: at most this many DLG006 candidates are kept; more means short replies are not rare
    MAX_CANDIDATES = 10_000

    def __init__(self, options: Mapping[str, Any], context: DatasetContext) -> None:
        super().__init__(options, context)
        self.replies = 0
        self.short = 0
        #: (line, pointer, reply words, prompt words) of short replies to long prompts
        self.candidates: list[tuple[int, str, int, int]] = []
        self._order = self.wants("DLG001") or self.wants("DLG002") or self.wants("DLG003")
        self._repeat = self.wants("DLG004")
        self._copy = self.wants("DLG005")
        self._short = self.wants("DLG006")

    def check(self, record: Record) -> Iterator[Finding]:
        if record.format != CHAT or not isinstance(record.value, dict):
            return
        messages = record.value.get("messages")
        if not isinstance(messages, list):
            return
        msgs = [(i, m) for i, m in enumerate(messages) if isinstance(m, dict) and isinstance(m.get("role"), str)]
        if self._order:
            yield from self._turn_order(record, msgs, len(msgs) == len(messages))
        if self._repeat:
            yield from self._repeated(record, msgs)
        if self._copy or self._short:
            yield from self._replies(record, msgs)

    def _turn_order(self, record: Record, msgs: list[tuple[int, dict[str, Any]]], whole: bool) -> Iterator[Finding]:
        roles = [m["role"] for _, m in msgs]
        # a message without a known role may be the user's: the schema's finding says what is wrong
        if whole and "assistant" in roles and "user" not in roles and _KNOWN.issuperset(roles) and self.wants("DLG001"):
            yield self.finding(
                "DLG001", record, "the conversation has no user turn; the assistant speaks unprompted",
                "/messages", "put the request in a user message before the reply",
            )
        same: list[int] = []
        late: list[int] = []
        started = False
        for k, (i, m) in enumerate(msgs):
            role = m["role"]
            if k and role in _TALK and role == msgs[k - 1][1]["role"] and not _calls(msgs[k - 1][1]):
                same.append(i)
            if role == "system" and started:
                late.append(i)
            started = started or role != "system"
        if same and self.wants("DLG002"):
            i = same[0]
            role = messages_role(msgs, i)
            more = f" ({_plural(len(same), 'place')} in this example)" if len(same) > 1 else ""
            yield self.finding(
                "DLG002", record, f"two {role} turns in a row at message {i}{more}", f"/messages/{i}/role",
                "merge the two turns, or put the missing turn between them", {"messages": same},
            )
        if late and self.wants("DLG003"):
            more = f" ({_plural(len(late), 'system message')} in all)" if len(late) > 1 else ""
            yield self.finding(
                "DLG003", record, f"system message {late[0]} comes after the conversation has started{more}",
                f"/messages/{late[0]}/role", "move standing instructions to the first message", {"messages": late},
            )

    def _repeated(self, record: Record, msgs: list[tuple[int, dict[str, Any]]]) -> Iterator[Finding]:
        seen: dict[tuple[str, str], int] = {}
        repeats: list[tuple[int, int]] = []
        floor = self.options["repeat_min_chars"]
        for i, m in msgs:
            text = _text(m)
            if text is None:
                continue
            text = text.strip()
            if len(text) < floor:
                continue
            key = (m["role"], text)
            if key in seen:
                repeats.append((i, seen[key]))
            else:
                seen[key] = i
        if repeats:
            i, first = repeats[0]
            role = messages_role(msgs, i)
            more = f" ({_plural(len(repeats), 'repeated turn')} in this example)" if len(repeats) > 1 else ""
            yield self.finding(
                "DLG004", record, f"{role} message {i} says word for word what message {first} said{more}",
                f"/messages/{i}/content", "remove the copy, or write the turn that belongs there",
                {"message": i, "same_as": first, "repeats": len(repeats)},
            )

    def _replies(self, record: Record, msgs: list[tuple[int, dict[str, Any]]]) -> Iterator[Finding]:
        prompt: str | None = None
        copied: list[tuple[int, str]] = []
        for i, m in msgs:
            role = m["role"]
            if role == "user":
                prompt = _text(m)
                continue
            if role != "assistant" or _calls(m) or m.get("weight") == 0:
                continue
            reply = _text(m)
            if reply is None:
                continue
            self.replies += 1
            if self._copy and prompt is not None:
                how = self._copy_of(reply, prompt)
                if how:
                    copied.append((i, how))
            if self._short:
                self._short_reply(record, i, reply, prompt)
        if copied and self.wants("DLG005"):
            i, how = copied[0]
            more = f" ({_plural(len(copied), 'reply', 'replies')} in this example)" if len(copied) > 1 else ""
            yield self.finding(
                "DLG005", record, f"the assistant reply at message {i} {how}{more}", f"/messages/{i}/content",
                "write the answer the user asked for; the model learns to echo its input", {"messages": [c[0] for c in copied]},
            )

    def _copy_of(self, reply: str, prompt: str) -> str:
        """How ``reply`` copies ``prompt``, in words for the message; "" when it does not."""
        # a reply longer than the prompt cannot be a copy of it or inside it: skip the work
        if len(reply) > len(prompt) + 16 or not reply.strip():
            return ""
        r, p = _squash(reply), _squash(prompt)
        words = r.count(" ") + 1
        if words < self.options["copy_min_words"]:
            return ""
        if r == p:
            return "repeats the user's turn"
        # most of the turn, not a part of it: editing tasks ("delete the last paragraph",
        # "put these in order") rightly answer with the text they were given, without the request
        if 10 * len(r) >= 9 * len(p) and r in p:
            return f"copies the user's turn ({_plural(words, 'word')} of it)"
        return ""

    def _short_reply(self, record: Record, i: int, reply: str, prompt: str | None) -> None:
        limit = self.options["short_reply_words"]
        # words are at least a character and a space apiece: cheap bounds before splitting
        if len(reply) > 40 * limit:
            return
        n = len(reply.split())
        if n > limit:
            return
        self.short += 1
        floor = self.options["short_prompt_words"]
        if prompt is None or len(prompt) < 2 * floor - 1:
            return
        words = len(prompt.split())
        if words >= floor and len(self.candidates) < self.MAX_CANDIDATES:
            self.candidates.append((record.line, f"/messages/{i}/content", n, words))

    def merge(self, other: Validator) -> None:
        assert isinstance(other, DialogueValidator)
        self.replies += other.replies
        self.short += other.short
        room = self.MAX_CANDIDATES - len(self.candidates)
        self.candidates.extend(other.candidates[:room])

    def finish(self) -> Iterator[Finding]:
        if not (self._short and self.candidates and self.replies):
            return
        share = self.short / self.replies
        if share >= self.options["short_reply_share"] or len(self.candidates) >= self.MAX_CANDIDATES:
            return
        for line, pointer, n, words in self.candidates:
            yield Finding(
                code="DLG006", severity=self.codes["DLG006"].severity, validator=self.name, path=self.context.path,
                line=line, pointer=pointer,
                message=(f"a reply of {_plural(n, 'word')} to a user turn of {words:,} words, while only "
                         f"{share:.1%} of the replies in this file are this short"),
                hint="write the full answer, or drop the example if the reply was cut off",
                data={"reply_words": n, "prompt_words": words, "short_share": round(share, 4)},
            )


def messages_role(msgs: list[tuple[int, dict[str, Any]]], index: int) -> str:
    """The role of the message at ``index`` of the record, as a word for a message."""
    for i, m in msgs:
        if i == index:
            return str(m["role"])
    return "message"
