"""A team's stack file and a joined stack file, keeping every comment and the key order of the file edited.

The template (or the joined stack) is loaded with its comments (:mod:`scripts.team.yamlio`), only the values
that differ are changed in place, and it is written back with the file's own indentation. A team's stack is
its template's text with the team's values; a join changes a stack file only by the workspace it appends.
Every result is read back strictly (:mod:`scripts.common.safeload`) and must equal the settings validated
before anything is written.
"""

from __future__ import annotations

import textwrap
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from components.config import PROJECT
from scripts.common.safeload import InputError, load_yaml
from scripts.team.errors import RefusedError
from scripts.team.registry import REGISTRY
from scripts.team.stacks import Stack
from scripts.team.yamlio import dump, load, write


def _same_value(old: Any, new: Any) -> bool:
    """Equal as data, a boolean never equal to a number (``True == 1`` in Python)."""
    return bool(old == new) and isinstance(old, bool) == isinstance(new, bool)


def _merge(node: Any, new: Any) -> Any:
    """``node`` changed in place to hold ``new``: mappings and lists are edited entry by entry, so the comments
    of every entry that stays stay with it; a value of another kind is replaced. Returns the node to keep."""
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = _merge(node[key], value) if key in node else value
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        del node[len(new) :]
        for i, value in enumerate(new):
            if i < len(node):
                node[i] = _merge(node[i], value)
            else:
                node.append(value)
        return node
    return node if _same_value(node, new) else new


def _reads_as(text: str, document: dict[str, Any], source: str) -> bool:
    try:
        return bool(load_yaml(text, source, "stack file") == document)
    except InputError:
        return False


def _config(stack: Stack, values: dict[str, Any]) -> dict[str, Any]:
    """The stack's ``config:`` with the project's settings of ``values`` under the keys the file uses."""
    config: dict[str, Any] = {}
    for key, value in stack.document["config"].items():
        namespace, _, name = str(key).rpartition(":")
        config[key] = values[name] if namespace in ("", PROJECT) and name in values else value
    return config


def render_team_stack(template: Stack, team: str, env: str, new_values: dict[str, Any]) -> str:
    """The new stack file: a header, then the template's text with the team's values (its comments and key
    order kept). Other top-level keys of the template (``encryptionsalt``, ``secretsprovider``) belong to the
    template's stack and are not copied."""
    target = {"config": _config(template, new_values)}
    document, yaml = load(template.text)
    text = write(_merge(document, target), yaml)
    if not _reads_as(text, target, template.path):
        raise RefusedError(f"{template.path}: cannot be copied keeping its text; write the team's stack by hand")
    cidr = new_values["network"]["addressSpace"]
    header = (
        f"# Stack of team {team} in {env}, made by `python -m scripts.team` from {template.path}.\n"
        f"# Its address space {cidr} is recorded in {REGISTRY}; see docs/new-team.md.\n"
    )
    return header + "#\n" + text


def render_join(stack: Stack, entry: dict[str, Any], new_values: dict[str, Any]) -> str:
    """``stack``'s text with ``entry`` appended to its block list of workspaces; everything else as it was."""
    target = {**stack.document, "config": _config(stack, new_values)}
    refusal = RefusedError(
        f"{stack.path}: cannot add workspace {entry['name']} without rewriting the file "
        f"(workspaces is not a plain block list); add this entry to its workspaces by hand:\n"
        + textwrap.dedent(dump([entry])).rstrip("\n")
    )
    document, yaml = load(stack.text)
    workspaces = document["config"][stack.key("workspaces")]
    if not isinstance(workspaces, CommentedSeq) or workspaces.fa.flow_style() or not workspaces:
        raise refusal
    workspaces.append(entry)
    text = write(document, yaml)
    if not _reads_as(text, target, stack.path):
        raise refusal
    return text
