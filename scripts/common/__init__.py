"""What every command shares: one entry point, its exit statuses and argument parser
(:mod:`~scripts.common.cli`), strict reading of careless or hostile input (:mod:`~scripts.common.safeload`),
the one reader of stack files (:mod:`~scripts.common.stackfile`), atomic output files
(:mod:`~scripts.common.safewrite`) and where the project lives (:mod:`~scripts.common.paths`)."""
