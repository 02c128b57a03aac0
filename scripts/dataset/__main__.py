"""Entry point for ``python -m scripts.dataset``."""

import sys

from .cli import main

sys.exit(main())
