"""Persistence: the client database (TinyDB), raw recordings, re-analysis of a stored set and the log file.

Everything coach-tui writes is owner-only (``private_files``). Never imports the UI."""
