"""A diagram as a graph - boxes, nested subgraphs and labelled edges - and its Mermaid text.

Knows nothing of Azure: :mod:`scripts.docs.architecture_graph` fills a :class:`Picture` from a plan, and
:func:`mermaid` writes any picture as a flowchart in a stable order (the same picture gives the same text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    """A box: ``key`` is the resource's logical name (or a stable name for what the plan does not create)."""

    key: str
    label: str
    group: str
    """The key of the subgraph that holds it."""


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Group:
    """A subgraph: a trust boundary, a VNet, a subnet, a managed network or a storage account."""

    key: str
    label: str
    parent: str | None = None
    rank: int = 0
    """Order of the top-level subgraphs: internet, VNets, managed networks, services, control plane."""


@dataclass
class Picture:
    """The platform as a graph of nodes, subgraphs and labelled edges, in a stable order."""

    groups: dict[str, Group] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)

    def group(self, key: str, label: str, parent: str | None = None, rank: int = 0) -> str:
        self.groups.setdefault(key, Group(key, label, parent, rank))
        return key

    def node(self, key: str, label: str, group: str) -> str:
        self.nodes.setdefault(key, Node(key, label, group))
        return key

    def edge(self, source: str, target: str, label: str) -> None:
        self.edges.add(Edge(source, target, label))


# ---------------------------------------------------------------------------------------------
# Mermaid
# ---------------------------------------------------------------------------------------------

_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;", "`": "#96;"}


def quote(text: str) -> str:
    """A Mermaid label in double quotes: characters Mermaid reads as syntax become entity codes."""
    flat = " ".join(text.split())
    return '"' + "".join(_ESCAPES.get(c, c) for c in flat) + '"'


class _Ids:
    """Mermaid IDs: letters, digits and underscores, unique, stable for the same keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.ids: dict[str, str] = {}
        taken: set[str] = set()
        for key in sorted(keys):
            base = "n_" + re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_").lower()
            candidate, n = base, 1
            while candidate in taken:
                n += 1
                candidate = f"{base}_{n}"
            taken.add(candidate)
            self.ids[key] = candidate

    def __getitem__(self, key: str) -> str:
        return self.ids[key]


def mermaid(drawn: Picture) -> str:
    """The picture as a Mermaid flowchart (GitHub renders a ```mermaid block)."""
    ids = _Ids([*drawn.groups, *drawn.nodes])
    children: dict[str | None, list[str]] = {}
    for group in drawn.groups.values():
        children.setdefault(group.parent, []).append(group.key)
    members: dict[str, list[Node]] = {}
    for node in drawn.nodes.values():
        members.setdefault(node.group, []).append(node)
    order = sorted(children.get(None, []), key=lambda k: (drawn.groups[k].rank, k))
    lines = ["flowchart LR"]

    def emit(key: str, depth: int) -> None:
        pad = "  " * depth
        group = drawn.groups.get(key)
        if group is None:
            return
        lines.append(f"{pad}subgraph {ids[key]}[{quote(group.label)}]")
        for child in sorted(children.get(key, [])):
            emit(child, depth + 1)
        for node in sorted(members.get(key, []), key=lambda n: n.key):
            lines.append(f"{pad}  {ids[node.key]}[{quote(node.label)}]")
        lines.append(f"{pad}end")

    for key in order:
        emit(key, 1)
    for edge in sorted(drawn.edges):
        lines.append(f"  {ids[edge.source]} -->|{quote(edge.label)}| {ids[edge.target]}")
    return "\n".join(lines) + "\n"
