"""``python -m scripts.kill_switch``: the earlier name of the kill switch, kept so that pipelines, forks and habits
that call it keep working; it runs exactly ``python -m scripts.ops.kill_switch`` (``scripts/ops/kill_switch.py``),
with the same arguments and exit statuses."""

import sys

from scripts.ops.kill_switch import main

if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
