"""Rule packs and project configuration: discovery, extends, merging and validation."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .model import Finding, Severity
from .targets import parse_day, parse_epochs, resolve
from .validators import Validator, all_validators

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

PROJECT_FILES = (".dsqa.yaml", ".dsqa.yml")
DEFAULT_PACK = "default"


def packs_dir() -> Path:
    """Where the bundled rule packs are: inside the wheel, or rules/ of a source checkout."""
    bundled = Path(str(files("dsqa"))) / "_rules"
    if bundled.is_dir():
        return bundled
    return Path(__file__).resolve().parent.parent / "rules"


def pack_names() -> list[str]:
    return sorted(p.stem for p in packs_dir().glob("*.yaml"))


@lru_cache(maxsize=1)
def _config_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = json.loads((files("dsqa") / "schemas" / "config.schema.json").read_text("utf-8"))
    return Draft202012Validator(schema)


@dataclass
class Config:
    """The effective configuration of a run: one rule pack plus project settings and flags."""

    fail_on: str = "error"
    data_format: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    validators: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    registry: dict[str, type[Validator]] = field(default_factory=dict)
    #: target model (None: the tokens validator's default), epochs (int or "auto"), reference day
    model: str | None = None
    epochs: int | str | None = None
    reference_date: str | None = None
    #: validation files named by the config (``validation:``), used when no --validation is given
    validation: tuple[str, ...] = ()

    def enabled(self, name: str) -> bool:
        return bool(self.validators.get(name, {}).get("enabled", True))

    def options(self, name: str) -> dict[str, Any]:
        opts = dict(self.validators.get(name, {}))
        opts.pop("enabled", None)
        cls = self.registry.get(name)
        return {**(cls.defaults if cls else {}), **opts}

    def reports(self, code: str) -> bool:
        """Whether findings of ``code`` reach the report (selected and not ignored)."""
        if self.select and not code.startswith(self.select):
            return False
        return not (self.ignore and code.startswith(self.ignore))

    def reported_codes(self) -> frozenset[str]:
        """Every code of the enabled validators that this run reports."""
        return frozenset(
            code for name, cls in self.registry.items() if self.enabled(name) for code in cls.codes if self.reports(code)
        )

    def apply(self, finding: Finding) -> Finding | None:
        """Apply select, ignore and severity overrides; None means the finding is dropped."""
        code = finding.code
        if not self.reports(code):
            return None
        sev = self.severity.get(code)
        if sev is not None and sev != finding.severity:
            return replace(finding, severity=sev)
        return finding

    def with_overrides(
        self,
        *,
        fail_on: str | None = None,
        data_format: str | None = None,
        select: tuple[str, ...] | None = None,
        ignore: tuple[str, ...] | None = None,
        model: str | None = None,
        epochs: int | str | None = None,
        reference_date: str | None = None,
    ) -> Config:
        """Return a copy with command-line flags applied (flags win over files)."""
        cfg = replace(self)
        if model is not None:
            resolve(model)  # an unknown model stops the run here (exit 2)
            cfg.model = model
        if epochs is not None:
            cfg.epochs = parse_epochs(epochs)
        if reference_date is not None:
            cfg.reference_date = parse_day(reference_date).isoformat()
        if fail_on is not None:
            cfg.fail_on = fail_on
        if data_format is not None:
            cfg.data_format = None if data_format == "auto" else data_format
        if select:
            _check_prefixes(list(select), "--select", self.registry)
            cfg.select = tuple(select)
        if ignore:
            _check_prefixes(list(ignore), "--ignore", self.registry)
            cfg.ignore = cfg.ignore + tuple(ignore)
        return cfg


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config is not valid UTF-8: {exc.reason}") from None
    if path.name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        section = data.get("tool", {}).get("dsqa")
        if section is None:
            raise ConfigError(f"{path}: has no [tool.dsqa] table")
        return _validate(section, path, "tool.dsqa")
    import yaml  # only when a YAML file is read: `dsqa --help` and `dsqa rules` do without it

    try:
        data = yaml.safe_load(text)
    except ValueError as exc:  # PyYAML raises it for impossible dates such as 2026-13-01
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        data = {}
    return _validate(data, path, "")


def _validate(data: Any, path: Path, prefix: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: config must be a mapping of keys, got {type(data).__name__}")
    if isinstance(data.get("reference_date"), date):  # YAML reads an unquoted 2026-11-01 as a date
        data = {**data, "reference_date": data["reference_date"].isoformat()}
    errors = sorted(_config_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return data
    err = errors[0]
    parts = [prefix] if prefix else []
    parts += [str(p) for p in err.absolute_path]
    if err.validator == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        raise ConfigError(f"{path}: unknown key '{'.'.join([*parts, extra[0]])}'")
    raise ConfigError(f"{path}: {'.'.join(parts) or 'config'}: {err.message}")


def _resolve_pack(ref: str, base: Path | None) -> Path:
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml", ".toml") or "/" in ref or "\\" in ref:
        if not candidate.is_absolute() and base is not None:
            candidate = base / candidate
        if not candidate.is_file():
            raise ConfigError(f"rule pack {ref!r} not found ({candidate})")
        return candidate
    bundled = packs_dir() / f"{ref}.yaml"
    if bundled.is_file():
        return bundled
    raise ConfigError(f"unknown rule pack {ref!r} (available: {', '.join(pack_names())})")


def _load_chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], tuple[str, ...]]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise ConfigError(f"{path}: 'extends' loops: {chain}")
    data = _read_file(path)
    parent_ref = data.get("extends")
    if parent_ref is None:
        return data, (str(path),)
    parent, sources = _load_chain(_resolve_pack(parent_ref, path.parent), (*seen, resolved))
    return _merge(parent, data), (*sources, str(path))


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key == "extends":
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def discover(start: Path) -> Path | None:
    """Find the nearest .dsqa.yaml or pyproject.toml with [tool.dsqa], from ``start`` upwards."""
    start = start.resolve()
    for directory in (start, *start.parents):
        for name in PROJECT_FILES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if "dsqa" in data.get("tool", {}):
                return pyproject
    return None


def _check_prefixes(prefixes: list[str], where: str, registry: Mapping[str, type[Validator]]) -> None:
    codes = [code for cls in registry.values() for code in cls.codes]
    for prefix in prefixes:
        if not any(code.startswith(prefix) for code in codes):
            raise ConfigError(f"{where}: {prefix!r} matches no known finding code")


def _check_options(origin: str, validators: dict[str, Any], registry: dict[str, type[Validator]]) -> None:
    """Each ``validators.NAME`` table names a known validator and fits its options schema."""
    from jsonschema import Draft202012Validator

    for name, table in validators.items():
        cls = registry.get(name)
        if cls is None:
            raise ConfigError(f"{origin}: unknown validator 'validators.{name}' (known: {', '.join(sorted(registry))})")
        opts = {k: v for k, v in table.items() if k != "enabled"}
        schema = {**cls.options_schema, "additionalProperties": False}
        errors = sorted(Draft202012Validator(schema).iter_errors(opts), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            err = errors[0]
            if err.validator == "additionalProperties":
                extra = sorted(k for k in err.instance if k not in err.schema.get("properties", {}))
                raise ConfigError(f"{origin}: unknown option 'validators.{name}.{extra[0]}'")
            where = ".".join(["validators", name, *map(str, err.absolute_path)])
            raise ConfigError(f"{origin}: {where}: {err.message}")


def _severities(origin: str, data: dict[str, Any], registry: dict[str, type[Validator]]) -> dict[str, Severity]:
    known = {code for cls in registry.values() for code in cls.codes}
    severity = {}
    for code, level in data.get("severity", {}).items():
        if code not in known:
            raise ConfigError(f"{origin}: severity: unknown code '{code}'")
        severity[code] = Severity.parse(level)
    return severity


def _target(origin: str, data: dict[str, Any]) -> dict[str, Any]:
    """The model, epochs and reference day the config sets, checked."""
    target: dict[str, Any] = {}
    try:
        if "model" in data:
            resolve(data["model"])
            target["model"] = data["model"]
        if "epochs" in data:
            target["epochs"] = parse_epochs(data["epochs"])
        if "reference_date" in data:
            target["reference_date"] = parse_day(data["reference_date"]).isoformat()
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    return target


def _build(data: dict[str, Any], sources: tuple[str, ...], registry: dict[str, type[Validator]]) -> Config:
    origin = sources[-1] if sources else "config"
    validators = _with_identity(data)
    _check_options(origin, validators, registry)
    severity = _severities(origin, data, registry)
    for key in ("select", "ignore"):
        _check_prefixes(list(data.get(key, [])), f"{origin}: {key}", registry)
    fmt = data.get("format", "auto")
    return Config(
        **_target(origin, data),
        fail_on=data.get("fail_on", "error"),
        data_format=None if fmt == "auto" else fmt,
        select=tuple(data.get("select", [])),
        ignore=tuple(data.get("ignore", [])),
        severity=severity,
        validators={k: dict(v) for k, v in validators.items()},
        sources=sources,
        registry=registry,
        validation=_validation_files(data.get("validation"), sources),
    )


def _with_identity(data: dict[str, Any]) -> dict[str, Any]:
    """The pack's validator tables, with a top-level ``identity: {name, maker}`` handed to the
    conversation validator (DLG007) unless its own ``identity`` option is set."""
    validators = data.get("validators", {})
    if not data.get("identity"):
        return validators
    conversation = dict(validators.get("conversation", {}))
    conversation.setdefault("identity", data["identity"])
    return {**validators, "conversation": conversation}


def _validation_files(value: str | list[str] | None, sources: tuple[str, ...]) -> tuple[str, ...]:
    """The config's validation files, relative paths taken from the config file's directory."""
    if not value:
        return ()
    base = Path(sources[-1]).parent if sources else Path()
    out = []
    for name in [value] if isinstance(value, str) else value:
        path = Path(name)
        if not path.is_absolute():
            path = base / path
            try:
                path = path.resolve().relative_to(Path.cwd().resolve())
            except ValueError:
                pass  # outside the working directory: keep the path as found
        out.append(str(path))
    return tuple(out)


def load_config(rules: str | Path | None = None, start: Path | None = None) -> Config:
    """Load the effective configuration.

    ``rules`` names a bundled pack or a pack file and replaces any project configuration;
    otherwise the nearest project configuration from ``start`` (default: the working
    directory) is used, and the ``default`` pack when there is none.
    """
    registry = all_validators()
    if rules is not None:
        path = _resolve_pack(str(rules), Path.cwd())
    else:
        path = discover(start or Path.cwd()) or _resolve_pack(DEFAULT_PACK, None)
    data, sources = _load_chain(path)
    return _build(data, sources, registry)


__all__ = ["Config", "discover", "load_config", "pack_names", "packs_dir"]
