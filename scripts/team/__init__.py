"""A new team's stacks, made from the environment templates: ``python -m scripts.team TEAM ...``."""
