"""Build the configured judge (wrap it in `steering.evaluation.judges.cached.CachedJudge`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steering.evaluation.judges.base import Judge

BACKENDS = ("local", "openai")


def make_judge(settings: Mapping[str, Any], device: str = "auto") -> Judge:
    """Create the judge named by ``settings["backend"]``.

    ``local``: ``settings["model"]`` loaded with :func:`steering.load_model`, read by digit
    probabilities. ``openai``: an OpenAI-compatible endpoint at ``settings["base_url"]``.
    """
    backend = settings.get("backend")
    if backend == "local":
        from steering.core.models import load_tokenizer, load_weights
        from steering.evaluation.judges.local import LocalJudge

        def load() -> Any:
            return load_weights(settings["model"], settings.get("dtype", "auto"), device)

        # The weights load on the first text that is not in the judgment cache: a rerun whose
        # judgments are all cached (e.g. after a judge-code edit) never loads them.
        return LocalJudge(
            None,
            load_tokenizer(settings["model"]),
            model_id=settings["model"],
            batch_size=settings.get("batch_size", 16),
            max_text_tokens=settings.get("max_text_tokens", 128),
            model_loader=load,
        )
    if backend == "openai":
        from steering.evaluation.judges.openai import OpenAIJudge

        return OpenAIJudge(
            settings["base_url"],
            settings["model"],
            api_key_env=settings.get("api_key_env"),
            timeout=settings.get("timeout", 60.0),
            max_concurrency=settings.get("max_concurrency", 8),
            max_retries=settings.get("max_retries", 5),
        )
    raise ValueError(f"Unknown judge backend {backend!r}; use one of {BACKENDS}.")
