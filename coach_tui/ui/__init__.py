"""The Textual console: it shows what ``live_console`` and the store compute, nothing more."""
