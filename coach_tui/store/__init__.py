"""Persistence: the client database (TinyDB), raw recordings and exports. Never imports the UI."""
