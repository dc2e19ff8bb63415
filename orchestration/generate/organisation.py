"""The synthetic organisation: an administration, three operating areas and their units.

Without a municipality the organisation is the one every test and demo has always had. A
municipality's own (`municipality` set) is named after it and has its own shape: how its areas
are called, how many authority and provider units each area has and what the units are called
are drawn from the generator's stream for that municipality, so two municipalities differ while
either stays the same for one seed. Unit identifiers follow the same scheme everywhere
(ORG-1, ORG-10, ...): two case systems can well both have a unit ORG-10, and the national
warehouse must tell them apart by the municipality.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AREAS = ("children_families", "adult_disability", "adult_psychiatry_social")
AREA_NAMES = {
    "children_families": ("Børn og Familier", "BF"),
    "adult_disability": ("Voksne Handicap", "VH"),
    "adult_psychiatry_social": ("Voksne Psykiatri og Udsatte", "VPU"),
}
PROVIDER_KINDS = {
    "children_families": ("Familiehuset", "Opholdsstedet", "Ungecentret", "Skolehjemmet"),
    "adult_disability": ("Bostedet", "Botilbuddet", "Aktivitetscentret", "Værkstedet"),
    "adult_psychiatry_social": ("Støttecentret", "Værestedet", "Bofællesskabet", "Forsorgshjemmet"),
}
PLACES = (
    "Ålykke", "Søhøj", "Æblehaven", "Kærgården", "Østergården", "Bøgely", "Skovbrynet",
    "Møllegården", "Fjordglimt", "Lærkereden", "Højvang", "Engholm", "Strandgården", "Nørrebo",
    "Vestervang", "Grønnegården", "Solsikken", "Birkely", "Egebjerg", "Hvidkløver", "Tårnhøj",
    "Rønnebær", "Dalgården", "Åbrinken", "Kløvermarken", "Præstø Allé", "Fælleden", "Sølyst",
)  # fmt: skip
DISTRICTS = ("Nord", "Syd", "Øst", "Vest", "Midt", "Centrum", "Land", "Havn")
# What a municipality may call its operating areas (the first is the default organisation's).
AREA_NAME_CHOICES = {
    "children_families": (
        ("Børn og Familier", "BF"), ("Børn, Unge og Familier", "BUF"),
        ("Familie og Forebyggelse", "FF"), ("Børn og Unge", "BU"),
    ),
    "adult_disability": (
        ("Voksne Handicap", "VH"), ("Handicap og Rehabilitering", "HR"),
        ("Voksenhandicap", "VHC"), ("Specialområdet Handicap", "SH"),
    ),
    "adult_psychiatry_social": (
        ("Voksne Psykiatri og Udsatte", "VPU"), ("Socialpsykiatri og Udsatte", "SPU"),
        ("Psykiatri og Misbrug", "PM"), ("Social og Psykiatri", "SP"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class OrgUnit:
    org_unit_id: str
    name: str
    level: int
    parent_org_unit_id: str | None
    org_role: str | None
    operating_area: str | None
    opened_on: int  # days since 1970-01-01
    closed_on: int | None


@dataclass(frozen=True)
class UnitPool:
    """Level-3 units of one area and role, as arrays for vectorised picking."""

    ids: np.ndarray
    opened: np.ndarray
    closed: np.ndarray  # a far-future day where open

    def pick_active(self, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each day, a uniformly drawn unit that is open on it (index into ids)."""
        active = (self.opened[None, :] <= days[:, None]) & (self.closed[None, :] > days[:, None])
        counts = active.sum(axis=1)
        if np.any(counts == 0):
            raise ValueError("no open unit on a day a case or intervention needs one")
        wanted = (rng.random(len(days)) * counts).astype(np.int64)
        return np.argmax(np.cumsum(active, axis=1) > wanted[:, None], axis=1)


OPEN_FOREVER = np.iinfo(np.int64).max // 2


@dataclass(frozen=True)
class Shape:
    """How one organisation is named and sized, per operating area."""

    administration: str
    area_names: dict[str, tuple[str, str]]  # area: (name, short name)
    authorities: dict[str, int]
    providers: dict[str, int]
    districts: tuple[str, ...] = DISTRICTS
    places: tuple[str, ...] = PLACES


def default_shape(n_citizens: int) -> Shape:
    n_authorities = min(2 + n_citizens // 40_000, len(DISTRICTS))
    n_providers = min(4 + n_citizens // 8_000, 60)
    return Shape(
        "Socialforvaltningen",
        dict(AREA_NAMES),
        dict.fromkeys(AREAS, n_authorities),
        dict.fromkeys(AREAS, n_providers),
    )


def municipal_shape(n_citizens: int, name: str, rng: np.random.Generator) -> Shape:
    """A municipality's own names and unit counts: about the default's for its size, each area
    with one authority more or less and 60-140% of the providers, at least three."""
    default = default_shape(n_citizens)
    authorities, providers, area_names = {}, {}, {}
    for area in AREAS:
        choices = AREA_NAME_CHOICES[area]
        area_names[area] = choices[int(rng.integers(0, len(choices)))]
        n = default.authorities[area] + int(rng.integers(-1, 2))
        authorities[area] = min(max(n, 1), len(DISTRICTS))
        providers[area] = min(max(round(default.providers[area] * rng.uniform(0.6, 1.4)), 3), 60)
    return Shape(
        f"Socialforvaltningen, {name}",
        area_names,
        authorities,
        providers,
        districts=tuple(rng.permutation(DISTRICTS).tolist()),
        places=tuple(rng.permutation(PLACES).tolist()),
    )


def build_organisation(
    n_citizens: int,
    start: int,
    end: int,
    rng: np.random.Generator,
    municipality: str | None = None,
) -> list[OrgUnit]:
    """A 3-level organisation sized to the population; some units close and are replaced.

    `municipality` (its name) gives the municipality's own shape (`municipal_shape`).
    """
    shape = (
        default_shape(n_citizens)
        if municipality is None
        else municipal_shape(n_citizens, municipality, rng)
    )
    founded = start - 3650
    units = [OrgUnit("ORG-1", shape.administration, 1, None, None, None, founded, None)]
    for a, area in enumerate(AREAS, start=1):
        area_name, short = shape.area_names[area]
        area_id = f"ORG-{a}0"
        units.append(OrgUnit(area_id, area_name, 2, "ORG-1", None, area, founded, None))
        for d in range(shape.authorities[area]):
            units.append(
                OrgUnit(
                    f"ORG-{a}1{d:02d}",
                    f"Myndighed {short} {shape.districts[d]}",
                    3,
                    area_id,
                    "authority",
                    area,
                    founded,
                    None,
                )
            )
        names = _provider_names(area, shape.providers[area], shape.places)
        for p, name in enumerate(names):
            unit_id = f"ORG-{a}2{p:02d}"
            closes = p > 0 and rng.random() < 0.15 and end - start > 400
            if area == "children_families" and p == 1:
                name, closes = "Døgncentret", end - start > 400  # the seeds' closed unit
            if not closes:
                units.append(OrgUnit(unit_id, name, 3, area_id, "provider", area, founded, None))
                continue
            closed_on = int(rng.integers(start + 180, end - 180))
            units.append(OrgUnit(unit_id, name, 3, area_id, "provider", area, founded, closed_on))
            units.append(
                OrgUnit(
                    f"ORG-{a}3{p:02d}", f"{name} II", 3, area_id, "provider", area, closed_on, None
                )
            )
    return units


def _provider_names(area: str, n: int, places: tuple[str, ...] = PLACES) -> list[str]:
    kinds = PROVIDER_KINDS[area]
    offset = AREAS.index(area) * 5
    names = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        place = places[(offset + i) % len(places)]
        suffix = "" if i < len(places) else f" {i // len(places) + 1}"
        names.append(f"{kind} {place}{suffix}")
    return names


def unit_pools(units: list[OrgUnit]) -> dict[tuple[str, str], UnitPool]:
    pools: dict[tuple[str, str], UnitPool] = {}
    for area in AREAS:
        for role in ("authority", "provider"):
            chosen = [u for u in units if u.operating_area == area and u.org_role == role]
            pools[area, role] = UnitPool(
                ids=np.array([u.org_unit_id for u in chosen]),
                opened=np.array([u.opened_on for u in chosen], dtype=np.int64),
                closed=np.array(
                    [OPEN_FOREVER if u.closed_on is None else u.closed_on for u in chosen],
                    dtype=np.int64,
                ),
            )
    return pools
