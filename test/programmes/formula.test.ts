import fc from 'fast-check';
import t, { type Test } from 'tap';
import { sql } from 'drizzle-orm';
import { compileFormula, type Vocabulary } from '../../src/programmes/formula/compile.js';
import { FormulaError, parseFormula } from '../../src/programmes/formula/parse.js';
import { groupVocabulary, individualVocabulary } from '../../src/programmes/formula/registry-vocabulary.js';
import { groupMembers, groups, individuals } from '../../src/db/schema/index.js';
import { queryRows } from '../../src/db/query-rows.js';
import { freshDatabase } from '../helpers/hub.js';
import { evaluate, type Row } from './formula-oracle.js';

const AS_OF = '2026-01-01';
const people = individualVocabulary('i', AS_OF, { rooms: 'number', income: 'number', disabled: 'boolean', water: 'text' });

function refused(t: Test, source: string, vocabulary: Vocabulary, pattern: RegExp, position?: number, expected?: 'number') {
  try {
    compileFormula(source, vocabulary, expected);
    t.fail(`${source} should be refused`);
  } catch (err) {
    t.type(err, FormulaError, source);
    t.match((err as Error).message, pattern, source);
    if (position !== undefined) t.equal((err as FormulaError).position, position, `${source}: position`);
  }
}

t.test('invalid formulas are refused with the position and the unknown name', async (t) => {
  refused(t, 'rooms + wealth', people, /unknown name "wealth" \(at character 9\)/, 8);
  refused(t, 'age > 5 and rooms >', people, /Expected expression/);
  refused(t, 'sqrt(rooms)', people, /unknown function "sqrt"/, 0);
  refused(t, "rooms + 'two'", people, /right side of \+ must be a number/);
  refused(t, "sex == 1", people, /cannot compare a text with a number/);
  refused(t, 'if(age > 5, 1, true)', people, /both branches of if/);
  refused(t, 'count_members()', people, /only available for households/);
  refused(t, 'min()', people, /min\(\) takes 1 to 20 arguments/);
  refused(t, 'rooms > 1', people, /must give a number, not a boolean/, undefined, 'number');
});

t.test('hostile formulas never reach SQL', async (t) => {
  for (const source of [
    "rooms; DROP TABLE individuals",
    'constructor',
    '__proto__',
    'toString()',
    'rooms.constructor',
    'this',
    '[1, 2]',
    'rooms["x"]',
    'rooms = 1',
    '/x/',
    "age > 1 || (select(1))",
    'rooms | 1',
    '1e400 + rooms',
  ]) {
    refused(t, source, people, /./);
  }
  t.throws(() => parseFormula('1 + '.repeat(600) + '1'), /longer than 2000 characters/);
  t.throws(() => parseFormula('not '.repeat(60) + 'true'), /nests deeper than 40 levels/);
  const wide = `min(${Array.from({ length: 20 }, () => `max(${Array.from({ length: 20 }, (_, i) => `a${i}`).join(', ')})`).join(', ')})`;
  t.throws(() => parseFormula(wide), /more than 400 terms/);
});

function rowOf(seed: number) {
  const rnd = (n: number) => Math.floor(Math.abs(Math.sin(seed * 9301 + n * 49297)) * 1000);
  const rooms = rnd(1) % 5 === 0 ? null : rnd(1) % 7 === 0 ? 'many' : (rnd(2) % 8) - 1;
  return {
    givenName: `p${seed}`,
    familyName: 'oracle',
    sex: rnd(3) % 2 === 0 ? 'female' : 'male',
    birthDate: `19${String(40 + (rnd(4) % 60)).padStart(2, '0')}-${String(1 + (rnd(5) % 12)).padStart(2, '0')}-${String(1 + (rnd(6) % 28)).padStart(2, '0')}`,
    attributes: {
      ...(rooms === null ? {} : { rooms }),
      income: (rnd(7) % 200) - 20,
      ...(rnd(8) % 3 === 0 ? {} : { disabled: rnd(9) % 2 === 0 }),
      water: rnd(10) % 2 === 0 ? 'well' : 'tap',
    },
  };
}

function ageOn(birth: string, asOf: string): number {
  const [by, bm, bd] = birth.split('-').map(Number) as [number, number, number];
  const [y, m, d] = asOf.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

const numeric = (v: unknown) => (v === null || v === undefined ? null : Number(v));

t.test('compiled SQL agrees with a plain evaluation on the same data (property test)', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  const inserted = await database.db.insert(individuals).values(Array.from({ length: 60 }, (_, i) => rowOf(i + 1))).returning();
  const oracleRows = new Map<string, Row>(
    inserted.map((r) => {
      const a = r.attributes as Record<string, unknown>;
      return [
        r.id,
        {
          age: ageOn(r.birthDate!, AS_OF),
          sex: r.sex,
          deceased: false,
          rooms: typeof a.rooms === 'number' ? a.rooms : null,
          income: a.income as number,
          disabled: typeof a.disabled === 'boolean' ? a.disabled : null,
          water: a.water as string,
        },
      ];
    }),
  );

  const { num, bool } = fc.letrec((tie) => ({
    num: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.integer({ min: -9, max: 20 }).map(String),
      fc.constantFrom('rooms', 'income', 'age'),
      fc.tuple(tie('num'), fc.constantFrom('+', '-', '*', '/', '%'), tie('num')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(fc.constantFrom('min', 'max'), tie('num'), tie('num')).map(([f, a, b]) => `${f}(${a}, ${b})`),
      fc.tuple(tie('bool'), tie('num'), tie('num')).map(([c, a, b]) => `if(${c}, ${a}, ${b})`),
      tie('num').map((a) => `abs(${a})`),
      tie('num').map((a) => `(-${a})`),
    ),
    bool: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('disabled', 'true', 'false', "(sex == 'female')", "(water != 'tap')", 'deceased'),
      fc.tuple(tie('num'), fc.constantFrom('==', '!=', '<', '<=', '>', '>='), tie('num')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(tie('bool'), fc.constantFrom('and', 'or', '&&', '||'), tie('bool')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      tie('bool').map((a) => `(not ${a})`),
    ),
  }));

  let checked = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(num, bool), async (source) => {
      const compiled = compileFormula(source, people);
      const rows = await queryRows<{ id: string; v: unknown }>(
        database.db,
        sql`SELECT i.id, ${compiled.sql} AS v FROM individuals i`,
      );
      const tree = parseFormula(source);
      for (const row of rows) {
        const expected = evaluate(tree, oracleRows.get(row.id)!);
        if (compiled.type === 'number') {
          const got = numeric(row.v);
          if (expected === null || got === null) {
            if (expected !== got) throw new Error(`${source}: SQL ${got}, plain ${expected}`);
          } else if (Math.abs(got - (expected as number)) > 1e-6 * Math.max(1, Math.abs(expected as number))) {
            throw new Error(`${source}: SQL ${got}, plain ${expected}`);
          }
        } else if ((row.v ?? null) !== expected) {
          throw new Error(`${source}: SQL ${row.v}, plain ${expected}`);
        }
      }
      checked++;
    }),
    { numRuns: 150, seed: 20261126 },
  );
  t.equal(checked >= 150, true, `${checked} formulas agreed on ${oracleRows.size} records`);
});

t.test('household formulas: size and count_members(condition)', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  const [household] = await database.db.insert(groups).values({ code: 'HH-F', attributes: { rooms: 2 } }).returning();
  const members = await database.db
    .insert(individuals)
    .values([
      { givenName: 'a', familyName: 'f', birthDate: '1980-01-01', sex: 'female' },
      { givenName: 'b', familyName: 'f', birthDate: '2023-06-01', sex: 'male' },
      { givenName: 'c', familyName: 'f', birthDate: '2024-02-01', sex: 'female' },
      { givenName: 'd', familyName: 'f', birthDate: '2010-02-01', sex: 'male' },
    ])
    .returning();
  await database.db.insert(groupMembers).values(
    members.map((m, i) => ({ groupId: household!.id, individualId: m.id, role: i === 0 ? 'head' : 'child', endDate: i === 3 ? '2025-01-01' : null })),
  );
  const vocabulary = groupVocabulary('g', AS_OF, { rooms: 'number' }, {});
  const value = async (source: string) => {
    const { sql: expression } = compileFormula(source, vocabulary);
    const [row] = await queryRows<{ v: unknown }>(database.db, sql`SELECT ${expression} AS v FROM groups g ${vocabulary.joins()} WHERE g.id = ${household!.id}`);
    return row!.v === null ? null : typeof row!.v === 'boolean' ? row!.v : Number(row!.v);
  };
  t.equal(await value('size'), 3, 'ended memberships do not count');
  t.equal(await value('count_members(age < 5)'), 2);
  t.equal(await value("count_members(sex == 'female' and age >= 18)"), 1);
  t.equal(await value('1000 + 5000 * min(count_members(), 6) - 100 * rooms'), 15800);
  t.equal(await value('count_members(age < 5) > 0 and rooms <= 2'), true);
  t.throws(() => compileFormula('count_members(rooms > 1)', vocabulary), /unknown name "rooms"/, 'member conditions see members, not the household');
  t.throws(() => compileFormula('count_members(count_members() > 1)', vocabulary), /only available for households/);
});

t.test('household formulas agree with a plain evaluation over their members (property test)', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  // Twelve households; the last has no member. Some memberships ended, some members deleted or deceased.
  const households = await database.db
    .insert(groups)
    .values(Array.from({ length: 12 }, (_, h) => ({ code: `HH-P${h}`, attributes: { ...(h % 4 === 0 ? {} : { rooms: h % 5 }), electricity: h % 3 === 0 } })))
    .returning();
  const people = await database.db
    .insert(individuals)
    .values(
      Array.from({ length: 60 }, (_, i) => ({
        ...rowOf(i + 101),
        deathDate: i % 13 === 0 ? '2025-03-01' : null,
        deletedAt: i % 11 === 0 ? new Date('2025-01-01T00:00:00Z') : null,
      })),
    )
    .returning();
  await database.db.insert(groupMembers).values(
    people.map((p, i) => ({ groupId: households[i % 11]!.id, individualId: p.id, role: 'member', endDate: i % 7 === 0 ? '2025-01-01' : null })),
  );
  const membersOf = new Map<string, Row[]>(households.map((h) => [h.id, []]));
  people.forEach((p, i) => {
    if (i % 7 === 0 || p.deletedAt !== null) return;
    const a = p.attributes as Record<string, unknown>;
    membersOf.get(households[i % 11]!.id)!.push({
      age: ageOn(p.birthDate!, AS_OF),
      sex: p.sex,
      deceased: p.deathDate !== null,
      income: a.income as number,
      disabled: typeof a.disabled === 'boolean' ? a.disabled : null,
    });
  });
  const householdRows = new Map<string, Row>(
    households.map((h) => {
      const a = h.attributes as Record<string, unknown>;
      return [h.id, { rooms: typeof a.rooms === 'number' ? a.rooms : null, electricity: a.electricity as boolean, size: membersOf.get(h.id)!.length }];
    }),
  );

  const { member } = fc.letrec((tie) => ({
    member: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('disabled', 'deceased', "(sex == 'female')", 'true'),
      fc.tuple(fc.constantFrom('age', 'income'), fc.constantFrom('<', '>=', '=='), fc.integer({ min: -5, max: 90 })).map(([v, op, n]) => `(${v} ${op} ${n})`),
      fc.tuple(tie('member'), fc.constantFrom('and', 'or'), tie('member')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      tie('member').map((a) => `(not ${a})`),
    ),
  }));
  const { num, bool } = fc.letrec((tie) => ({
    num: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.integer({ min: -3, max: 9 }).map(String),
      fc.constantFrom('rooms', 'size', 'count_members()'),
      member.map((m) => `count_members(${m})`),
      fc.tuple(tie('num'), fc.constantFrom('+', '-', '*', '/'), tie('num')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(fc.constantFrom('min', 'max'), tie('num'), tie('num')).map(([f, a, b]) => `${f}(${a}, ${b})`),
      fc.tuple(tie('bool'), tie('num'), tie('num')).map(([c, a, b]) => `if(${c}, ${a}, ${b})`),
    ),
    bool: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant('electricity'),
      fc.tuple(tie('num'), fc.constantFrom('==', '<', '>='), tie('num')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(tie('bool'), fc.constantFrom('and', 'or'), tie('bool')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      tie('bool').map((a) => `(not ${a})`),
    ),
  }));

  let checked = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(num, bool), async (source) => {
      const vocabulary = groupVocabulary('g', AS_OF, { rooms: 'number', electricity: 'boolean' }, { income: 'number', disabled: 'boolean' });
      const compiled = compileFormula(source, vocabulary);
      const rows = await queryRows<{ id: string; v: unknown }>(database.db, sql`SELECT g.id, ${compiled.sql} AS v FROM groups g ${vocabulary.joins()}`);
      t.equal(rows.length, households.length, `${source}: one row per household`);
      const tree = parseFormula(source);
      for (const row of rows) {
        const expected = evaluate(tree, householdRows.get(row.id)!, membersOf.get(row.id)!);
        const got = compiled.type === 'number' ? numeric(row.v) : (row.v ?? null);
        const same =
          typeof got === 'number' && typeof expected === 'number'
            ? Math.abs(got - expected) <= 1e-6 * Math.max(1, Math.abs(expected))
            : got === expected;
        if (!same) throw new Error(`${source}: SQL ${got}, plain ${expected}`);
      }
      checked++;
    }),
    { numRuns: 80, seed: 20261127 },
  );
  t.equal(checked >= 80, true, `${checked} household formulas agreed on ${households.length} households`);
});
