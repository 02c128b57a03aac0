"""YAML the team scaffolding writes, through ruamel.yaml's round-trip mode
(https://pypi.org/project/ruamel.yaml/): comments, key order and quoting of a file it edits are kept, and it
is written back with the file's own indentation. ruamel.yaml only ever sees text that
:mod:`scripts.common.stackfile` or :mod:`scripts.common.safeload` has already accepted (no duplicate keys, no
alias bombs, no tags that build anything but plain data).
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
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


def dump(data: Any) -> str:
    """Data as block YAML in the stack files' layout, keys in the order given."""
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def load(text: str) -> tuple[Any, YAML]:
    """The round-trip document of ``text`` (comments attached) and a writer with the indentation it uses."""
    document, sequence, offset = load_yaml_guess_indent(text)
    if sequence is None or offset is None:  # no block list to measure: the stack files' layout
        return document, _yaml()
    return document, _yaml(sequence, offset)


def write(document: Any, yaml: YAML) -> str:
    """The text of a round-trip document."""
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()
