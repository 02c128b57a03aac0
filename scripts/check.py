"""``python -m scripts.check``: the earlier name of the policy gate, kept so that pipelines, forks and habits that call
it keep working; it runs exactly ``python -m scripts.gate`` (``scripts/gate/cli.py``), with the same arguments and
exit statuses."""

import sys

from scripts.gate.cli import main

if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
