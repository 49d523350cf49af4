"""Prompts of the local judge: the plain and chat layouts, and which tokens are the digits.

Prompt layouts (the wording itself lives in :mod:`steering.evaluation.judges.base`):

* plain (base models, the default when the tokenizer has no chat template)::

      <rubric_instruction(rubric)>

      Text: <shot 1>
      Score: 9

      ...
      Text: <text to rate>
      Score:<space>

  The prompt ends with ``"Score: "`` when the tokenizer makes the space its own token (Gemma,
  SmolLM2), so the next token is a bare digit; for tokenizers whose digit tokens carry a leading
  space (``" 7"``) it ends with ``"Score:"`` and those tokens are read instead. Which case holds
  is detected from the tokenizer, never assumed.
* chat (used when the tokenizer has a chat template, unless ``use_chat_template=False``):
  :func:`steering.evaluation.judges.base.rubric_messages` rendered with the template and a
  generation prompt; the digit tokens are the first token of an assistant answer ``"0"``..``"9"``.

Texts are normalised before rating: runs of whitespace (including newlines, which delimit the
few-shot layout) collapse to one space, and a text longer than ``max_text_tokens`` tokens is cut
to its first ``max_text_tokens`` tokens. Few-shot texts are whitespace-normalised but not cut.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from steering.evaluation.judges.base import (
    Rubric,
    rubric_instruction,
    rubric_messages,
    user_message,
)

LOCAL_PROMPT_VERSION = "v3"  # v2: scores rounded to 1e-6; v3: digit logits in fp32
"""Version of the local layouts below (score label, separators); part of ``judge_id``."""

_SCORE_LABEL = "Score:"
_SHOT_SEPARATOR = "\n\n"
_DIGITS = "0123456789"
# Two texts that differ from their first character: the longest common prefix of their prompts
# is the part of the prompt shared by every text.
_PROBES = ("Alpha", "Zulu")


def normalise(text: str) -> str:
    """Collapse runs of whitespace (newlines included) to one space."""
    return " ".join(text.split())


@dataclass
class Layout:
    """Everything about one rubric's prompt that does not depend on the text being rated."""

    render: Any  # Callable[[str], str]: full prompt string for a (normalised) text
    prefix_ids: list[int]
    prefix_chars: int
    digit_ids: list[int]
    kv: Any = None  # the judge's prefix cache (batch 1), built lazily


class PromptBuilder:
    """Builds a rubric's prompts for one tokenizer and finds the digit tokens to read.

    Args:
        tokenizer: The judge model's tokenizer.
        model_id: The judge model's name, for error messages.
        use_chat_template: ``True``/``False`` forces the chat/plain layout; ``None`` uses the
            chat template iff ``tokenizer.chat_template`` is set.
        max_text_tokens: Texts longer than this many tokens are cut to their first
            ``max_text_tokens`` tokens.
        max_cached_prefixes: How many rubrics' layouts are kept (least recently used out).
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        model_id: str,
        use_chat_template: bool | None = None,
        max_text_tokens: int = 128,
        max_cached_prefixes: int = 8,
    ) -> None:
        if use_chat_template is None:
            use_chat_template = bool(getattr(tokenizer, "chat_template", None))
        elif use_chat_template and not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                f"use_chat_template=True but the tokenizer of {model_id!r} has no chat_template; "
                "pass use_chat_template=False (plain few-shot layout) instead"
            )
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.use_chat_template = bool(use_chat_template)
        self.max_text_tokens = max_text_tokens
        self.max_cached_prefixes = max_cached_prefixes
        self._layouts: OrderedDict[Rubric, Layout] = OrderedDict()

    @property
    def mode(self) -> str:
        """``"chat"`` or ``"plain"``."""
        return "chat" if self.use_chat_template else "plain"

    def prompt(self, text: str, rubric: Rubric) -> str:
        """The full prompt string for ``text`` (after normalisation and truncation)."""
        return self.layout(rubric).render(self.prepare_text(text))

    def encode(self, text: str) -> list[int]:
        """Token ids of a full prompt string.

        Plain prompts get the tokenizer's BOS (Gemma needs it); rendered chat templates already
        contain their special tokens.
        """
        return list(
            self.tokenizer(text, add_special_tokens=not self.use_chat_template)["input_ids"]
        )

    def prepare_text(self, text: str) -> str:
        """``text`` whitespace-normalised and cut to ``max_text_tokens`` tokens."""
        text = normalise(text)
        tok = self.tokenizer
        if getattr(tok, "is_fast", False):
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            if len(enc["input_ids"]) > self.max_text_tokens:
                text = text[: enc["offset_mapping"][self.max_text_tokens - 1][1]]
        else:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            if len(ids) > self.max_text_tokens:
                text = tok.decode(ids[: self.max_text_tokens])
        return text

    def layout(self, rubric: Rubric) -> Layout:
        """The layout of ``rubric`` (built once; the last ``max_cached_prefixes`` are kept)."""
        layout = self._layouts.get(rubric)
        if layout is not None:
            self._layouts.move_to_end(rubric)
            return layout
        if self.use_chat_template:
            render, digit_ids = self._chat_renderer(rubric)
        else:
            render, digit_ids = self._plain_renderer(rubric)
        prefix_ids, prefix_chars = self._shared_prefix(render)
        layout = Layout(render, prefix_ids, prefix_chars, digit_ids)
        self._layouts[rubric] = layout
        while len(self._layouts) > self.max_cached_prefixes:
            self._layouts.popitem(last=False)
        return layout

    def _plain_renderer(self, rubric: Rubric) -> tuple[Any, list[int]]:
        """The plain few-shot layout's renderer and digit token ids."""
        answer_prefix, digit_ids = self._plain_digit_tokens()
        parts = [rubric_instruction(rubric), _SHOT_SEPARATOR]
        for shot_text, shot_score in rubric.shots:
            parts.append(f"{user_message(normalise(shot_text))}\n{_SCORE_LABEL} {shot_score}")
            parts.append(_SHOT_SEPARATOR)
        head = "".join(parts)

        def render(text: str) -> str:
            return f"{head}{user_message(text)}\n{answer_prefix}"

        return render, digit_ids

    def _plain_digit_tokens(self) -> tuple[str, list[int]]:
        """Find how ``"Score: <d>"`` tokenizes: bare digits after a space token, or ``" d"``."""
        context = f"{user_message('x')}\n{_SCORE_LABEL}"
        tok = self.tokenizer
        for answer_prefix, head in ((f"{_SCORE_LABEL} ", f"{context} "), (_SCORE_LABEL, context)):
            head_ids = tok(head, add_special_tokens=False)["input_ids"]
            digit_ids = []
            for digit in _DIGITS:
                ids = tok(f"{context} {digit}", add_special_tokens=False)["input_ids"]
                if len(ids) != len(head_ids) + 1 or ids[: len(head_ids)] != head_ids:
                    break
                digit_ids.append(ids[-1])
            if len(digit_ids) == 10 and len(set(digit_ids)) == 10:
                return answer_prefix, digit_ids
        raise ValueError(
            f"The tokenizer of {self.model_id!r} does not encode '{_SCORE_LABEL} <digit>' as the "
            "label followed by one token per digit (with or without a leading space), so the "
            "digit probabilities cannot be read from one next-token distribution"
        )

    def _chat_renderer(self, rubric: Rubric) -> tuple[Any, list[int]]:
        """The chat layout's renderer and digit token ids (first token of the answer)."""
        tok = self.tokenizer
        shots = tuple((normalise(t), s) for t, s in rubric.shots)
        rubric_n = Rubric(
            rubric.kind, rubric.concept, rubric.description, rubric.version, shots, rubric.opposite
        )

        def messages(text: str) -> list[dict[str, str]]:
            msgs = rubric_messages(rubric_n, text)
            if not self._system_role_ok:
                # Templates without a system role: fold the instruction into the first user turn.
                system = msgs.pop(0)["content"]
                msgs[0] = {"role": "user", "content": f"{system}\n\n{msgs[0]['content']}"}
            return msgs

        def render(text: str) -> str:
            return tok.apply_chat_template(
                messages(text), tokenize=False, add_generation_prompt=True
            )

        self._system_role_ok = True
        try:
            render(_PROBES[0])
        except Exception:  # noqa: BLE001 - jinja raises bare exceptions for a system turn
            self._system_role_ok = False
            render(_PROBES[0])
        probe = render(_PROBES[0])
        probe_ids = self.encode(probe)
        digit_ids = []
        for digit in _DIGITS:
            answered = tok.apply_chat_template(
                messages(_PROBES[0]) + [{"role": "assistant", "content": digit}],
                tokenize=False,
                add_generation_prompt=False,
            )
            ids = self.encode(answered) if answered.startswith(probe) else []
            if len(ids) > len(probe_ids) and ids[: len(probe_ids)] == probe_ids:
                candidate = ids[len(probe_ids)]
                if tok.decode([candidate]).strip() == digit:
                    digit_ids.append(candidate)
                    continue
            alone = tok(digit, add_special_tokens=False)["input_ids"]
            if len(alone) != 1:
                raise ValueError(f"Digit {digit!r} is not a single token for {self.model_id!r}")
            digit_ids.append(alone[0])
        if len(set(digit_ids)) != 10:
            raise ValueError(f"Digit tokens of {self.model_id!r} are not distinct: {digit_ids}")
        return render, digit_ids

    def _shared_prefix(self, render: Any) -> tuple[list[int], int]:
        """Token ids shared by every prompt of a rubric, and the character length they cover."""
        strings = [render(p) for p in _PROBES]
        encs = [self.encode(s) for s in strings]
        n = 0
        while n < min(map(len, encs)) and encs[0][n] == encs[1][n]:
            n += 1
        prefix_ids = encs[0][:n]
        tok = self.tokenizer
        if getattr(tok, "is_fast", False) and n:
            offsets = tok(
                strings[0],
                add_special_tokens=not self.use_chat_template,
                return_offsets_mapping=True,
            )["offset_mapping"]
            chars = max(end for _, end in offsets[:n])
        else:
            chars = 0
            while chars < min(map(len, strings)) and strings[0][chars] == strings[1][chars]:
                chars += 1
        return prefix_ids, chars

    def suffix_ids(self, layout: Layout, text: str) -> list[int]:
        """Token ids after the shared prefix: the natural tokenization whenever it keeps the
        prefix tokens intact, else the remainder string tokenized on its own."""
        full = layout.render(self.prepare_text(text))
        ids = self.encode(full)
        n = len(layout.prefix_ids)
        if ids[:n] == layout.prefix_ids and len(ids) > n:
            return ids[n:]
        return list(
            self.tokenizer(full[layout.prefix_chars :], add_special_tokens=False)["input_ids"]
        )
