"""The training-data zones and which pipeline step may read and write each: plain data, no Pulumi.

DataStorage grants the roles from these tables, the gate checks them (MLSEC-DATA-002) and the dataset
command's Spark jobs check their paths against them before submitting (scripts/dataset/submit.py, whose
staged job code carries this module, so it imports nothing).
"""

WRITES: dict[str, str] = {
    "ingestion": "quarantine",
    "validation": "raw",
    "anonymization": "anonymized",
    "curation": "curated",
    "release": "models",
}
"""The one zone each pipeline identity may write."""

READS: dict[str, str] = {"validation": "quarantine", "anonymization": "raw", "curation": "anonymized"}
"""The zone each pipeline identity reads from."""


def readable(step: str) -> tuple[str, ...]:
    """Zones a step's identity can read: the zone it reads from, then the zone it writes (Storage Blob Data
    Contributor includes reading)."""
    return (*((READS[step],) if step in READS else ()), WRITES[step])
