"""Small helpers for the JSON-ready dicts that results and records hand out."""

from __future__ import annotations

from typing import Any


def pick(obj: object, *names: str) -> dict[str, Any]:
    """`{name: obj.name}` for each name, in the order given: the verbatim part of a to_dict.

    A to_dict mixes fields copied as they are with renamed or rounded ones; naming the verbatim
    ones once here keeps the key and the attribute from drifting apart.
    """
    return {name: getattr(obj, name) for name in names}
