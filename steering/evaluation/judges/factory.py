"""Build the configured judge (wrap it in `steering.evaluation.judges.cached.CachedJudge`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steering.evaluation.judges.base import Judge

BACKENDS = ("local", "openai")
# Used when a setting is absent (a notebook); the workflow passes every value from its config.
# A test checks they equal the config schema's defaults.
DEFAULTS: dict[str, Any] = {
    "dtype": "auto",
    "batch_size": 16,
    "max_text_tokens": 128,
    "api_key_env": None,
    "timeout": 60,
    "max_concurrency": 8,
    "max_retries": 5,
}


def make_judge(settings: Mapping[str, Any], device: str = "auto") -> Judge:
    """Create the judge named by ``settings["backend"]``.

    ``local``: ``settings["model"]`` loaded with :func:`steering.load_model` in
    ``settings["dtype"]`` (``"auto"``: :func:`~steering.core.models.resolve_reading_dtype`),
    read by digit probabilities. ``openai``: an OpenAI-compatible endpoint at
    ``settings["base_url"]``.
    """
    backend = settings.get("backend")
    if backend == "local":
        from steering.core.model_store import dtype_name
        from steering.core.models import (
            load_tokenizer,
            load_weights,
            resolve_reading_dtype,
        )
        from steering.evaluation.judges.local import LocalJudge

        # The judge only reads: "auto" is bf16 where the hardware runs it natively.
        dtype = resolve_reading_dtype(settings.get("dtype", DEFAULTS["dtype"]), device)

        def load() -> Any:
            return load_weights(settings["model"], dtype, device)

        # The weights load on the first text that is not in the judgment cache: a rerun whose
        # judgments are all cached (e.g. after a judge-code edit) never loads them.
        return LocalJudge(
            None,
            load_tokenizer(settings["model"]),
            model_id=settings["model"],
            batch_size=settings.get("batch_size", DEFAULTS["batch_size"]),
            max_text_tokens=settings.get("max_text_tokens", DEFAULTS["max_text_tokens"]),
            model_loader=load,
            dtype=dtype_name(dtype),
        )
    if backend == "openai":
        from steering.evaluation.judges.openai import OpenAIJudge

        return OpenAIJudge(
            settings["base_url"],
            settings["model"],
            api_key_env=settings.get("api_key_env", DEFAULTS["api_key_env"]),
            timeout=settings.get("timeout", DEFAULTS["timeout"]),
            max_concurrency=settings.get("max_concurrency", DEFAULTS["max_concurrency"]),
            max_retries=settings.get("max_retries", DEFAULTS["max_retries"]),
        )
    raise ValueError(f"Unknown judge backend {backend!r}; use one of {BACKENDS}.")
