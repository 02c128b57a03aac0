"""Dataset tooling for the data zones: scan for personal data, anonymize, publish immutably, verify."""
