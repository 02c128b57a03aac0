import sys

from scripts.common.cli import run
from scripts.team.new_team import main

sys.exit(run(main))
