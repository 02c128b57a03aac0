"""The rule modules, one per area."""
