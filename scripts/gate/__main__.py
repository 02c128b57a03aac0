import sys

from scripts.common.cli import run
from scripts.gate.check import main

sys.exit(run(main))
