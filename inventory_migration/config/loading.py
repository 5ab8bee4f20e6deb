"""Reading environment files: TOML into the frozen dataclasses, every problem reported at once."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from inventory_migration.config.base import CONFIG_DIR, DEFAULT_ENVIRONMENT, ENV_VAR, ConfigError, Problem
from inventory_migration.config.environment import MigrationConfig

T = TypeVar("T")


def _describe(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if typing.get_origin(tp) is tuple:
        return "a list of " + _describe(typing.get_args(tp)[0])
    if typing.get_origin(tp) is Mapping:
        return "a table of strings"
    return {str: "a string", int: "an integer", bool: "true or false", float: "a number"}.get(tp, str(tp))


def _convert(tp: Any, value: Any, path: str, problems: list[Problem]) -> Any:
    """Convert one TOML value to ``tp``; on failure record a problem and return ``_INVALID``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, path, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(Problem(path, value, "must be a table"))
            return _INVALID
        return _build(typing.cast(type, tp), value, path, problems)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            problems.append(Problem(path, value, f"allowed: {', '.join(repr(m.value) for m in tp)}"))
            return _INVALID
    if origin is tuple:
        (item_type, _) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(Problem(path, value, f"must be {_describe(tp)}"))
            return _INVALID
        items = [_convert(item_type, v, path, problems) for v in value]
        return _INVALID if _INVALID in items else tuple(items)
    if origin is Mapping:
        if not isinstance(value, dict):
            problems.append(Problem(path, value, "must be a table of name = value"))
            return _INVALID
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                out[k] = "1" if v else "0"
            elif isinstance(v, (str, int, float)):
                out[k] = str(v)
            else:
                problems.append(Problem(f"{path}.{k}", v, "must be a string or number"))
        return types.MappingProxyType(out)
    ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        problems.append(Problem(path, value, f"must be {_describe(tp)}"))
        return _INVALID
    return value


_INVALID = object()


REMOVED_KEYS: Mapping[str, str] = {
    "source.host": "removed: the DMS endpoints take the source's host from their secret (docs/network.md), the one place it "
    "is set; delete the key",
}
"""Keys an earlier release read, with what to do instead (a file that still has one gets this, not "unknown key")."""


def _build(cls: type[T], data: Mapping[str, Any], prefix: str, problems: list[Problem]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if path in REMOVED_KEYS:
            problems.append(Problem(path, value, REMOVED_KEYS[path]))
            continue
        if key not in fields:
            problems.append(Problem(path, value, f"unknown key; allowed keys: {', '.join(sorted(fields))}"))
            continue
        converted = _convert(hints[key], value, path, problems)
        if converted is not _INVALID:
            kwargs[key] = converted
    try:
        return cls(**kwargs)
    except ConfigError as err:
        problems.extend(p.within(prefix) if prefix else p for p in err.problems)
        return _INVALID


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>", config_dir: str = "") -> MigrationConfig:
    """Build a :class:`MigrationConfig` from parsed TOML, raising one :class:`ConfigError` for all problems."""
    problems: list[Problem] = []
    hints = typing.get_type_hints(MigrationConfig)
    sections: dict[str, Any] = {}
    scalars: dict[str, Any] = {}
    allowed = {f.name for f in dataclasses.fields(MigrationConfig) if not f.metadata.get("internal")}
    for key, value in data.items():
        if key not in allowed:
            problems.append(Problem(key, value, f"unknown key; allowed keys: {', '.join(sorted(allowed))}"))
        elif dataclasses.is_dataclass(hints[key]):
            built = _convert(hints[key], value, key, problems)
            if built is not _INVALID:
                sections[key] = built
        else:
            converted = _convert(hints[key], value, key, problems)
            if converted is not _INVALID:
                scalars[key] = converted
    sections_ok = not problems
    try:
        config = MigrationConfig(**scalars, **sections, config_dir=config_dir)
    except ConfigError as err:
        problems.extend(err.problems)
        config = None
    if problems or config is None or not sections_ok:
        raise ConfigError(problems, source=source)
    return config


def available_environments(config_dir: Path = CONFIG_DIR) -> list[str]:
    """Environment names that have a file in ``config_dir``."""
    return sorted(p.stem for p in config_dir.glob("*.toml"))


def load_config(
    environment: str | None = None,
    *,
    config_dir: Path = CONFIG_DIR,
    environ: Mapping[str, str] | None = None,
) -> MigrationConfig:
    """Load ``config/<environment>.toml``; the environment defaults to ``MIGRATION_ENV``, then ``dev``.

    ``dev`` works even without its file: every default is the dev value.
    """
    env = os.environ if environ is None else environ
    name = environment or env.get(ENV_VAR) or DEFAULT_ENVIRONMENT
    path = config_dir / f"{name}.toml"
    if not path.is_file():
        if name == DEFAULT_ENVIRONMENT:
            return config_from_mapping({}, source="<embedded dev defaults>", config_dir=str(config_dir))
        known = ", ".join(available_environments(config_dir)) or "none"
        raise ConfigError([Problem(ENV_VAR, name, f"no file {path}; environments available: {known}")], source=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([Problem("", path.name, f"not valid TOML: {err}")], source=str(path)) from err
    if data.get("environment", name) != name:
        raise ConfigError([Problem("environment", data["environment"], f"must match the file name {name!r}")], source=str(path))
    data.setdefault("environment", name)
    return config_from_mapping(data, source=str(path), config_dir=str(config_dir))
