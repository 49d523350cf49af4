"""One reading of each text for all of its concept rubrics (prototype layout, issue 13).

The per-rubric layout (:mod:`steering.evaluation.judges.local_prompt`) puts each rubric's
instruction and shots *before* the text, so a text read under five rubrics is read five times.
This layout puts the rubric after the text::

    Rate from 0 to 9 how much each text is about the topic named after it.
    Answer with a single digit from 0 to 9 and nothing else.

    Text: <shot>
    Topic: <description of the shot's concept>
    Score: 9
    ...                                   (the shots of every concept rubric, round robin)
    Text: <text to rate>
    Topic: <description>
    Score:<space>

The prefix (instruction and every shot) is run once; each text is run once against a copy of
its cache; only the short ``Topic: ... Score:`` questions (one row per rubric, right-padded)
differ. The token ids are the segments tokenized apart (prefix with BOS, ``"Text: ...\\n"``,
``"Topic: ...\\nScore: "``), so :meth:`SharedReadingJudge.score_all_full_prompt`, one forward
pass per (text, rubric) over the same ids, gives the same scores up to float rounding.
It is a different prompt from the per-rubric judge, so its scores differ from it. Measured on
gemma-3-270m (BENCHMARKS.md, "Judge: one reading per text"): 0.73-0.82x the per-rubric judge's
speed on CPU (the shared prefix is 5x longer) and worse AUROC against the other concepts (min
0.68 vs 0.90), so it is not wired into the workflow.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from steering.evaluation.judges.base import PROMPT_FORMAT, Rubric, expected_digit, to_ten_scale
from steering.evaluation.judges.local_prompt import PromptBuilder, normalise
from steering.evaluation.judges.prefix_cache import (
    only_positions,
    suffix_batch,
    unsupported_cache_reason,
)

__all__ = ["SharedReadingJudge"]

_INSTRUCTION = (
    "Rate from 0 to 9 how much each text is about the topic named after it.\n"
    "Answer with a single digit from 0 to 9 and nothing else.\n\n"
)


class SharedReadingJudge:
    """Rate each text under every concept rubric from one reading of the text.

    Args:
        model: A Hugging Face causal LM whose cache is a DynamicCache (eval mode).
        tokenizer: Its tokenizer (plain layout: base models).
        concept_rubrics: The ``concept`` rubric of every concept, by concept name.
        model_id: Model name for :attr:`judge_id`.
        max_text_tokens: Texts are cut to this many tokens.
        batch_size: Texts (of equal token length) read in one forward pass.

    Attributes:
        judge_id: ``"local:<model_id>:shared-v1:<PROMPT_FORMAT>:t<max>"``.
        forward_calls: Forward passes run so far.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        concept_rubrics: Mapping[str, Rubric],
        *,
        model_id: str,
        max_text_tokens: int = 128,
        batch_size: int = 16,
    ) -> None:
        for name, rubric in concept_rubrics.items():
            if rubric.kind != "concept" or rubric.concept != name:
                raise ValueError(
                    f"concept_rubrics[{name!r}] must be the concept rubric of {name!r}"
                )
        if not concept_rubrics:
            raise ValueError("give at least one concept rubric")
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.rubrics = dict(sorted(concept_rubrics.items()))
        self.prompts = PromptBuilder(
            tokenizer, model_id=model_id, use_chat_template=False, max_text_tokens=max_text_tokens
        )
        answer_prefix, self.digit_ids = self.prompts._plain_digit_tokens()  # noqa: SLF001
        self.judge_id = f"local:{model_id}:shared-v1:{PROMPT_FORMAT}:t{max_text_tokens}"
        self.forward_calls = 0
        shots = [list(r.shots) for r in self.rubrics.values()]
        topics = [r.description for r in self.rubrics.values()]
        parts = [_INSTRUCTION]
        for i in range(max(map(len, shots))):  # round robin over the concepts
            for topic, rows in zip(topics, shots, strict=True):
                if i < len(rows):
                    text, score = rows[i]
                    parts.append(f"Text: {normalise(text)}\nTopic: {topic}\nScore: {score}\n\n")
        self.prefix_ids = list(tokenizer("".join(parts), add_special_tokens=True)["input_ids"])
        self.question_ids = {
            c: self._ids(f"Topic: {r.description}\n{answer_prefix}")
            for c, r in self.rubrics.items()
        }
        self._kv: Any = None
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        # The text step needs no logits (the output layer is most of a small model's FLOPs).
        self._keep = {"logits_to_keep": 1} if "logits_to_keep" in params else {}

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def text_ids(self, text: str) -> list[int]:
        """Token ids of ``"Text: <text>\\n"`` (normalised, cut to ``max_text_tokens``)."""
        return self._ids(f"Text: {self.prompts.prepare_text(text)}\n")

    # ------------------------------------------------------------------------------ scoring

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        """Judge protocol: the scores of ``texts`` under ``rubric`` (reads every rubric)."""
        if self.rubrics.get(rubric.concept) != rubric:
            raise ValueError(f"rubric for {rubric.concept!r} is not one of this judge's rubrics")
        return self.score_all(texts)[rubric.concept].tolist()

    def score_all(self, texts: Sequence[str]) -> pd.DataFrame:
        """0-10 scores, one row per text (in order), one column per concept; one reading each.

        Texts of equal token length share a batch (up to ``batch_size``), so no text is padded
        and every token keeps the index it has in the full prompt (exact for sliding windows).
        """
        kv = self._prefix_kv()
        ids = [self.text_ids(t) for t in texts]
        by_length: dict[int, list[int]] = {}
        for index, text_ids in enumerate(ids):
            by_length.setdefault(len(text_ids), []).append(index)
        rows: list[list[float]] = [[] for _ in texts]
        for members in by_length.values():
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                scored = self._score_group(kv, [ids[i] for i in chunk])
                for index, row in zip(chunk, scored, strict=True):
                    rows[index] = row
        return pd.DataFrame(rows, columns=list(self.rubrics), dtype=float)

    def score_all_full_prompt(self, texts: Sequence[str]) -> pd.DataFrame:
        """Reference: one forward pass per (text, rubric) over the same token ids, no cache."""
        rows = []
        for text in texts:
            ids = self.prefix_ids + self.text_ids(text)
            row = []
            for question in self.question_ids.values():
                logits = self._forward(input_ids=torch.tensor([ids + question]), use_cache=False)
                row.append(self._to_scores(logits.logits[:, -1, self.digit_ids])[0])
            rows.append(row)
        return pd.DataFrame(rows, columns=list(self.rubrics), dtype=float)

    def _forward(self, **kwargs: Any) -> Any:
        self.forward_calls += 1
        device = next(self.model.parameters()).device
        kwargs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        with torch.inference_mode():
            return self.model(**kwargs)

    @staticmethod
    def _to_scores(digit_logits: torch.Tensor) -> list[float]:
        probs = torch.softmax(digit_logits.float(), dim=-1).cpu().tolist()
        return [round(to_ten_scale(expected_digit(dict(enumerate(p)))), 6) for p in probs]

    def _prefix_kv(self) -> Any:
        if self._kv is None:
            out = self._forward(
                input_ids=torch.tensor([self.prefix_ids]), use_cache=True, **self._keep
            )
            kv = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
            reason = unsupported_cache_reason(kv, len(self.prefix_ids))
            if reason is not None:
                raise ValueError(f"shared reading needs a reusable DynamicCache: {reason}")
            self._kv = kv
        return self._kv

    def _score_group(self, kv: Any, group: list[list[int]]) -> list[list[float]]:
        """Scores of texts of one token length: one forward for the texts, one for questions."""
        start, length, n = len(self.prefix_ids), len(group[0]), len(group)
        cache = copy.deepcopy(kv)
        if n > 1:
            cache.batch_repeat_interleave(n)
        self._forward(  # read the texts once; the cache now holds prefix + text, row by row
            input_ids=torch.tensor(group),
            attention_mask=torch.ones((n, start + length), dtype=torch.long),
            position_ids=torch.arange(start, start + length).expand(n, length),
            use_cache=True,
            **self._keep,
            **{self._cache_kwarg: cache},
        )
        questions = list(self.question_ids.values())
        pad = self.tokenizer.pad_token_id or 0
        ids, mask, positions, last = suffix_batch(questions * n, start + length, pad)
        cache.batch_repeat_interleave(len(questions))  # rows: text 0 x each question, text 1 ...
        head = self.model.get_output_embeddings()
        with only_positions(head, last.to(next(self.model.parameters()).device)):
            out = self._forward(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                **{self._cache_kwarg: cache},
            )
        scores = self._to_scores(out.logits[:, 0, self.digit_ids])
        q = len(questions)
        return [scores[i * q : (i + 1) * q] for i in range(n)]
