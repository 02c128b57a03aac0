import sys

from scripts.common.cli import run
from scripts.gate.cli import main

sys.exit(run(main))
