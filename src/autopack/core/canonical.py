"""Canonical forms for hashing values that make a round trip through the database."""

from __future__ import annotations

from typing import Any


def canonical_numbers(value: Any) -> Any:
    """Integral floats as ints, recursively.

    JSONB stores numbers as decimals and gives 1e16 back as 10000000000000000 (an int): hashing
    integral floats as ints makes a hash independent of that round trip.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_numbers(item) for item in value]
    return value
