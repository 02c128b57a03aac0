"""Policy as code for the secure ML platform: one rule catalog for CrossGuard and the offline gate."""
