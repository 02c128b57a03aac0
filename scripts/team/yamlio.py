"""YAML the team scaffolding writes, through ruamel.yaml's round-trip mode
(https://pypi.org/project/ruamel.yaml/): comments, key order and quoting of a file it edits are kept, and it
is written back with the file's own indentation. ruamel.yaml only ever sees text that
:mod:`scripts.common.stackfile` or :mod:`scripts.common.safeload` has already accepted (no duplicate keys, no
alias bombs, no tags that build anything but plain data).
"""

from __future__ import annotations

import io
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

WIDTH = 4096
"""Never fold a long line: the files are edited by people, one setting per line."""


def _yaml(sequence: int = 4, offset: int = 2) -> YAML:
    """A round-trip reader and writer. A list item's content is indented ``sequence`` under its key and its dash
    ``offset``; mappings by the difference (the stack files' layout: 2, ``key:`` then ``  - item``)."""
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    yaml.indent(mapping=sequence - offset if sequence > offset else 2, sequence=sequence, offset=offset)
    return yaml


_STR = "tag:yaml.org,2002:str"
_RESOLVER = pyyaml.resolver.Resolver()


def _resolve(text: str) -> str:
    """The tag PyYAML gives ``text`` written as a plain scalar."""
    tag: str = _RESOLVER.resolve(pyyaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


def quoted(value: Any) -> Any:
    """``value`` with every text that a YAML 1.1 reader would take for something else written in quotes.

    ruamel.yaml writes YAML 1.2, where ``yes``, ``off`` or ``0777`` are plain text; PyYAML (and so
    :mod:`scripts.common.safeload`) reads YAML 1.1, where they are a boolean or a number. A value written for
    both is quoted, as PyYAML itself would write it."""
    if isinstance(value, dict):
        return {key: quoted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [quoted(item) for item in value]
    if isinstance(value, str) and _resolve(value) != _STR:
        return SingleQuotedScalarString(value)
    return value


def dump(data: Any) -> str:
    """Data as block YAML in the stack files' layout, keys in the order given (texts :func:`quoted`)."""
    stream = io.StringIO()
    _yaml().dump(quoted(data), stream)
    return stream.getvalue()


def load(text: str) -> tuple[Any, YAML]:
    """The round-trip document of ``text`` (comments attached, quotes kept) and a writer with the indentation
    ``text`` uses (measured by ruamel.yaml's ``load_yaml_guess_indent``)."""
    _, sequence, offset = load_yaml_guess_indent(text)
    yaml = _yaml() if sequence is None or offset is None else _yaml(sequence, offset)
    return yaml.load(text), yaml


def node(data: Any) -> Any:
    """Plain data as a round-trip node (texts :func:`quoted`), to be placed in a loaded document."""
    return _yaml().load(dump(data))


def write(document: Any, yaml: YAML) -> str:
    """The text of a round-trip document."""
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()
