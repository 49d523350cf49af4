"""Judge that runs a local Hugging Face causal LM and reads its digit probabilities.

For every text the judge builds one prompt and reads, in a single forward pass, the next-token
probabilities of the ten digit tokens ``0``-``9``. The score is their expectation
``sum(p_d * d) / sum(p_d)`` (G-Eval style), mapped from 0-9 to 0-10 with
:func:`steering.evaluation.judges.base.to_ten_scale`. Nothing is sampled or parsed.

The prompts are built by :mod:`steering.evaluation.judges.local_prompt`.

Prefix KV cache: the instruction and the few-shot examples are identical for every text of a
rubric, so :meth:`LocalJudge.score` runs them once (per rubric; the last few rubrics are kept)
and, for each batch, runs only the text suffixes against a copy of that cache; the mechanics,
and when a cache is not reused, are in :mod:`steering.evaluation.judges.prefix_cache`.
:meth:`score_full_prompt` is the cache-free reference (one text per forward pass) and gives the
same scores up to float rounding.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from steering.evaluation.judges.base import PROMPT_FORMAT, Rubric, expected_digit, to_ten_scale
from steering.evaluation.judges.digit_head import digit_logits
from steering.evaluation.judges.local_prompt import LOCAL_PROMPT_VERSION, Layout, PromptBuilder
from steering.evaluation.judges.prefix_cache import (
    expanded_cache,
    only_positions,
    suffix_batch,
    unsupported_cache_reason,
)

__all__ = ["LOCAL_PROMPT_VERSION", "LocalJudge"]

logger = logging.getLogger(__name__)

SCORE_DECIMALS = 6


class LocalJudge:
    """Rate texts with a local causal LM by reading the probabilities of the digits 0-9.

    Args:
        model: A Hugging Face causal LM (eval mode, any device/dtype), or ``None`` with
            ``model_loader``.
        tokenizer: Its tokenizer (fast tokenizers preferred).
        model_id: Stable model name used in :attr:`judge_id`, e.g. ``"gemma-3-270m"``.
        batch_size: Texts per forward pass in :meth:`score`.
        use_chat_template: ``True``/``False`` forces the chat/plain layout; ``None`` uses the
            chat template iff ``tokenizer.chat_template`` is set. Base models (no template) need
            the plain few-shot layout: with a template the judge is only as good as the model's
            instruction tuning.
        max_text_tokens: Texts longer than this many tokens are cut to their first
            ``max_text_tokens`` tokens before rating.
        max_cached_prefixes: How many rubrics' prefix caches are kept (least recently used out).
        model_loader: Called once, on the first text to score, when ``model`` is ``None``: a
            judge whose every text is already in a judgment cache never loads its model.
        dtype: The dtype ``model_loader`` loads in (``"bfloat16"``...); with a model, its own.
            Part of :attr:`judge_id`, so a judgment cache never mixes dtypes.

    Attributes:
        judge_id: ``"local:<model_id>:<plain|chat>-<LOCAL_PROMPT_VERSION>:<PROMPT_FORMAT>``
            ``:t<max>:<dtype>"``.
        forward_calls: Model forward passes run so far (prefixes, batches and full prompts).
        prefix_computations: Of those, forward passes that built a prefix cache.
        texts_scored: Texts scored so far (by :meth:`score` and :meth:`score_full_prompt`).
        prefix_caching: ``False`` once the judge found the model's cache cannot be reused
            exactly (it then scores full prompts and has logged a warning).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        model_id: str,
        batch_size: int = 16,
        use_chat_template: bool | None = None,
        max_text_tokens: int = 128,
        max_cached_prefixes: int = 8,
        model_loader: Callable[[], Any] | None = None,
        dtype: str | None = None,
    ) -> None:
        if (model is None) == (model_loader is None):
            raise ValueError("give either a model or a model_loader (called on first use)")
        if model is not None:
            dtype = str(model.dtype).removeprefix("torch.")
        if not dtype:
            raise ValueError("a judge with a model_loader needs the dtype it loads, e.g. 'float32'")
        if not model_id or not model_id.strip():
            raise ValueError("model_id must be a non-empty name, e.g. 'gemma-3-270m'")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_text_tokens < 1:
            raise ValueError(f"max_text_tokens must be >= 1, got {max_text_tokens}")
        if max_cached_prefixes < 1:
            raise ValueError(f"max_cached_prefixes must be >= 1, got {max_cached_prefixes}")
        self._model = model
        self._model_loader = model_loader
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.batch_size = batch_size
        self.prompts = PromptBuilder(
            tokenizer,
            model_id=model_id,
            use_chat_template=use_chat_template,
            max_text_tokens=max_text_tokens,
            max_cached_prefixes=max_cached_prefixes,
        )
        self.max_text_tokens = max_text_tokens
        self.use_chat_template = self.prompts.use_chat_template
        self.judge_id = (
            f"local:{model_id}:{self.prompts.mode}-{LOCAL_PROMPT_VERSION}:{PROMPT_FORMAT}"
            f":t{max_text_tokens}:{dtype}"
        )
        self.dtype = dtype
        self.forward_calls = 0
        self.prefix_computations = 0
        self.texts_scored = 0
        self.prefix_caching = True
        if model is not None:
            self._inspect_forward(model)

    @property
    def model(self) -> Any:
        """The judge model; loaded by ``model_loader`` on first use when not given."""
        if self._model is None:
            assert self._model_loader is not None
            logger.info(
                "LocalJudge(%s): loading the model for the first text to score", self.model_id
            )
            model = self._model_loader()
            self._inspect_forward(model)
            self._model = model
        return self._model

    @property
    def model_loaded(self) -> bool:
        """Whether the model is in memory (``False`` while a lazy judge has scored nothing)."""
        return self._model is not None

    def _inspect_forward(self, model: Any) -> None:
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        self._supports_logits_to_keep = "logits_to_keep" in params
        if self._cache_kwarg not in params and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
        ):
            self._disable_prefix_caching("its forward() takes no cache argument")

    # ---------------------------------------------------------------------------- public API

    def reset_counters(self) -> None:
        """Set :attr:`forward_calls`, :attr:`prefix_computations` and :attr:`texts_scored` to 0."""
        self.forward_calls = self.prefix_computations = self.texts_scored = 0

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        """Return one 0-10 score per text, in input order, using the prefix KV cache.

        Args:
            texts: Texts to rate (whitespace-normalised, cut to ``max_text_tokens`` tokens).
            rubric: The rubric, with its few-shot examples.

        Returns:
            Expected digit under the model, mapped to 0-10, one per text.
        """
        scores: list[float] = [0.0] * len(texts)
        for index, value in self.iter_scores(texts, rubric):
            scores[index] = value
        return scores

    def iter_scores(self, texts: Sequence[str], rubric: Rubric) -> Iterator[tuple[int, float]]:
        """Yield ``(index, score)`` pairs batch by batch (see :meth:`score`)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single string")
        if not texts:
            return
        self.model  # noqa: B018 -- load a lazy model first: it decides prefix_caching
        layout = self.prompts.layout(rubric)
        suffixes = [self.prompts.suffix_ids(layout, text) for text in texts]
        if not self.prefix_caching or not layout.prefix_ids:
            for index, suffix in enumerate(suffixes):
                yield index, self._score_ids(layout.prefix_ids + suffix, layout.digit_ids)
            return
        kv = self._prefix_kv(layout)
        if kv is None:  # caching was just found unsupported
            for index, suffix in enumerate(suffixes):
                yield index, self._score_ids(layout.prefix_ids + suffix, layout.digit_ids)
            return
        # Longest first: similar lengths share a batch, so little padding is computed.
        order = sorted(range(len(texts)), key=lambda i: -len(suffixes[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch_scores = self._score_batch(layout, kv, [suffixes[i] for i in chunk])
            yield from zip(chunk, batch_scores, strict=True)

    def score_full_prompt(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        """Reference scorer: one full prompt per forward pass, no cache, no padding.

        Uses exactly the same token ids as :meth:`score`; slower, for tests and benchmarks.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single string")
        layout = self.prompts.layout(rubric)
        return [
            self._score_ids(
                layout.prefix_ids + self.prompts.suffix_ids(layout, text), layout.digit_ids
            )
            for text in texts
        ]

    def prompt(self, text: str, rubric: Rubric) -> str:
        """Return the full prompt string for ``text`` (after normalisation and truncation)."""
        return self.prompts.prompt(text, rubric)

    # ---------------------------------------------------------------------------- model work

    @property
    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _forward(self, **kwargs: Any) -> Any:
        self.forward_calls += 1
        with torch.inference_mode():
            return self.model(**kwargs)

    def _to_score(self, digit_logits: torch.Tensor) -> list[float]:
        # Rounded to 1e-6: batch composition moves the last float bits (~1e-8), and which
        # texts share a batch depends on what the judgment cache already holds; rounding makes
        # a score independent of that, so reruns are reproducible.
        probs = torch.softmax(digit_logits.float(), dim=-1).cpu().tolist()
        return [
            round(to_ten_scale(expected_digit(dict(enumerate(row)))), SCORE_DECIMALS)
            for row in probs
        ]

    def _score_ids(self, ids: list[int], digit_ids: list[int]) -> float:
        input_ids = torch.tensor([ids], device=self._device)
        kwargs: dict[str, Any] = {"input_ids": input_ids, "use_cache": False}
        if self._supports_logits_to_keep:
            kwargs["logits_to_keep"] = 1
        with digit_logits(self.model, digit_ids) as digits:
            logits = digits(self._forward(**kwargs).logits[0, -1])
        self.texts_scored += 1
        return self._to_score(logits[None])[0]

    def _disable_prefix_caching(self, reason: str) -> None:
        if self.prefix_caching:
            logger.warning(
                "LocalJudge(%s): prefix KV caching cannot be made exact for %s (%s); scoring "
                "full prompts instead (slower, same scores).",
                self.model_id,
                type(self.model).__name__,
                reason,
            )
        self.prefix_caching = False

    def _prefix_kv(self, layout: Layout) -> Any:
        if layout.kv is not None:
            return layout.kv
        input_ids = torch.tensor([layout.prefix_ids], device=self._device)
        kwargs: dict[str, Any] = {"input_ids": input_ids, "use_cache": True}
        if self._supports_logits_to_keep:
            kwargs["logits_to_keep"] = 1
        out = self._forward(**kwargs)
        self.prefix_computations += 1
        kv = getattr(out, "cache", None)
        if kv is None:
            kv = getattr(out, "past_key_values", None)
        reason = unsupported_cache_reason(kv, len(layout.prefix_ids))
        if reason is not None:
            self._disable_prefix_caching(reason)
            return None
        layout.kv = kv
        return kv

    def _score_batch(self, layout: Layout, kv: Any, suffixes: list[list[int]]) -> list[float]:
        device = self._device
        batch, prefix_len = len(suffixes), len(layout.prefix_ids)
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:
            pad_id = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else 0
        input_ids, mask, positions, last = suffix_batch(suffixes, prefix_len, pad_id)
        cache = expanded_cache(kv, batch)
        kwargs: dict[str, Any] = {
            "input_ids": input_ids.to(device),
            "attention_mask": mask.to(device),
            "position_ids": positions.to(device),
            self._cache_kwarg: cache,
            "use_cache": True,
        }
        head = self.model.get_output_embeddings()
        if head is not None:
            # The output layer sees only each row's last real position: one row of logits per
            # text instead of width x vocabulary. (A 2-D ``logits_to_keep`` does the same only
            # in newer transformers 5.x; older ones index it as a 1-D list of positions and
            # return batch x batch rows, which failed on CUDA with a device-side assert.)
            with only_positions(head, last.to(device)), digit_logits(
                self.model, layout.digit_ids
            ) as digits:
                logits = digits(self._forward(**kwargs).logits[:, 0])
        else:
            with digit_logits(self.model, layout.digit_ids) as digits:
                logits = digits(self._forward(**kwargs).logits)
            logits = logits[torch.arange(batch), last.to(device)]
        del cache
        self.texts_scored += batch
        return self._to_score(logits)
