"""Target base models (read from data/models.yaml): encoding, per-example limit, price, dates, epochs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

from .errors import ConfigError

#: counted against when no model is named: the cheapest base OpenAI still trains (reference §0),
#: with the 65,536-token limit and o200k_base encoding of every current base
DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"

# OpenAI's "auto" epoch heuristic (cookbook data-prep notebook, reference §3.4)
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


@dataclass(frozen=True, slots=True)
class Target:
    """One fine-tunable base model, as the table in data/models.yaml describes it."""

    id: str
    encoding: str
    max_tokens: int | None
    training_price_per_1m: float | None
    methods: tuple[str, ...]
    training_ends: dt.date | None
    shutdown: dt.date | None
    shutdown_verified: bool
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    """All targets by id and alias, and the day the platform stops creating jobs."""

    models: dict[str, Target]
    names: dict[str, str]
    new_jobs_until: dt.date | None


def _day(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"models.yaml: {where}: not a YYYY-MM-DD date: {value!r}") from None


@lru_cache(maxsize=1)
def table() -> Table:
    """Load the bundled model table once per process."""
    import yaml  # loaded on first use, so that `dsqa rules` does without it

    data = yaml.safe_load((files("dsqa") / "data" / "models.yaml").read_text("utf-8"))
    models: dict[str, Target] = {}
    names: dict[str, str] = {}
    for mid, row in data["models"].items():
        price = row.get("training_price_per_1m")
        target = Target(
            id=mid,
            encoding=row["encoding"],
            max_tokens=row.get("max_tokens"),
            training_price_per_1m=float(price) if price is not None else None,
            methods=tuple(row.get("methods", ())),
            training_ends=_day(row.get("training_ends"), f"{mid}.training_ends"),
            shutdown=_day(row.get("shutdown"), f"{mid}.shutdown"),
            shutdown_verified=bool(row.get("shutdown_verified", True)),
            aliases=tuple(row.get("aliases") or ()),
        )
        models[mid] = target
        names[mid] = mid
        for alias in target.aliases:
            names[alias] = mid
    platform = data.get("platform") or {}
    return Table(models, names, _day(platform.get("new_jobs_until"), "platform.new_jobs_until"))


def base_of(model: str) -> str:
    """The base model of a model id: ``ft:{base}:{org}:{suffix}:{id}[:ckpt-step-N]`` -> ``base``."""
    model = model.strip()
    if model.startswith("ft:"):
        return model[3:].split(":", 1)[0]
    return model


def resolve(model: str) -> Target:
    """The target of a model id, alias or ``ft:`` id; ConfigError (exit 2) when it is not in the table."""
    tab = table()
    base = base_of(model)
    mid = tab.names.get(base)
    if mid is None:
        known = ", ".join(tab.models)
        raise ConfigError(f"unknown target model {model!r} (fine-tunable bases: {known})")
    return tab.models[mid]


def auto_epochs(examples: int) -> int:
    """The epoch count OpenAI's ``n_epochs: "auto"`` picks for this many training examples."""
    if examples <= 0:
        return TARGET_EPOCHS
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // examples)
    if examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // examples)
    return TARGET_EPOCHS


def training_cost(billed_tokens: int, target: Target) -> float | None:
    """Estimated USD of training on ``billed_tokens`` (epochs already applied), None without a price."""
    if target.training_price_per_1m is None:
        return None
    return target.training_price_per_1m * billed_tokens / 1_000_000


def parse_epochs(value: Any) -> int | str:
    """``"auto"`` or an epoch count 1..50 (the API's range), from a flag or a config value."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"epochs must be 'auto' or a whole number 1-50, got {value!r}") from None
    if isinstance(value, bool) or not 1 <= n <= 50 or (isinstance(value, float) and value != n):
        raise ConfigError(f"epochs must be 'auto' or a whole number 1-50, got {value!r}")
    return n


def parse_day(value: Any, where: str = "reference_date") -> dt.date:
    """A YYYY-MM-DD day from config (YAML may already have made it a date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where} must be a YYYY-MM-DD date, got {value!r}") from None


__all__ = [
    "DEFAULT_MODEL", "Table", "Target", "auto_epochs", "base_of", "parse_day", "parse_epochs", "resolve",
    "table", "training_cost",
]
