"""``python -m scripts.new_team``: the earlier name of new-team scaffolding, kept so that pipelines, forks and habits
that call it keep working; it runs exactly ``python -m scripts.team`` (``scripts/team/new_team.py``), with the same
arguments and exit statuses."""

import sys

from scripts.team.new_team import main

if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
