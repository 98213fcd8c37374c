"""Residents and households of the simulated city, as the household registration (公安户籍) holds them.

Everything is drawn as numbers (indices, day numbers, seconds); text is made only for the rows
being written (``person_rows``, ``household_rows``), so the whole city fits in memory at scale 1.0.
Shapes follow the 7th census figures in ``/work/shared/reference/zhengzhou.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.simulator import names
from citybase.simulator.formats import (
    SECONDS_PER_DAY,
    day_number,
    format_dates,
    format_timestamps,
    later_touch,
    office_hours,
    years_before,
)
from citybase.simulator.identifiers import id_check_index, id_first17, id_numbers
from citybase.simulator.places import draw_addresses
from citybase.simulator.sampling import allocate, runs, stream, weighted_top_k

RESIDENTS = 12_600_574
FAMILY_PERSONS = 10_237_153
FAMILY_HOUSEHOLDS = 3_636_411
COLLECTIVE_PERSONS = RESIDENTS - FAMILY_PERSONS
COLLECTIVE_HOUSEHOLDS = 497_157
MALE_SHARE = 104 / 204
AGE_BAND_SHARES = {(0, 14): 0.162, (15, 64): 0.758, (65, 100): 0.080}
ADULT_AGE = 18

DIVISION_CODES = np.array([int(division.code) for division in ZHENGZHOU_DIVISIONS])
DIVISION_SHARES = np.array([division.residents_2019 for division in ZHENGZHOU_DIVISIONS], dtype=np.float64)
DIVISION_SHARES /= DIVISION_SHARES.sum()
HUIJI, MANGSHAN = 410108, 410107  # Mangshan district became Huiji in 2003; IDs issued before keep 410107
MANGSHAN_RENAMED = day_number(dt.date(2003, 1, 1))
MANGSHAN_ID_SHARE = 0.7  # of Huiji natives born before then (Huiji also took in parts of other districts)

ETHNICITIES = np.array(
    [
        "汉族",
        "回族",
        "满族",
        "蒙古族",
        "壮族",
        "土家族",
        "苗族",
        "朝鲜族",
        "维吾尔族",
        "彝族",
        "藏族",
        "侗族",
        "布依族",
    ],
    dtype=StringDType(),
)
HAN, HUI = 0, 1
_OTHER_MINORITY_WEIGHTS = np.array([30, 15, 10, 10, 10, 5, 5, 5, 3, 4, 3], dtype=np.float64)
MINORITY_SHARE = 0.017
GUANCHENG = [division.code for division in ZHENGZHOU_DIVISIONS].index("410104")
_GUANCHENG_MINORITY, _GUANCHENG_HUI = 0.085, 0.08  # a Hui district
_ELSEWHERE_MINORITY = (MINORITY_SHARE - DIVISION_SHARES[GUANCHENG] * _GUANCHENG_MINORITY) / (
    1 - DIVISION_SHARES[GUANCHENG]
)
_ELSEWHERE_HUI = 0.6 * _ELSEWHERE_MINORITY  # the Hui remain the largest minority everywhere

# Where residents born outside Zhengzhou got their ID numbers: other Henan prefectures' districts and
# counties (most migrants), then a few large cities in other provinces. Weights roughly follow size.
_HENAN_BIRTHPLACES = {
    411302: 6, 411381: 4, 410302: 4, 411102: 3, 410202: 3, 410402: 3, 410502: 3, 410702: 3,
    410802: 2, 411002: 3, 411402: 5, 411422: 2, 411502: 4, 411602: 5, 411623: 3, 411702: 5, 411721: 2,
}  # fmt: skip
_OTHER_BIRTHPLACES = (130102, 130402, 140105, 340102, 370102, 420102, 610102, 320102, 110105, 430102, 510104)
HENAN_MIGRANT_SHARE = 0.8
BORN_ELSEWHERE_SHARE = {"child": 0.10, "adult": 0.28}  # by age 0-14 / 15+: about 25 % overall
INTRA_CITY_MOVER_SHARE = 0.06  # born in another Zhengzhou division
MIGRATION_ERA_START = day_number(dt.date(1985, 1, 1))
HUKOU_REGULATIONS = day_number(dt.date(1958, 1, 9))  # older natives were first registered under them

_FAMILY_SIZE_SHARES = np.array([0.20, 0.28, 0.24, 0.15, 0.08, 0.03, 0.015, 0.005])  # sizes 1..8
_MALE_SEQUENCE_SLOTS, _FEMALE_SEQUENCE_SLOTS = 500, 499  # odd 001..999, even 002..998
_MALE_STRIDES = np.array([s for s in range(1, _MALE_SEQUENCE_SLOTS) if s % 2 and s % 5])


@dataclass(frozen=True, eq=False)
class Population:
    """One entry per resident, in person_id order (person_id = position + 1).

    Arrays are as narrow as their values allow (42 bytes a resident instead of 89: 0.55 GiB less at
    scale 1.0); arithmetic on them that could overflow the narrow type must widen first.
    """

    division: np.ndarray  # int8 index into ZHENGZHOU_DIVISIONS
    male: np.ndarray  # bool
    birth: np.ndarray  # int32 day number
    ethnicity: np.ndarray  # int8 index into ETHNICITIES
    surname: np.ndarray  # int16 index into names.SURNAMES
    given1: np.ndarray  # int16 indices into names.GIVEN_CHARS
    given2: np.ndarray
    id_first17: np.ndarray  # int64: address code, birth date, sequence
    id_check: np.ndarray  # int8 index into identifiers.ID_CHECK_ALPHABET
    household: np.ndarray  # int32 index into Households
    registered_at: np.ndarray  # int64 seconds
    updated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.division)

    def id_numbers(self, rows: np.ndarray) -> np.ndarray:
        return id_numbers(self.id_first17[rows], self.id_check[rows])

    def names(self, rows: np.ndarray) -> np.ndarray:
        return names.render_names(self.surname[rows], self.given1[rows], self.given2[rows])


@dataclass(frozen=True, eq=False)
class Households:
    """One entry per household, in household_id order."""

    division: np.ndarray  # int8
    collective: np.ndarray
    serial: np.ndarray  # int32, within the division, in registration order
    head: np.ndarray  # int32 index into Population
    address: np.ndarray  # text: members live at their household's address
    registered_at: np.ndarray  # seconds
    updated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.division)

    def household_ids(self, rows: np.ndarray) -> np.ndarray:
        """'H' + the 6-digit division code + a 7-digit serial."""
        numbers = DIVISION_CODES[self.division[rows]] * 10**7 + self.serial[rows]
        return np.strings.add("H", numbers.astype(StringDType()))


def simulate_population(residents: int, as_of: dt.date, seed: int) -> tuple[Population, Households]:
    """The city's residents and their households, ``residents`` of them, as of ``as_of``.

    Each array is stored in the narrowest dtype its values fit (``Population``) and every whole-city
    intermediate is dropped once used: at scale 1.0 one int64 per resident is 100 MB.
    """
    division = np.repeat(np.arange(len(ZHENGZHOU_DIVISIONS), dtype=np.int8), allocate(residents, DIVISION_SHARES))
    rng = stream(seed, "population/people")
    male = rng.random(residents) < MALE_SHARE
    age = _draw_ages(rng, residents).astype(np.int8)
    birth = _birth_dates(rng, age, as_of).astype(np.int32)
    household, membership = _form_households(stream(seed, "population/households"), division, age, male)
    family_member = ~membership.collective[household]
    head_of = membership.head[household]

    rng = stream(seed, "population/names")
    ethnicity = _draw_ethnicity(rng, division).astype(np.int8)
    ethnicity[family_member] = ethnicity[head_of[family_member]]  # families share the head's ethnicity
    surname = np.empty(residents, dtype=np.int16)
    for is_hui in (False, True):
        who = np.flatnonzero((ethnicity == HUI) == is_hui)
        surname[who] = rng.choice(len(names.SURNAMES), len(who), p=names.surname_weights(hui=is_hui))
    del who
    children = family_member & (age < ADULT_AGE)
    surname[children] = surname[head_of[children]]  # children carry the head's surname
    del children, family_member, head_of
    birth_year = birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int16) + 1970
    given1, given2 = (given.astype(np.int16) for given in names.draw_given_names(rng, male, birth_year))
    del birth_year

    rng = stream(seed, "population/identity")
    address_code, native = _id_address_codes(rng, division, age, birth)
    del age
    first17 = id_first17(address_code, birth.astype("datetime64[D]"), _id_sequences(rng, address_code, birth, male))
    del address_code
    registered_at, updated_at = _registration_times(stream(seed, "population/registration"), birth, native, as_of)
    del native

    columns = {
        "division": division,
        "male": male,
        "birth": birth,
        "ethnicity": ethnicity,
        "surname": surname,
        "given1": given1,
        "given2": given2,
        "id_first17": first17,
        "id_check": id_check_index(first17).astype(np.int8),
        "household": household,
        "registered_at": registered_at,
        "updated_at": updated_at,
    }
    del division, male, birth, ethnicity, surname, given1, given2, first17, household, registered_at, updated_at
    return _in_registration_order(columns, membership, stream(seed, "population/addresses"))


def _draw_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ages in whole years with the census band shares; within bands fewer recent births, a bulge of
    young working adults (Zhengzhou draws them in), and an old-age tail thinning out towards 100.
    """
    relative = np.ones(101)
    relative[0:5] = 0.75
    relative[15:65] = np.repeat([0.7, 0.95, 1.15, 1.25, 1.1, 0.95, 1.0, 1.0, 0.85, 0.7], 5)
    relative[65:] = np.exp(-(np.arange(65, 101) - 65) / 7)
    probabilities = np.zeros(101)
    for (low, high), share in AGE_BAND_SHARES.items():
        band = relative[low : high + 1]
        probabilities[low : high + 1] = share * band / band.sum()
    return rng.choice(101, n, p=probabilities)


def _birth_dates(rng: np.random.Generator, age: np.ndarray, as_of: dt.date) -> np.ndarray:
    """A birth day number for each age such that the person is exactly that old on ``as_of``."""
    latest = np.array([day_number(years_before(as_of, years)) for years in range(102)])
    earliest = latest[1:] + 1  # the day after turning one year older
    span = latest[:-1] - earliest + 1
    return earliest[age] + (rng.random(len(age)) * span[age]).astype(np.int64)


def _draw_ethnicity(rng: np.random.Generator, division: np.ndarray) -> np.ndarray:
    """Han 98.3 %, the Hui the largest minority and concentrated in Guancheng."""
    n = len(division)
    in_guancheng = division == GUANCHENG
    minority_share = np.where(in_guancheng, _GUANCHENG_MINORITY, _ELSEWHERE_MINORITY)
    hui_share = np.where(in_guancheng, _GUANCHENG_HUI, _ELSEWHERE_HUI)
    draw = rng.random(n)
    other = rng.choice(np.arange(2, len(ETHNICITIES)), n, p=_OTHER_MINORITY_WEIGHTS / _OTHER_MINORITY_WEIGHTS.sum())
    return np.select([draw < hui_share, draw < minority_share], [HUI, other], HAN)


@dataclass(frozen=True, eq=False)
class _Membership:
    """Per household: its division, whether it is collective, and its head."""

    division: np.ndarray
    collective: np.ndarray
    head: np.ndarray


def _form_households(
    rng: np.random.Generator, division: np.ndarray, age: np.ndarray, male: np.ndarray
) -> tuple[np.ndarray, _Membership]:
    """Group each division's residents into family and collective households of census sizes:
    each person's household (int32), and the households."""
    household = np.empty(len(division), dtype=np.int32)
    household_division, collective, heads = [], [], []
    households_so_far = 0
    for index in range(len(ZHENGZHOU_DIVISIONS)):
        members = np.flatnonzero(division == index)
        local_household, local_head, local_collective = _households_of(rng, age[members], male[members])
        household[members] = households_so_far + local_household
        households_so_far += len(local_head)
        heads.append(members[local_head])
        collective.append(local_collective)
        household_division.append(np.full(len(local_head), index, dtype=np.int8))
    heads = np.concatenate(heads).astype(np.int32)
    return household, _Membership(np.concatenate(household_division), np.concatenate(collective), heads)


def _households_of(rng: np.random.Generator, age: np.ndarray, male: np.ndarray) -> tuple[np.ndarray, ...]:
    """For one division's people: each one's household, each household's head and whether it is collective.

    Collective households (dormitories, barracks, care homes) take mostly young adults; a family
    household is headed by an adult (more often a man), with a spouse of similar age where it has
    room for one, and the others (children, parents, relatives) fill the remaining places.
    """
    n = len(age)
    household = np.empty(n, dtype=np.int64)
    collective_people = weighted_top_k(
        rng,
        np.select([age < 15, age < ADULT_AGE, age < 35, age < 60], [0.1, 1.0, 4.0, 2.0], 0.7),
        round(n * COLLECTIVE_PERSONS / RESIDENTS),
    )
    in_family = np.ones(n, dtype=bool)
    in_family[collective_people] = False
    family_people = np.flatnonzero(in_family)

    family_count = _household_count(len(family_people), FAMILY_PERSONS / FAMILY_HOUSEHOLDS)
    sizes = _family_sizes(rng, family_count, len(family_people))
    head_weights = np.where(age[family_people] >= ADULT_AGE, np.where(male[family_people], 2.4, 1.0), 1e-9)
    head_weights *= np.where((age[family_people] >= ADULT_AGE) & (age[family_people] < 25), 0.3, 1.0)
    family_heads = rng.permutation(family_people[weighted_top_k(rng, head_weights, family_count)])
    household[family_heads] = np.arange(family_count)
    unplaced = np.zeros(n, dtype=bool)
    unplaced[family_people] = True
    unplaced[family_heads] = False
    has_spouse = np.zeros(family_count, dtype=bool)
    for head_is_male in (True, False):
        # Pair spouses by age rank, so partners' ages track each other.
        wanting = np.flatnonzero((sizes >= 2) & (male[family_heads] == head_is_male))
        candidates = np.flatnonzero(unplaced & (male != head_is_male) & (age >= ADULT_AGE))
        pairs = min(len(wanting), len(candidates))
        wanting = rng.choice(wanting, pairs, replace=False)
        spouses = rng.choice(candidates, pairs, replace=False)
        wanting = wanting[np.argsort(age[family_heads[wanting]], kind="stable")]
        spouses = spouses[np.argsort(age[spouses], kind="stable")]
        household[spouses] = wanting
        has_spouse[wanting] = True
        unplaced[spouses] = False
    relatives = rng.permutation(np.flatnonzero(unplaced))
    household[relatives] = np.repeat(np.arange(family_count), sizes - 1 - has_spouse)

    collective_count = _household_count(len(collective_people), COLLECTIVE_PERSONS / COLLECTIVE_HOUSEHOLDS)
    if collective_count:
        # A few very large dormitories and many small collective households.
        weights = rng.lognormal(0.0, 1.0, collective_count)
        sizes = 1 + rng.multinomial(len(collective_people) - collective_count, weights / weights.sum())
        household[rng.permutation(collective_people)] = family_count + np.repeat(np.arange(collective_count), sizes)
    # The collective's registered head is its oldest member.
    by_household_oldest_first = np.lexsort((-age[collective_people], household[collective_people]))
    ordered = collective_people[by_household_oldest_first]
    _, rank = runs(household[ordered])
    collective_heads = ordered[rank == 0]

    heads = np.r_[family_heads, collective_heads]
    is_collective = np.r_[np.zeros(family_count, dtype=bool), np.ones(collective_count, dtype=bool)]
    return household, heads, is_collective


def _household_count(people: int, mean_size: float) -> int:
    """Households for ``people`` at ``mean_size``: at least one if anyone lives there, at most one each."""
    return min(people, max(1, round(people / mean_size))) if people else 0


def _family_sizes(rng: np.random.Generator, households: int, people: int) -> np.ndarray:
    """Census-like family sizes, nudged up or down at random until they hold exactly ``people``."""
    sizes = 1 + rng.choice(len(_FAMILY_SIZE_SHARES), households, p=_FAMILY_SIZE_SHARES)
    excess = int(sizes.sum()) - people
    while excess:
        if excess > 0:
            shrinkable = np.flatnonzero(sizes > 1)
            sizes[rng.choice(shrinkable, min(excess, len(shrinkable)), replace=False)] -= 1
        else:
            sizes[rng.choice(households, min(-excess, households), replace=False)] += 1
        excess = int(sizes.sum()) - people
    return sizes


def _id_address_codes(
    rng: np.random.Generator, division: np.ndarray, age: np.ndarray, birth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each person's ID address code (where the ID was first issued) and whether it is their division's."""
    n = len(division)
    own = DIVISION_CODES[division]
    draw = rng.random(n)
    born_elsewhere_share = np.where(age < 15, BORN_ELSEWHERE_SHARE["child"], BORN_ELSEWHERE_SHARE["adult"])
    born_elsewhere = draw < born_elsewhere_share
    moved_within_city = ~born_elsewhere & (draw < born_elsewhere_share + INTRA_CITY_MOVER_SHARE)
    code = own.copy()
    code[moved_within_city] = rng.choice(DIVISION_CODES, int(moved_within_city.sum()), p=DIVISION_SHARES)
    from_henan = born_elsewhere & (rng.random(n) < HENAN_MIGRANT_SHARE)
    henan_weights = np.array(list(_HENAN_BIRTHPLACES.values()), dtype=np.float64)
    code[from_henan] = rng.choice(
        np.array(list(_HENAN_BIRTHPLACES)), int(from_henan.sum()), p=henan_weights / henan_weights.sum()
    )
    from_afar = born_elsewhere & ~from_henan
    code[from_afar] = rng.choice(np.array(_OTHER_BIRTHPLACES), int(from_afar.sum()))
    native = code == own
    code[(code == HUIJI) & (birth < MANGSHAN_RENAMED) & (rng.random(n) < MANGSHAN_ID_SHARE)] = MANGSHAN
    return code, native


def _id_sequences(
    rng: np.random.Generator, address_code: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """GB 11643 sequence numbers: unique per address code and birth date, odd for men and even for women.

    Within each (address, birth date, sex) group the k-th person gets slot (offset + k * stride) mod
    slots, with a random offset and a stride coprime to the slot count, so numbers look scattered
    yet never collide.
    """
    days_since_1800 = birth - day_number(dt.date(1800, 1, 1))
    group_key = (address_code.astype(np.int64) * 1_000_000 + days_since_1800) * 2 + male
    order = np.argsort(group_key, kind="stable")
    group, rank = runs(group_key[order])
    slots = np.where(male[order], _MALE_SEQUENCE_SLOTS, _FEMALE_SEQUENCE_SLOTS)
    if len(rank) and np.any(rank >= slots):
        raise ValueError("more people share an ID address code, birth date and sex than GB 11643 sequences allow")
    group_count = int(group[-1]) + 1 if len(group) else 0
    offset = rng.integers(0, _FEMALE_SEQUENCE_SLOTS, group_count)[group]
    stride = np.where(
        male[order],
        _MALE_STRIDES[rng.integers(0, len(_MALE_STRIDES), group_count)][group],
        rng.integers(1, _FEMALE_SEQUENCE_SLOTS, group_count)[group],
    )
    slot = (offset + rank * stride) % slots
    sequence = np.empty(len(order), dtype=np.int64)
    sequence[order] = np.where(male[order], 2 * slot + 1, 2 * slot + 2)
    return sequence


def _registration_times(
    rng: np.random.Generator, birth: np.ndarray, native: np.ndarray, as_of: dt.date
) -> tuple[np.ndarray, np.ndarray]:
    """When each person's record was created and last changed, in seconds, never after ``as_of``.

    Natives are registered within two months of birth (or in the first year of the 1958 regulations
    if born before); others when they moved in, mostly recently.
    """
    last_day = day_number(as_of)
    newborn = np.maximum(birth + rng.integers(3, 61, len(birth)), HUKOU_REGULATIONS + rng.integers(0, 365, len(birth)))
    arrival_from = np.maximum(birth, MIGRATION_ERA_START)
    arrival = arrival_from + ((last_day - arrival_from) * rng.random(len(birth)) ** 0.5).astype(np.int64)
    registered_at = office_hours(rng, np.minimum(np.where(native, newborn, arrival), last_day))
    return registered_at, later_touch(rng, registered_at, (last_day + 1) * SECONDS_PER_DAY - 1, untouched_share=0.3)


def _in_registration_order(
    columns: dict[str, np.ndarray], membership: _Membership, rng: np.random.Generator
) -> tuple[Population, Households]:
    """Number people and households the way the system did: in order of registration.

    ``columns`` holds the people's arrays by ``Population`` field; each is replaced by its reordered copy
    in turn, so only one column is held twice at a time.
    """
    household_registered = np.full(len(membership.head), np.iinfo(np.int64).max)
    np.minimum.at(household_registered, columns["household"], columns["registered_at"])
    household_updated = np.zeros(len(membership.head), dtype=np.int64)
    np.maximum.at(household_updated, columns["household"], columns["updated_at"])

    household_order = np.lexsort((household_registered, membership.division))
    _, serial = runs(membership.division[household_order])
    new_household = np.empty(len(household_order), dtype=np.int32)
    new_household[household_order] = np.arange(len(household_order))
    person_order = np.argsort(columns["registered_at"], kind="stable")
    new_person = np.empty(len(person_order), dtype=np.int32)
    new_person[person_order] = np.arange(len(person_order))

    for name in columns:
        columns[name] = columns[name][person_order]
    del person_order
    columns["household"] = new_household[columns["household"]]
    del new_household
    reordered = Population(**columns)
    columns.clear()
    division = membership.division[household_order]
    households = Households(
        division=division,
        collective=membership.collective[household_order],
        serial=(serial + 1).astype(np.int32),
        head=new_person[membership.head[household_order]],
        address=draw_addresses(rng, division, "home"),
        registered_at=household_registered[household_order],
        updated_at=household_updated[household_order],
    )
    return reordered, households


def person_rows(people: Population, households: Households, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The text of the ``persons`` columns (all but the key) for the given people."""
    household = people.household[rows]
    return {
        "id_number": people.id_numbers(rows),
        "name": people.names(rows),
        "sex": np.where(people.male[rows], "1", "2"),
        "birth_date": format_dates(people.birth[rows]),
        "ethnicity": ETHNICITIES[people.ethnicity[rows]],
        "household_id": households.household_ids(household),
        "division_code": DIVISION_CODES[people.division[rows]].astype("U6"),
        "address": households.address[household],
        "registered_at": format_timestamps(people.registered_at[rows]),
        "updated_at": format_timestamps(people.updated_at[rows]),
    }


def household_rows(people: Population, households: Households, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The text of all ``households`` columns for the given households."""
    return {
        "household_id": households.household_ids(rows),
        "household_type": np.where(households.collective[rows], "集体户", "家庭户"),
        "head_id_number": people.id_numbers(households.head[rows]),
        "division_code": DIVISION_CODES[households.division[rows]].astype("U6"),
        "address": households.address[rows],
        "registered_at": format_timestamps(households.registered_at[rows]),
        "updated_at": format_timestamps(households.updated_at[rows]),
    }
