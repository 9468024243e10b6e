"""The Textual console: it shows what the workflows and the store compute, nothing more."""
