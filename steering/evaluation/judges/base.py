"""Judge protocol, rubric values and the single home of the judge prompt text.

Every judge backend builds its chat messages with :func:`rubric_messages` and turns digit
probabilities into scores with :func:`expected_digit` and :func:`to_ten_scale`, so the prompt
wording and the 0-9 -> 0-10 mapping live in exactly one place.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

RUBRIC_KINDS: tuple[str, ...] = ("concept", "opposite", "bipolar")
"""Allowed values of :attr:`Rubric.kind`."""

PROMPT_FORMAT = "digit09-v1"
"""Identifier of the prompt layout below; backends put it in their ``judge_id``.

Bump it whenever the templates in this module change so cached judgments are not reused.
"""

MAX_RAW_SCORE = 9
"""Judges answer with a single digit from 0 to ``MAX_RAW_SCORE``."""

_UNIPOLAR_INSTRUCTION = "Rate from 0 to 9 how much each text is about {description}."
_BIPOLAR_INSTRUCTION = (
    "Rate from 0 to 9 where 0 means the text is entirely about {opposite}, "
    "9 means entirely about {concept}, and 4 or 5 means neither."
)
_BIPOLAR_DETAILS = "Scale details: {description}"
_ANSWER_FORMAT = "Answer with a single digit from 0 to 9 and nothing else."
_USER_TEMPLATE = "Text: {text}"


class JudgeError(RuntimeError):
    """A judge could not produce a score (endpoint down, bad answers, retries exhausted)."""


@dataclass(frozen=True)
class Rubric:
    """What a judge rates and how.

    Attributes:
        kind: ``"concept"`` (how much a text is about the concept), ``"opposite"`` (how much it
            is about the opposite concept) or ``"bipolar"`` (0 = opposite, 9 = concept).
        concept: Concept name, e.g. ``"animal"``.
        description: What is rated, e.g. ``"animals"``; for ``"bipolar"`` an optional extra
            description of the scale, e.g. ``"0 = machines and tools, 9 = animals"``.
        version: Rubric version; bump it whenever the rubric's meaning changes.
        shots: Few-shot examples as ``(text, score)`` pairs with integer scores 0-9.
        opposite: The opposite pole, required for ``"bipolar"`` (e.g. ``"machines"``).
    """

    kind: str
    concept: str
    description: str
    version: int
    shots: tuple[tuple[str, int], ...] = ()
    opposite: str = ""

    def __post_init__(self) -> None:
        """Validate fields and normalise ``shots`` to a tuple of tuples.

        Raises:
            ValueError: If any field is out of range; the message names the field and value.
        """
        if self.kind not in RUBRIC_KINDS:
            raise ValueError(f"Rubric.kind must be one of {RUBRIC_KINDS}, got {self.kind!r}")
        if not self.concept.strip():
            raise ValueError("Rubric.concept must be a non-empty concept name, e.g. 'animal'")
        if self.kind == "bipolar":
            if not self.opposite.strip():
                raise ValueError(
                    f"bipolar Rubric for concept {self.concept!r} needs opposite=<the 0 pole>, "
                    "e.g. Rubric(kind='bipolar', concept='animal', opposite='machines', ...)"
                )
        elif not self.description.strip():
            raise ValueError(
                f"Rubric.description for {self.kind} rubric {self.concept!r} must say what is "
                "rated, e.g. 'animals'"
            )
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise ValueError(f"Rubric.version must be an int, got {self.version!r}")
        if self.version < 0:
            raise ValueError(f"Rubric.version must be >= 0, got {self.version}")
        shots = tuple(tuple(shot) for shot in self.shots)
        for shot in shots:
            if len(shot) != 2 or not isinstance(shot[0], str):
                raise ValueError(f"Rubric.shots entries must be (text, score) pairs, got {shot!r}")
            score = shot[1]
            if isinstance(score, bool) or not isinstance(score, int):
                raise ValueError(f"few-shot score must be an int 0-9, got {score!r}")
            if not 0 <= score <= MAX_RAW_SCORE:
                raise ValueError(
                    f"few-shot score must be 0-9, got {score} for text {shot[0]!r:.60}"
                )
        object.__setattr__(self, "shots", shots)


class Judge(Protocol):
    """Anything that rates texts against a rubric on a 0-10 scale.

    Attributes:
        judge_id: Stable id (backend + model + prompt format) used in cache keys. It must never
            contain secrets such as API keys.
    """

    judge_id: str

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        """Return one 0-10 score per text, in input order."""
        ...


@runtime_checkable
class IncrementalJudge(Judge, Protocol):
    """A judge that can hand back each score as soon as it is made.

    Callers such as :func:`steering.evaluation.judges.cached.cached_score` use
    :meth:`iter_scores` to persist every judgment immediately, so a crash loses nothing already
    computed.
    """

    def iter_scores(self, texts: Sequence[str], rubric: Rubric) -> Iterator[tuple[int, float]]:
        """Yield ``(index, score)`` pairs in completion order, one per text."""
        ...


def rubric_instruction(rubric: Rubric) -> str:
    """Build the system instruction for a rubric.

    Args:
        rubric: The rubric to render.

    Returns:
        The system prompt text, ending with the answer-format line.
    """
    if rubric.kind == "bipolar":
        lines = [_BIPOLAR_INSTRUCTION.format(opposite=rubric.opposite, concept=rubric.concept)]
        if rubric.description.strip():
            lines.append(_BIPOLAR_DETAILS.format(description=rubric.description))
    else:
        lines = [_UNIPOLAR_INSTRUCTION.format(description=rubric.description)]
    lines.append(_ANSWER_FORMAT)
    return "\n".join(lines)


def user_message(text: str) -> str:
    """Wrap one text to be rated as the content of a user turn."""
    return _USER_TEMPLATE.format(text=text)


def rubric_messages(rubric: Rubric, text: str) -> list[dict[str, str]]:
    """Build the chat messages that ask a judge to rate ``text``.

    Layout: system instruction, then each few-shot example as a user turn followed by an
    assistant turn holding its digit, then the text to rate as the final user turn.

    Args:
        rubric: The rubric (instruction and few-shot examples).
        text: The text to rate.

    Returns:
        OpenAI-style ``[{"role": ..., "content": ...}, ...]`` messages.
    """
    messages = [{"role": "system", "content": rubric_instruction(rubric)}]
    for shot_text, shot_score in rubric.shots:
        messages.append({"role": "user", "content": user_message(shot_text)})
        messages.append({"role": "assistant", "content": str(shot_score)})
    messages.append({"role": "user", "content": user_message(text)})
    return messages


def expected_digit(weights: Mapping[int, float]) -> float:
    """Return the expected raw score from (unnormalised) probabilities of digits.

    Args:
        weights: Map from digit 0-9 to a non-negative probability mass; renormalised over the
            digits present.

    Returns:
        ``sum(p * d) / sum(p)`` on the raw 0-9 scale.

    Raises:
        ValueError: If a key is not a digit 0-9, a weight is negative or not finite, or the
            total mass is zero.
    """
    total = 0.0
    weighted = 0.0
    for digit, mass in weights.items():
        if not 0 <= digit <= MAX_RAW_SCORE:
            raise ValueError(f"digit must be 0-9, got {digit!r}")
        if not math.isfinite(mass) or mass < 0:
            raise ValueError(f"probability for digit {digit} must be finite and >= 0, got {mass}")
        total += mass
        weighted += mass * digit
    if total <= 0:
        raise ValueError(f"digit probabilities sum to zero: {dict(weights)!r}")
    return weighted / total


def to_ten_scale(raw: float) -> float:
    """Map a raw 0-9 judge score to the 0-10 scale used everywhere else (``raw * 10 / 9``)."""
    return raw * 10 / MAX_RAW_SCORE
