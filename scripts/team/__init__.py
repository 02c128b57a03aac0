"""A new team's stacks, made from the environment templates: ``python -m scripts.team TEAM ...``.

- :mod:`scripts.team.new_team`: the command (arguments, a new team's own stacks, ``--join``);
- :mod:`scripts.team.registry`: the address registry and allocating a range from its pools;
- :mod:`scripts.team.stacks`: the stack files as the tool reads them, template checks, ranges in use;
- :mod:`scripts.team.scaffold`: one team stack worked out before anything is written;
- :mod:`scripts.team.render` and :mod:`scripts.team.yamlio`: the files written, comments and key order kept;
- :mod:`scripts.team.writer`: the project lock and the all-or-nothing writer;
- :mod:`scripts.team.errors`: what stops a run, by exit status.
"""
