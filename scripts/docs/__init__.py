"""Generated documentation pages and their staleness checks (``--check`` exits 1 when a page is stale)."""
