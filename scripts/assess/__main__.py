"""Run the model assessment: ``python -m scripts.assess model --model m.onnx --sample spec.yaml``."""

from __future__ import annotations

import sys

from scripts.assess.cli import main
from scripts.common.cli import run

if __name__ == "__main__":
    sys.exit(run(main))
