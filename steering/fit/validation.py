"""Input checks of a fit: example texts and activation arrays, refused with the fix named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def validate_examples(examples: Mapping[str, Sequence[str]], what: str = "examples") -> None:
    """Refuse empty, whitespace-only or duplicated examples, naming the concept and line.

    Args:
        examples: Concept name -> example texts.
        what: What the texts are called in the error messages.

    Raises:
        ValueError: No concepts, a concept without texts, an empty text or a duplicate.
    """
    if not examples:
        raise ValueError(f"No {what} given; pass at least one concept with examples.")
    for concept, texts in examples.items():
        if len(texts) == 0:
            raise ValueError(f"Concept {concept!r} has no {what}.")
        seen: dict[str, int] = {}
        for index, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"Concept {concept!r}: {what} {index} is empty or whitespace.")
            if text in seen:
                raise ValueError(
                    f"Concept {concept!r}: {what} {index} duplicates {what} {seen[text]} "
                    f"({text[:50]!r}); remove the duplicate."
                )
            seen[text] = index


def check_finite_activations(name: str, array: np.ndarray | None) -> None:
    """Refuse NaN/inf activations up front, naming the set and the first bad rows.

    Args:
        name: The activation set, as the error message should call it (``"concept 'x'"``).
        array: ``(rows, ...)`` activations, or ``None`` (nothing to check).

    Raises:
        FloatingPointError: Some rows hold NaN or inf.
    """
    if array is None:
        return
    values = np.asarray(array, dtype=np.float64)
    if values.ndim == 0 or values.size == 0:
        return
    bad: np.ndarray = np.asarray(~np.isfinite(values.reshape(values.shape[0], -1)).all(axis=1))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise FloatingPointError(
            f"{name} activations contain NaN/inf in {len(rows)} of {len(bad)} rows (first: "
            f"{rows[:5].tolist()}); the model overflowed in this dtype. Recollect them with dtype "
            "float32 or bfloat16, or at an earlier layer."
        )
