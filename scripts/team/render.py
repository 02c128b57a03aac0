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
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from components.config import PROJECT
from scripts.common.safeload import InputError, load_yaml
from scripts.team.errors import RefusedError
from scripts.team.registry import REGISTRY
from scripts.team.stacks import Stack
from scripts.team.yamlio import dump, load, node, quoted, write


def _same_value(old: Any, new: Any) -> bool:
    """Equal as data, a boolean never equal to a number (``True == 1`` in Python)."""
    return bool(old == new) and isinstance(old, bool) == isinstance(new, bool)


def _merge(node: Any, new: Any) -> Any:
    """``node`` changed in place to hold ``new``: mappings and lists are edited entry by entry, so the comments
    of every entry that stays stay with it; a value of another kind is replaced. Returns the node to keep."""
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        following = _take_following(node) if node and list(node)[-1] not in new else ""
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = _merge(node[key], value) if key in node else quoted(value)
        _put_following(node, following)
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        following = _take_following(node) if len(node) > len(new) else ""
        del node[len(new) :]
        for i, value in enumerate(new):
            if i < len(node):
                node[i] = _merge(node[i], value)
            else:
                node.append(quoted(value))
        _put_following(node, following)
        return node
    return node if _same_value(node, new) else quoted(new)


def _last_slot(node: Any) -> tuple[Any, Any] | None:
    """The innermost last entry of a block mapping or list (its container and key): where ruamel.yaml keeps the
    comments that follow ``node`` in the text."""
    while True:
        if isinstance(node, CommentedMap) and node:
            key: Any = list(node)[-1]
        elif isinstance(node, CommentedSeq) and node:
            key = len(node) - 1
        else:
            return None
        child = node[key]
        if not isinstance(child, CommentedMap | CommentedSeq) or not child or child.fa.flow_style():
            return node, key
        node = child


def _slot(container: Any) -> int:
    """Where a container's comment entry keeps the comment after a value: 2 for a mapping, 0 for a list."""
    return 2 if isinstance(container, CommentedMap) else 0


def _take_following(node: Any) -> str:
    """Take the comment lines that follow ``node`` in the text off it and return them ("" if none). ruamel.yaml
    keeps them on ``node``'s innermost last entry, but they belong to what comes after it (the next key); an
    end-of-line comment of that entry stays where it is."""
    slot = _last_slot(node)
    if slot is None:
        return ""
    container, key = slot
    comment = container.ca.items.get(key)
    token = comment[_slot(container)] if comment else None
    if not isinstance(token, CommentToken):
        return ""
    own, newline, following = token.value.partition("\n")
    token.value = own + newline
    return following


def _put_following(node: Any, following: str) -> None:
    """Put comment lines taken by :func:`_take_following` after ``node``'s new innermost last entry."""
    slot = _last_slot(node)
    if not following or slot is None:
        return
    container, key = slot
    comment = container.ca.items.setdefault(key, [None, None, None, None])
    token = comment[_slot(container)]
    if isinstance(token, CommentToken):
        token.value = token.value.rstrip("\n") + "\n" + following
    else:
        comment[_slot(container)] = CommentToken("\n" + following, CommentMark(0), None)


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
    following = _take_following(workspaces)
    workspaces.append(node(entry))
    _put_following(workspaces, following)
    text = write(document, yaml)
    if not _reads_as(text, target, stack.path):
        raise refusal
    return text
