"""Checked conversion of user inputs to one-dimensional numpy arrays (floats or booleans)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def float_vector(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as a 1-D float64 array.

    Args:
        values: Numbers.
        name: How to name the input in errors.

    Raises:
        ValueError: If the values are not numeric or not one-dimensional.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {values!r}; pass numbers") from err
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}; flatten it")
    return array


def bool_vector(values: npt.ArrayLike, name: str) -> BoolArray:
    """``values`` (booleans or 0/1) as a 1-D bool array.

    Args:
        values: Booleans, or integers that are all 0 or 1.
        name: How to name the input in errors.

    Raises:
        ValueError: If the values are not one-dimensional or hold anything but booleans or 0/1.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}; flatten it")
    if array.dtype == np.bool_:
        return array
    if array.size and not np.isin(array, (0, 1)).all():
        bad = array[~np.isin(array, (0, 1))][0]
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise ValueError(f"{name} must hold booleans or 0/1, found {bad!r}; pass a bool array")
    return array.astype(np.bool_)
