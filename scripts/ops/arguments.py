"""The command-line arguments the ops commands share, declared once: the stack, where its outputs are, the
cloud (and which one a stack deploys to), what a missing credential means, the project folder, and the test
seams of every ``main``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse

from components.config import PROJECT, stack_file
from scripts.common.cli import ArgumentParser, UsageError
from scripts.common.paths import ROOT
from scripts.ops.azure_mgmt import ARM_ENDPOINTS, read_stack, shown

Argv = Sequence[str] | None
"""The arguments of a command's ``main`` (None: the process's own)."""
Credential = TokenCredential | None
"""Replaces DefaultAzureCredential in a ``main`` (tests)."""
Transport = HttpTransport[HttpRequest, HttpResponse] | None
"""Replaces HTTP in a ``main`` (tests)."""

STACK_CLOUD = "stack name: its cloud is read from stacks/Pulumi.STACK.yaml"


def command_parser(name: str, doc: str | None, epilog: str, stack: str = STACK_CLOUD) -> ArgumentParser:
    """The parser of ``python -m scripts.ops.<name>``: the first line of ``doc`` as its description, the
    exit statuses as its epilog, the stack as its first argument and ``--project-dir``."""
    parser = ArgumentParser(
        prog=f"python -m scripts.ops.{name}", description=(doc or "").splitlines()[0], epilog=epilog
    )
    parser.add_argument("stack", help=stack)
    parser.add_argument("--project-dir", type=Path, default=ROOT, help="project folder (default: this repository)")
    return parser


def add_from_outputs(parser: ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--from-outputs", type=Path, metavar="FILE", required=required, help="JSON of `pulumi stack output --json`"
    )


def add_cloud(parser: ArgumentParser) -> None:
    parser.add_argument("--cloud", help=f"Azure cloud ({', '.join(ARM_ENDPOINTS)}); default: the stack file's")


def add_require_credentials(parser: ArgumentParser, *, status: int, when: str) -> None:
    parser.add_argument(
        "--require-credentials",
        action="store_true",
        help=f"exit {status} instead of skipping when no Azure credential is available (use {when} pulumi up)",
    )


def resolve_cloud(args: argparse.Namespace) -> str:
    """``--cloud``, else the stack file's ``cloud``, else AzurePublicCloud."""
    known = ", ".join(ARM_ENDPOINTS)
    if args.cloud is not None:
        if args.cloud not in ARM_ENDPOINTS:
            raise UsageError(f"--cloud: expected one of {known}, found {args.cloud!r}")
        cloud: str = args.cloud
        return cloud
    value = read_stack(args.stack, args.project_dir).settings(PROJECT).get("cloud", "AzurePublicCloud")
    if not isinstance(value, str) or value not in ARM_ENDPOINTS:
        raise UsageError(f"{stack_file(args.stack)}: {PROJECT}:cloud: expected one of {known}, found {shown(value)}")
    return value
