"""GB 11643 ID numbers and GB 32100 credit codes for whole arrays at once.

``citybase.codes`` checks one value at a time and stays the reference; these vectorised
builders must agree with it (the tests check that), they only make millions of codes cheap.
"""

from __future__ import annotations

import numpy as np

from citybase.codes.id_number import ID_CHECK_CHARS, ID_WEIGHTS
from citybase.codes.uscc import ORG_ALPHABET, ORG_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS

ID_CHECK_ALPHABET = np.array(list(ID_CHECK_CHARS))
USCC_CHARS = np.array(list(USCC_ALPHABET))
# GB 11714 weighs a body character by its value in 0-9A-Z, not by its position in the USCC alphabet.
_ORG_VALUE_OF_USCC_INDEX = np.array([ORG_ALPHABET.index(c) for c in USCC_ALPHABET])
_USCC_INDEX_OF_ORG_CHECK = np.array([USCC_ALPHABET.index(c) for c in "0123456789X"])


def id_first17(address_code: np.ndarray, birth: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """The 17 leading digits as int64: address code, birth date YYYYMMDD, sequence."""
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months_since_epoch = birth.astype("datetime64[M]")
    months = months_since_epoch.astype(np.int64) % 12 + 1
    days = (birth - months_since_epoch.astype("datetime64[D]")).astype(np.int64) + 1
    yyyymmdd = years * 10_000 + months * 100 + days
    return address_code.astype(np.int64) * 10**11 + yyyymmdd * 1_000 + sequence.astype(np.int64)


def id_check_index(first17: np.ndarray) -> np.ndarray:
    """Index into ``ID_CHECK_ALPHABET`` of each number's ISO 7064 MOD 11-2 check character."""
    total = np.zeros(len(first17), dtype=np.int64)
    rest = first17.astype(np.int64)
    for weight in reversed(ID_WEIGHTS):
        total += (rest % 10) * weight
        rest //= 10
    return total % 11


def id_numbers(first17: np.ndarray, check_index: np.ndarray) -> np.ndarray:
    """18-character ID numbers (address codes never start with 0, so no zero padding is needed)."""
    return np.strings.add(first17.astype("U17"), ID_CHECK_ALPHABET[check_index])


def organization_check_index(body: np.ndarray) -> np.ndarray:
    """USCC-alphabet index of the GB 11714 check character of each ``(n, 8)`` body of USCC indices."""
    total = (_ORG_VALUE_OF_USCC_INDEX[body] * np.array(ORG_WEIGHTS)).sum(axis=1)
    remainder = 11 - total % 11  # 1..11; 10 is written X and 11 is written 0
    return _USCC_INDEX_OF_ORG_CHECK[np.where(remainder == 11, 0, remainder)]


def uscc_codes(authority: str, entity_type: np.ndarray, division_code: np.ndarray, body: np.ndarray) -> np.ndarray:
    """18-character credit codes from entity type digits, 6-digit division codes and ``(n, 8)`` org bodies."""
    n = len(entity_type)
    indices = np.empty((n, 18), dtype=np.int64)
    indices[:, 0] = USCC_ALPHABET.index(authority)
    indices[:, 1] = entity_type
    rest = division_code.astype(np.int64)
    for position in range(7, 1, -1):
        indices[:, position] = rest % 10
        rest //= 10
    indices[:, 8:16] = body
    indices[:, 16] = organization_check_index(body)
    indices[:, 17] = (31 - (indices[:, :17] * np.array(USCC_WEIGHTS)).sum(axis=1) % 31) % 31
    return join_chars(USCC_CHARS[indices])


def join_chars(chars: np.ndarray) -> np.ndarray:
    """Rows of an ``(n, k)`` array of single characters as ``n`` strings of length ``k``."""
    n, width = chars.shape
    return np.ascontiguousarray(chars, dtype="U1").view(f"U{width}").reshape(n)
