"""GB 32100-2015 unified social credit codes, with the GB 11714 organisation-code check inside."""

from __future__ import annotations

from citybase.codes.division import PROVINCE_CODES

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 symbols: no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714 body characters: values 0..35
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Registration authority (position 1) and the entity types it may issue (position 2), GB 32100 annex A.
AUTHORITY_TYPES = {
    "1": "1239",  # organisation establishment (机构编制)
    "5": "1239",  # civil affairs (民政)
    "9": "123",  # market regulation (工商): 1 enterprise, 2 individual business, 3 farmers' co-operative
    "Y": "1",  # other
}


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a USCC."""
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"need 17 characters of {USCC_ALPHABET}, got {first17!r}")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organization_code_check_char(body8: str) -> str:
    """The GB 11714 check character for an 8-character organisation code body."""
    if len(body8) != 8 or any(c not in ORG_ALPHABET for c in body8):
        raise ValueError(f"need 8 characters of 0-9A-Z, got {body8!r}")
    remainder = 11 - sum(ORG_ALPHABET.index(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def uscc_problem(value: str | None) -> str | None:
    """Why ``value`` is not a valid 18-character USCC, or ``None`` if it is."""
    if value is None or value == "":
        return "missing"
    if len(value) != 18:
        return f"length {len(value)}, expected 18"
    bad = sorted({c for c in value if c not in USCC_ALPHABET})
    if bad:
        return f"characters {''.join(bad)} not in the USCC alphabet (0-9, A-Z without I O Z S V)"
    authority, entity_type = value[0], value[1]
    if authority not in AUTHORITY_TYPES:
        return f"unknown registration authority {authority}"
    if entity_type not in AUTHORITY_TYPES[authority]:
        return f"entity type {entity_type} not issued by authority {authority}"
    if not value[2:8].isdigit() or value[2:4] not in PROVINCE_CODES:
        return f"division code {value[2:8]} is not a GB/T 2260 code"
    org_check = organization_code_check_char(value[8:16])
    if value[16] != org_check:
        return f"organisation code check character {value[16]}, expected {org_check}"
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        return f"check character {value[17]}, expected {expected}"
    return None
