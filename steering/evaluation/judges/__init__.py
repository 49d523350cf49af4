"""LLM judges that rate how much texts express a concept."""
