"""Stage 8: figures and the Markdown report."""
