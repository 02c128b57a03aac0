"""Run ``python -m scripts.dataset`` with a barrier in front of the manifest upload.

Usage: ``python tests/dataset/publish_racer.py BARRIER_DIR PARTIES ARGS...``. Every process started this way
waits before its first upload until PARTIES processes have passed their checks, and again at the commit point
until all have uploaded their data, so their conditional manifest creates meet at the storage service at the
same moment. Nothing else is changed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from azure.storage.blob import BlobClient  # noqa: E402

from scripts.common.cli import run  # noqa: E402
from scripts.dataset.cli import main  # noqa: E402

BARRIER_TIMEOUT = 90.0


def _barrier(folder: Path, parties: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while len(list(folder.iterdir())) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError("the other publisher never reached the commit point")
        time.sleep(0.005)


def _install(folder: Path, parties: int) -> None:
    original = BlobClient.upload_blob

    def upload_blob(self: BlobClient, *args: Any, **kwargs: Any) -> Any:
        stage = "commit" if self.blob_name.endswith("/manifest.yaml") else "upload"
        if not (folder / stage / str(os.getpid())).exists():
            _barrier(folder / stage, parties)
        return original(self, *args, **kwargs)

    BlobClient.upload_blob = upload_blob  # type: ignore[method-assign]


if __name__ == "__main__":
    _install(Path(sys.argv[1]), int(sys.argv[2]))
    sys.exit(run(main, sys.argv[3:]))
