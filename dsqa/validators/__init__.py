"""The validator registry: built-ins in a plain dict, third-party ones through entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import ConfigError
from .base import Code, DatasetContext, Validator, pointer_of
from .contamination import ContaminationValidator
from .content import ContentValidator
from .dataset import DatasetValidator
from .conversation import ConversationValidator
from .duplicates import DuplicatesValidator
from .diversity import DiversityValidator
from .format import FormatValidator
from .internal import EngineCodes
from .preference import PreferenceValidator
from .reader import ReaderValidator
from .schema import SchemaValidator
from .sensitive import SensitiveValidator
from .shape import ShapeValidator
from .tokens import TokensValidator

__all__ = ["BUILTIN", "Code", "DatasetContext", "Validator", "all_validators", "pointer_of"]

BUILTIN: dict[str, type[Validator]] = {
    "reader": ReaderValidator,
    "format": FormatValidator,
    "schema": SchemaValidator,
    "dataset": DatasetValidator,
    "tokens": TokensValidator,
    "duplicates": DuplicatesValidator,
    "content": ContentValidator,
    "conversation": ConversationValidator,
    "preference": PreferenceValidator,
    "contamination": ContaminationValidator,
    "sensitive": SensitiveValidator,
    "diversity": DiversityValidator,
    "shape": ShapeValidator,
    "engine": EngineCodes,
}

ENTRY_POINT_GROUP = "dsqa.validators"


def all_validators() -> dict[str, type[Validator]]:
    """Built-in validators plus those registered under the ``dsqa.validators`` entry-point group."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not hide the built-in checks' results
            raise ConfigError(f"validator plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Validator)):
            raise ConfigError(f"validator plugin {ep.name!r} ({ep.value}) is not a dsqa Validator subclass")
        name = cls.name or ep.name
        if name in found and found[name] is not cls:
            raise ConfigError(f"validator plugin {ep.name!r} ({ep.value}) reuses the name {name!r}")
        found[name] = cls
    return found
