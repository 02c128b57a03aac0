"""Reading a stack's config and validating it, with messages that name the stack file and the key, say what
was expected and what was found, and suggest the nearest valid key."""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from dataclasses import fields, is_dataclass
from typing import Annotated, Any, Literal, Union

import pulumi
from pydantic import TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from components.config.primitives import _PATTERN_TEXT, PROJECT, ConfigError, _FieldError
from components.config.settings import Settings

_ADAPTER = TypeAdapter(Settings)


def stack_file(stack: str) -> str:
    """The stack file a user edits for ``stack`` (Pulumi.yaml sets ``stackConfigDir: stacks``)."""
    return f"stacks/Pulumi.{stack}.yaml"


def top_level_keys() -> dict[str, Any]:
    """Config key -> annotation of every top-level setting."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    return {to_camel(f.name): hints[f.name] for f in fields(Settings)}


def _is_text(annotation: Any) -> bool:
    """True if a top-level setting is a plain string, so its raw config value is not JSON."""
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation
    if base is str:
        return True
    return typing.get_origin(base) is Literal and all(isinstance(a, str) for a in typing.get_args(base))


def raw_config(config: pulumi.Config) -> tuple[dict[str, Any], list[str]]:
    """Read every key of the project namespace; return (values, unknown keys)."""
    prefix = f"{PROJECT}:"
    keys = top_level_keys()
    present = {
        k[len(prefix) :]
        for k in [*pulumi.runtime.config.CONFIG.get().keys(), *pulumi.runtime.config.get_config_env().keys()]
        if k.startswith(prefix)
    }
    unknown = sorted(present - keys.keys())
    values: dict[str, Any] = {}
    for key, annotation in keys.items():
        raw = config.get(key)
        if raw is None:
            continue
        if _is_text(annotation):
            values[key] = raw
        else:
            try:
                values[key] = json.loads(raw)
            except json.JSONDecodeError:
                values[key] = raw
    return values, unknown


def validate(values: dict[str, Any], stack: str, unknown: list[str] | None = None) -> Settings:
    """Validate raw config values; raise :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    for key in unknown or []:
        problems.append(_unknown_key_message((key,), sorted(top_level_keys())))
    try:
        settings = _ADAPTER.validate_python(values)
    except ValidationError as exc:
        problems.extend(_describe(err) for err in exc.errors(include_url=False))
        settings = None
    if problems:
        header = f"{stack_file(stack)}: invalid configuration"
        raise ConfigError("\n".join([header, *(f"  {PROJECT}:{p}" for p in problems)]))
    assert settings is not None
    return settings


def load(config: pulumi.Config | None = None, stack: str | None = None) -> Settings:
    """Build :class:`Settings` from the current stack's Pulumi config."""
    stack = stack or pulumi.get_stack()
    values, unknown = raw_config(config or pulumi.Config(PROJECT))
    return validate(values, stack, unknown)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _describe(err: Any) -> str:
    loc: tuple[int | str, ...] = tuple(p for p in err["loc"] if not _is_type_tag(p))
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, _FieldError):
        full = _path(loc + tuple(_split_key(cause.key)))
        return f"{full}: {cause.expected}, found {_show(cause.found)}{cause.hint}"
    kind = err["type"]
    if kind in {"extra_forbidden", "unexpected_keyword_argument"}:
        return _unknown_key_message(loc, _valid_keys(loc[:-1]))
    if kind == "missing":
        return f"{_path(loc)}: required key is missing"
    found = _show(err.get("input"))
    return f"{_path(loc)}: {_expected(kind, err['msg'], ctx)}, found {found}"


def _is_type_tag(part: int | str) -> bool:
    # pydantic may insert the name of a wrapping validator into a loc; a user's key never looks like one
    return isinstance(part, str) and (
        part == "[key]" or part.startswith(("function-before[", "function-after[", "function-wrap["))
    )


def _split_key(key: str) -> list[int | str]:
    parts: list[int | str] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return parts


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(kind: str, msg: str, ctx: dict[str, Any]) -> str:
    if kind == "string_pattern_mismatch":
        return "expected " + _PATTERN_TEXT.get(ctx["pattern"], f"text matching {ctx['pattern']}")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        bound = ctx.get("ge", ctx.get("le", ctx.get("gt", ctx.get("lt"))))
        word = {"greater_than_equal": "at least", "less_than_equal": "at most"}.get(kind, kind)
        return f"expected a value {word} {bound}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}"
    if kind.startswith(("int_", "bool_", "string_type", "list_type", "dict_type", "dataclass_type")):
        return (
            "expected "
            + {
                "int": "a whole number",
                "boo": "true or false",
                "str": "text",
                "lis": "a list",
                "dic": "a mapping",
                "dat": "a mapping",
            }[kind[:3]]
        )
    if kind in {"too_short", "too_long"}:
        return f"expected {msg[0].lower()}{msg[1:]}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return f"expected {msg[0].lower()}{msg[1:]}"


def _unknown_key_message(loc: tuple[int | str, ...], valid: list[str]) -> str:
    key = str(loc[-1])
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else f"; valid keys here: {', '.join(valid)}"
    return f"{_path(loc)}: unknown key{hint}"


def _valid_keys(loc: tuple[int | str, ...]) -> list[str]:
    """Config keys accepted at ``loc`` (the camelCase field names of the dataclass there)."""
    current: Any = Settings
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else Any
            continue
        if is_dataclass(current):
            hints = typing.get_type_hints(current, include_extras=True)
            match = [f.name for f in fields(current) if to_camel(f.name) == part]
            current = hints[match[0]] if match else Any
        else:
            args = typing.get_args(current)
            current = args[-1] if args else Any
    current = _unwrap(current)
    return sorted(to_camel(f.name) for f in fields(current)) if is_dataclass(current) else []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation
