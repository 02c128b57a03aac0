"""Where the project lives: the checkout every command reads its stack files, policies and docs from."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project root: the folder that holds Pulumi.yaml, __main__.py, stacks/, policies/ and scripts/."""
