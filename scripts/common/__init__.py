"""What every command shares: one entry point and its exit statuses (:mod:`~scripts.common.cli`), strict
reading of careless or hostile input (:mod:`~scripts.common.safeload`), atomic output files
(:mod:`~scripts.common.safewrite`) and where the project lives (:mod:`~scripts.common.paths`)."""
