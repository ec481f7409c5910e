"""Schema and structure rules for OpenAI chat (SFT) and preference (DPO) records, a module per rule group.

``toplevel`` (SCH001, SCH002 and the catch-alls SCH004, SCH005, SCH018), ``messages`` (roles and
messages), ``parts`` (content parts and special tokens), ``tools`` (tool calls and definitions),
``preference`` (PRF codes); ``mapping`` turns jsonschema errors into their findings and
``validator`` holds the validator. The format itself is defined once, in ``dsqa/schemas/*.json``.
"""

from __future__ import annotations

from ..fastpath import ROLES
from .parts import DEFAULT_SPECIAL_TOKENS
from .validator import SchemaValidator, schema_validators

__all__ = ["DEFAULT_SPECIAL_TOKENS", "ROLES", "SchemaValidator", "schema_validators"]
