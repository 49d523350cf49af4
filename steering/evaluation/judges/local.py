"""Judge that runs a local Hugging Face causal LM and reads its digit probabilities.

For every text the judge builds one prompt and reads, in a single forward pass, the next-token
probabilities of the ten digit tokens ``0``-``9``. The score is their expectation
``sum(p_d * d) / sum(p_d)`` (G-Eval style), mapped from 0-9 to 0-10 with
:func:`steering.evaluation.judges.base.to_ten_scale`. Nothing is sampled or parsed.

The prompts are built by :mod:`steering.evaluation.judges.local_prompt`.

Prefix KV cache: the instruction and the few-shot examples are identical for every text of a
rubric, so :meth:`LocalJudge.score` runs them once (per rubric; the last few rubrics are kept),
stores their key/value cache and, for each batch, runs only the text suffixes
(``"Text: ...\\nScore: "``) against a copy of that cache expanded to the batch: suffixes are
right-padded, the attention mask is ones over the prefix followed by the suffix mask, position
ids continue after the prefix, and each row is read at its last real token. Right padding keeps
every real token at the same sequence index as in the full prompt, so sliding-window layers
(Gemma 3) see exactly the same keys as without the cache; the sliding layers keep the last
``window - 1`` prefix tokens, which is all a suffix token can reach. Only caches made of
:class:`~transformers.DynamicLayer` / :class:`~transformers.DynamicSlidingWindowLayer` layers are
reused; for any other architecture (recurrent or linear-attention states, static or quantized
caches) the judge logs a warning and scores full prompts instead. :meth:`score_full_prompt` is
the cache-free reference (one text per forward pass) and gives the same scores up to float
rounding.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from steering.evaluation.judges.base import PROMPT_FORMAT, Rubric, expected_digit, to_ten_scale
from steering.evaluation.judges.local_prompt import LOCAL_PROMPT_VERSION, Layout, PromptBuilder

__all__ = ["LOCAL_PROMPT_VERSION", "LocalJudge"]

logger = logging.getLogger(__name__)

SCORE_DECIMALS = 6
_EXACT_LAYER_TYPES = ("DynamicLayer", "DynamicSlidingWindowLayer")


@contextmanager
def _only_positions(head: torch.nn.Module, positions: torch.Tensor) -> Iterator[None]:
    """While open, ``head`` (the output layer) receives only ``hidden[row, positions[row]]``."""

    def gather(_module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        hidden = args[0]
        index = positions[:, None, None].expand(-1, 1, hidden.shape[-1])
        return (hidden.gather(1, index), *args[1:])

    handle = head.register_forward_pre_hook(gather)
    try:
        yield
    finally:
        handle.remove()


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

    Attributes:
        judge_id: ``"local:<model_id>:<plain|chat>-<LOCAL_PROMPT_VERSION>:<PROMPT_FORMAT>:t<max>"``.
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
    ) -> None:
        if (model is None) == (model_loader is None):
            raise ValueError("give either a model or a model_loader (called on first use)")
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
            f":t{max_text_tokens}"
        )
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
        logits = self._forward(**kwargs).logits[0, -1]
        self.texts_scored += 1
        return self._to_score(logits[digit_ids][None])[0]

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
        reason = self._unsupported_cache_reason(kv, len(layout.prefix_ids))
        if reason is not None:
            self._disable_prefix_caching(reason)
            return None
        layout.kv = kv
        return kv

    @staticmethod
    def _unsupported_cache_reason(kv: Any, prefix_len: int) -> str | None:
        from transformers import DynamicCache

        if kv is None:
            return "the model returned no cache"
        if type(kv) is not DynamicCache:
            return f"its cache is a {type(kv).__name__}, not a DynamicCache"
        layers = getattr(kv, "layers", None)
        if not layers:
            return "its cache has no per-layer key/value states"
        for layer in layers:
            name = type(layer).__name__
            if name not in _EXACT_LAYER_TYPES:
                allowed = ", ".join(_EXACT_LAYER_TYPES)
                return f"its cache has {name} layers (only {allowed} are reused)"
            if getattr(layer, "record_past", False):
                return "a sliding-window layer records past states"
            if layer.get_seq_length() != prefix_len:
                return f"a cache layer holds {layer.get_seq_length()} tokens, not {prefix_len}"
        return None

    def _score_batch(self, layout: Layout, kv: Any, suffixes: list[list[int]]) -> list[float]:
        device = self._device
        batch, prefix_len = len(suffixes), len(layout.prefix_ids)
        width = max(map(len, suffixes))
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:
            pad_id = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else 0
        input_ids = torch.full((batch, width), pad_id, dtype=torch.long)
        mask = torch.zeros((batch, prefix_len + width), dtype=torch.long)
        mask[:, :prefix_len] = 1
        for row, suffix in enumerate(suffixes):  # right padding: real tokens keep their index
            input_ids[row, : len(suffix)] = torch.tensor(suffix)
            mask[row, prefix_len : prefix_len + len(suffix)] = 1
        last = torch.tensor([len(s) - 1 for s in suffixes], dtype=torch.long)
        positions = (torch.arange(width) + prefix_len).expand(batch, width)
        cache = copy.deepcopy(kv)
        if batch > 1:
            cache.batch_repeat_interleave(batch)
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
            with _only_positions(head, last.to(device)):
                logits = self._forward(**kwargs).logits[:, 0]
        else:
            logits = self._forward(**kwargs).logits[torch.arange(batch), last.to(device)]
        del cache
        self.texts_scored += batch
        return self._to_score(logits[:, layout.digit_ids])
