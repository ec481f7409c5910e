"""Target base models per provider (data/models.yaml, data/together.yaml): encoding, limits, price, dates, epochs."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, UsageError

if TYPE_CHECKING:
    from .config import Config

#: provider catalogue files under dsqa/data; openai and azure train the same OpenAI bases
CATALOGUES = {"openai": "models.yaml", "azure": "models.yaml", "together": "together.yaml"}
#: a model id written ``together:ORG/NAME`` is looked up in the Together catalogue (how `check --backend` says it)
PROVIDER_PREFIX = "together:"

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
    provider: str = "openai"
    #: lora and/or full (Together); empty for OpenAI, which does not say
    training: tuple[str, ...] = ()
    max_tokens_dpo: int | None = None
    #: True when counts use a stand-in encoding rather than the model's own tokenizer
    estimate: bool = False
    tokenizer: str | None = None

    @property
    def name(self) -> str:
        """The id as written on the command line: Together ids carry their provider prefix in a config."""
        return f"{PROVIDER_PREFIX}{self.id}" if self.provider == "together" else self.id


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
    """Load the bundled OpenAI model table once per process."""
    return catalogue("openai")


@lru_cache(maxsize=4)
def catalogue(backend: str) -> Table:
    """Load one provider's bundled catalogue once per process; ``names`` maps lower-cased ids and aliases."""
    try:
        filename = CATALOGUES[backend]
    except KeyError:
        raise ConfigError(f"no model catalogue for backend {backend!r} (known: {', '.join(CATALOGUES)})") from None
    import yaml  # loaded on first use, so that `dsqa rules` does without it

    data = yaml.safe_load((files("dsqa") / "data" / filename).read_text("utf-8"))
    provider = data.get("provider") or {}
    pname = provider.get("name", "openai")
    models: dict[str, Target] = {}
    names: dict[str, str] = {}
    for mid, row in data["models"].items():
        price = row.get("training_price_per_1m")
        target = Target(
            id=mid,
            encoding=row.get("encoding") or provider.get("encoding") or "o200k_base",
            max_tokens=row.get("max_tokens"),
            training_price_per_1m=float(price) if price is not None else None,
            methods=tuple(row.get("methods", ())),
            training_ends=_day(row.get("training_ends"), f"{mid}.training_ends"),
            shutdown=_day(row.get("shutdown"), f"{mid}.shutdown"),
            shutdown_verified=bool(row.get("shutdown_verified", row.get("verified", True))),
            aliases=tuple(row.get("aliases") or ()),
            provider=pname,
            training=tuple(row.get("training") or ()),
            max_tokens_dpo=row.get("max_tokens_dpo"),
            estimate=bool(provider.get("estimate", False)),
            tokenizer=row.get("tokenizer"),
        )
        models[mid] = target
        names[mid] = mid
        names[mid.lower()] = mid
        for alias in target.aliases:
            names[alias] = mid
            names[alias.lower()] = mid
    platform = data.get("platform") or {}
    return Table(models, names, _day(platform.get("new_jobs_until"), "platform.new_jobs_until"))


def closest(name: str, backend: str = "openai", n: int = 3) -> list[str]:
    """The catalogue ids (and aliases) nearest to ``name``, for a "did you mean" hint."""
    tab = catalogue(backend)
    wanted = name.strip().lower()
    pool = {k.lower(): tab.names[k] for k in tab.names}  # lower-cased id or alias -> canonical id
    hits = difflib.get_close_matches(wanted, sorted(pool), n=n, cutoff=0.5)
    if not hits:
        # a bare "llama" or "qwen" names no model closely but is contained in several
        hits = [k for k in sorted(pool) if wanted and wanted in k][:n]
    return list(dict.fromkeys(pool[h] for h in hits))


def resolve_for(backend: str, model: str) -> Target:
    """The catalogue entry of ``model`` for ``backend`` (case-insensitive); ConfigError (exit 2) with the closest names."""
    tab = catalogue(backend)
    name = model.strip()
    if backend == "together" and name.lower().startswith(PROVIDER_PREFIX):
        name = name[len(PROVIDER_PREFIX):]
    base = base_of(name) if backend != "together" else name
    mid = tab.names.get(base) or tab.names.get(base.lower())
    if mid is None:
        near = list(dict.fromkeys(closest(base, backend)))
        hint = f"; did you mean {_or(near)}?" if near else ""
        for other in ("together", "openai"):
            if other != backend and CATALOGUES[other] != CATALOGUES[backend]:
                found = catalogue(other).names.get(name) or catalogue(other).names.get(name.lower())
                if found is not None:
                    hint = f"; {found} is a {other} model: add --backend {other}"
        raise ConfigError(f"unknown target model {model!r} for backend {backend}{hint} (`dsqa models --backend {backend} --all` lists them)")
    return tab.models[mid]


def canonical(backend: str, model: str) -> str:
    """The id to send and record: the catalogue's spelling of a base, or the ``ft:`` id with its base checked."""
    target = resolve_for(backend, model)
    name = model.strip()
    if backend != "together" and name.startswith("ft:"):
        return name
    return target.id


def trainable(target: Target, today: dt.date) -> bool:
    """Whether the model can still be fine-tuned on ``today`` (by its own dates and its provider's)."""
    if target.shutdown is not None and today >= target.shutdown:
        return False
    return target.training_ends is None or today < target.training_ends


def _or(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


def base_of(model: str) -> str:
    """The base model of a model id: ``ft:{base}:{org}:{suffix}:{id}[:ckpt-step-N]`` -> ``base``."""
    model = model.strip()
    if model.startswith("ft:"):
        return model[3:].split(":", 1)[0]
    return model


def resolve(model: str) -> Target:
    """The target of a model id, alias or ``ft:`` id (``together:ORG/NAME`` for Together's); ConfigError (exit 2) when unknown."""
    if model.strip().lower().startswith(PROVIDER_PREFIX):
        return resolve_for("together", model)
    tab = table()
    base = base_of(model)
    mid = tab.names.get(base) or tab.names.get(base.lower())
    if mid is None:
        near = list(dict.fromkeys(closest(base)))
        hint = f"; did you mean {_or(near)}?" if near else ""
        raise ConfigError(f"unknown target model {model!r}{hint} (fine-tunable bases: {', '.join(tab.models)})")
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
    "DEFAULT_MODEL", "Table", "Target", "auto_epochs", "base_of", "canonical", "catalogue", "closest", "parse_day",
    "parse_epochs", "resolve", "resolve_for", "table", "trainable", "training_cost",
]


def apply_target(config: Config, backend: str | None, model: str | None, epochs: int | str | None,
                  tokenizer: Path | None) -> tuple[Config, Target | None]:
    """Apply the catalogue entry of ``model`` on ``backend`` (exit 2 for an unknown model) and --tokenizer to a check's config."""
    from dataclasses import replace as dc_replace

    if backend == "together" and model is None:
        raise UsageError("--backend together needs --model (`dsqa models --backend together` lists them)")
    target = None
    if model is not None:
        name = backend or "openai"
        target = resolve_for(name, model)
        config = config.with_overrides(model=target.name if name == "together" else canonical(name, model), epochs=epochs)
    elif epochs is not None:
        config = config.with_overrides(epochs=epochs)
    if tokenizer is not None:
        from .tokencount import local_tokenizer  # loads the tokenizers library

        local_tokenizer(str(tokenizer))  # a missing or unreadable tokenizer stops here, before the check
        config = dc_replace(config, validators={**config.validators, "tokens": {**config.validators.get("tokens", {}), "tokenizer": str(tokenizer)}})
    return config, target
