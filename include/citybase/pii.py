"""What personal data becomes when it leaves its base table.

ID numbers become keyed HMAC-SHA256 pseudonyms: stable, so datasets still join on them, but not
reversible without the key. Names, addresses and phone numbers are masked the way Chinese
government systems display them. The policy is chosen by the column's ``meta.pii`` in dbt.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import pyarrow as pa

PSEUDONYM_SUFFIX = "_hmac"


def pseudonym(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def mask_name(value: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the first character only."""
    return value[:1] + "*" * (len(value) - 1)


def mask_id_number(value: str) -> str:
    """410105199001011234 -> 410105********1234."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_address(value: str) -> str:
    """Keep the city and district, hide the street and house."""
    for marker in ("区", "县", "市"):
        cut = value.find(marker, 3)
        if cut != -1:
            return value[: cut + 1] + "****"
    return value[:6] + "****"


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    return value[:3] + "****" + value[-4:] if len(value) >= 7 else "*" * len(value)


def arrow_udf(function: Callable[[str], str]) -> Callable[[pa.Array], pa.Array]:
    """Lift a str -> str function to Arrow arrays, passing nulls through, for DuckDB vectorised UDFs."""

    def apply(values: pa.Array) -> pa.Array:
        return pa.array([None if v is None else function(v) for v in values.to_pylist()], type=pa.string())

    return apply


MASKS: dict[str, Callable[[str], str]] = {"name": mask_name, "address": mask_address, "phone": mask_phone}
