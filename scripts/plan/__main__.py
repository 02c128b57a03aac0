import sys

from scripts.common.cli import run
from scripts.plan.cli import main

sys.exit(run(main))
