"""``python -m scripts.verify_deployment``: the earlier name of the live verification, kept so that pipelines, forks
and habits that call it keep working; it runs exactly ``python -m scripts.ops.verify_deployment``
(``scripts/ops/verify_deployment.py``), with the same arguments and exit statuses."""

import sys

from scripts.ops.verify_deployment import main

if __name__ == "__main__":
    from scripts.common import cli

    sys.exit(cli.run(main))
