import { pathLabel } from '../../db/location-tree.js';
import type { MemberRole } from '../schemas.js';
import {
  ASSETS, COOKING_FUELS, EDUCATION, FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, PLACE_SYLLABLES, PROVINCES,
  ROOF_MATERIALS, TOILETS, WALL_MATERIALS, WATER_SOURCES,
} from './names.js';
import { Random } from './random.js';

export interface SeedLocation {
  id: string;
  code: string;
  name: string;
  kind: 'province' | 'commune' | 'colline';
  level: number;
  parent_code: string | null;
  parent_id: string | null;
  path: string;
}

export interface SeedPerson {
  id: string;
  identifier_type: 'NIN' | 'BIRTH_REG_NO';
  identifier_value: string;
  given_name: string;
  family_name: string;
  sex: 'male' | 'female';
  birth_date: string;
  location_code: string;
  location_id: string;
  phone: string | null;
  role: MemberRole;
  attributes: Record<string, unknown>;
}

export interface SeedHousehold {
  id: string;
  code: string;
  location_code: string;
  location_id: string;
  attributes: Record<string, unknown>;
  members: SeedPerson[];
}

/** Dates are relative to a fixed day, not today, so a seed gives the same registry whenever it runs. */
const REFERENCE_YEAR = 2025;
const HOUSEHOLD_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const SIZE_WEIGHTS = [5, 8, 12, 15, 16, 14, 11, 8, 6, 5];

const placeName = (random: Random) => {
  const syllables = Array.from({ length: random.int(2, 4) }, () => random.pick(PLACE_SYLLABLES)).join('');
  return syllables[0]!.toUpperCase() + syllables.slice(1);
};

/** 18 provinces, 5–9 communes each, 15–35 collines per commune (about 3,000 collines, as in Burundi). */
export function locationTree(seed: number): SeedLocation[] {
  const random = new Random(seed ^ 0x51ed);
  const all: SeedLocation[] = [];
  const add = (parent: SeedLocation | null, code: string, name: string, kind: SeedLocation['kind']) => {
    const id = random.uuid();
    const location: SeedLocation = {
      id,
      code,
      name,
      kind,
      level: parent ? parent.level + 1 : 1,
      parent_code: parent?.code ?? null,
      parent_id: parent?.id ?? null,
      path: parent ? `${parent.path}.${pathLabel(id)}` : pathLabel(id),
    };
    all.push(location);
    return location;
  };
  PROVINCES.forEach((provinceName, p) => {
    const province = add(null, `BI-${String(p + 1).padStart(2, '0')}`, provinceName, 'province');
    const communes = random.int(5, 9);
    for (let c = 1; c <= communes; c++) {
      const commune = add(province, `${province.code}-${String(c).padStart(2, '0')}`, placeName(random), 'commune');
      const collines = random.int(15, 35);
      for (let k = 1; k <= collines; k++) {
        add(commune, `${commune.code}-${String(k).padStart(3, '0')}`, placeName(random), 'colline');
      }
    }
  });
  return all;
}

const isoDate = (year: number, random: Random) =>
  `${year}-${String(random.int(1, 12)).padStart(2, '0')}-${String(random.int(1, 28)).padStart(2, '0')}`;

function householdAttributes(random: Random, size: number): Record<string, unknown> {
  const wealth = random.next();
  const assets = ASSETS.filter((_, i) => random.chance(Math.min(0.9, wealth * (1 - i / 10) + 0.05)));
  return {
    rooms: Math.max(1, Math.min(8, Math.round(size / 2.5 + wealth * 3 + random.next() - 0.5))),
    roof_material: random.weighted(ROOF_MATERIALS, [30 * (1 - wealth), 45, 15, 5 * wealth, 5]),
    wall_material: random.pick(WALL_MATERIALS),
    water_source: random.weighted(WATER_SOURCES, [wealth * 5, 20, 15, 25, 20, 15 * (1 - wealth)]),
    toilet: random.weighted(TOILETS, [10 * (1 - wealth), 55, 25, 5 * wealth]),
    cooking_fuel: random.weighted(COOKING_FUELS, [80, 15, 3 * wealth, 2 * wealth]),
    assets,
    land_hectares: Math.round(random.next() * 2 * (0.5 + wealth) * 100) / 100,
    electricity: random.chance(0.1 + wealth * 0.3),
  };
}

/**
 * Households one at a time (so millions can be written with constant memory), until exactly `individuals`
 * people exist. Each has a head, usually a spouse of the other sex, then children, sometimes a grandparent or
 * another relative. People of 16 and over carry a national ID (NIN); younger children a birth registration number.
 */
export function* households(options: { individuals: number; seed: number; locations: SeedLocation[] }): Generator<SeedHousehold> {
  const random = new Random(options.seed);
  const collines = options.locations.filter((l) => l.kind === 'colline');
  let made = 0;
  let householdNo = 0;
  while (made < options.individuals) {
    householdNo++;
    const size = Math.min(random.weighted(HOUSEHOLD_SIZES, SIZE_WEIGHTS), options.individuals - made);
    const colline = random.pick(collines);
    const person = (role: MemberRole, sex: 'male' | 'female', birthYear: number): SeedPerson => {
      made++;
      const adult = REFERENCE_YEAR - birthYear >= 16;
      const attributes: Record<string, unknown> = { disability: random.chance(0.04) };
      if (REFERENCE_YEAR - birthYear >= 6) attributes.education = random.weighted(EDUCATION, [25, 50, 20, 5]);
      return {
        id: random.uuid(),
        identifier_type: adult ? 'NIN' : 'BIRTH_REG_NO',
        identifier_value: adult ? `BI${String(made).padStart(10, '0')}` : `BR-${birthYear}-${String(made).padStart(8, '0')}`,
        given_name: random.pick(sex === 'male' ? MALE_NAMES : FEMALE_NAMES),
        family_name: random.pick(FAMILY_NAMES),
        sex,
        birth_date: isoDate(birthYear, random),
        location_code: colline.code,
        location_id: colline.id,
        phone: role === 'head' && random.chance(0.6) ? `+257${random.pick(['6', '7'])}${String(random.int(0, 9_999_999)).padStart(7, '0')}` : null,
        role,
        attributes,
      };
    };
    const headSex = random.chance(0.75) ? 'male' : 'female';
    const headYear = REFERENCE_YEAR - random.int(18, 80);
    const members = [person('head', headSex, headYear)];
    if (members.length < size && random.chance(0.8)) {
      members.push(person('spouse', headSex === 'male' ? 'female' : 'male', headYear + random.int(-3, 8)));
    }
    if (members.length < size && random.chance(0.1)) {
      members.push(person('grandparent', random.chance(0.7) ? 'female' : 'male', headYear - random.int(18, 30)));
    }
    while (members.length < size) {
      const role: MemberRole = random.chance(0.92) ? 'child' : 'other_relative';
      const year = Math.min(REFERENCE_YEAR, headYear + random.int(17, 45));
      members.push(person(role, random.chance(0.5) ? 'male' : 'female', year));
    }
    yield {
      id: random.uuid(),
      code: `HH-${String(householdNo).padStart(8, '0')}`,
      location_code: colline.code,
      location_id: colline.id,
      attributes: householdAttributes(random, members.length),
      members,
    };
  }
}
