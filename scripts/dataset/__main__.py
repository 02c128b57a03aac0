"""Entry point for ``python -m scripts.dataset``: exit statuses as for every command (scripts/common/cli.py)."""

import sys

from scripts.common.cli import run

from .cli import main

sys.exit(run(main))
