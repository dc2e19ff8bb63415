"""The synthetic organisation: an administration, three operating areas and their units."""

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


def build_organisation(
    n_citizens: int, start: int, end: int, rng: np.random.Generator
) -> list[OrgUnit]:
    """A 3-level organisation sized to the population; some units close and are replaced."""
    founded = start - 3650
    units = [OrgUnit("ORG-1", "Socialforvaltningen", 1, None, None, None, founded, None)]
    n_authorities = min(2 + n_citizens // 40_000, len(DISTRICTS))
    n_providers = min(4 + n_citizens // 8_000, 60)
    for a, area in enumerate(AREAS, start=1):
        area_name, short = AREA_NAMES[area]
        area_id = f"ORG-{a}0"
        units.append(OrgUnit(area_id, area_name, 2, "ORG-1", None, area, founded, None))
        for d in range(n_authorities):
            units.append(
                OrgUnit(
                    f"ORG-{a}1{d:02d}",
                    f"Myndighed {short} {DISTRICTS[d]}",
                    3,
                    area_id,
                    "authority",
                    area,
                    founded,
                    None,
                )
            )
        names = _provider_names(area, n_providers)
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


def _provider_names(area: str, n: int) -> list[str]:
    kinds = PROVIDER_KINDS[area]
    offset = AREAS.index(area) * 5
    names = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        place = PLACES[(offset + i) % len(PLACES)]
        suffix = "" if i < len(PLACES) else f" {i // len(PLACES) + 1}"
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
