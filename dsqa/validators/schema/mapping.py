"""From jsonschema errors to findings: each error is located in the record, then the rules of its area are asked in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..base import pointer_of
from . import messages, parts, preference, tools, toplevel
from .common import ErrorRule, Mapped, Spot, locate

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

#: per area of the record, the rules that may claim an error there, most specific first; an
#: error no rule claims is SCH018. Areas do not overlap, so each rule sees only its own errors.
RULES: dict[str, tuple[ErrorRule, ...]] = {
    "record": (
        preference.input_missing, toplevel.messages_missing, toplevel.top_level_key,
        preference.input_empty_or_wrong_type, toplevel.messages_empty_or_not_array, *toplevel.GENERIC,
    ),
    "message": (
        messages.missing_key, messages.unexpected_key, messages.unknown_role, messages.bad_weight, parts.part_type,
        *toplevel.GENERIC,
    ),
    "tools": (tools.malformed,),
    "output": (preference.output_shape, *toplevel.GENERIC),
}


def map_error(err: ValidationError, root: Any, fmt: str) -> Iterator[Mapped]:
    """The findings of one jsonschema error in ``root``, a record of format ``fmt``."""
    path = list(err.absolute_path)
    area, rel, where = locate(path, root, fmt)
    for spot in _spots(err, path, area, rel, where, fmt):
        for rule in RULES[area]:
            found = rule(spot)
            if found is not None:
                yield from found
                break
        else:
            yield from toplevel.other(spot)


def _spots(err: ValidationError, path: list[Any], area: str, rel: list[Any], where: str, fmt: str) -> Iterator[Spot]:
    """The error as spots: one per missing or unexpected key for required and additionalProperties."""
    inst = err.instance
    keyword = str(err.validator)

    def spot(pointer: str, key: str | None = None) -> Spot:
        return Spot(fmt, path, pointer, keyword, inst, err.validator_value, err.schema, err.message, area, rel, where, key)

    if keyword == "required":
        missing = [k for k in err.validator_value if k not in inst] if isinstance(inst, dict) else []
        for key in missing:
            yield spot(pointer_of([*path, key]), key)
    elif keyword == "additionalProperties":
        allowed = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
        extras = [k for k in inst if k not in allowed] if isinstance(inst, dict) else []
        for key in extras:
            yield spot(pointer_of([*path, key]), key)
    else:
        yield spot(pointer_of(path))
