"""Stages 5-7: perplexity and coherence, LLM judges, and steering effectiveness (SE) with
bootstrap intervals and the knee."""
