import fc from 'fast-check';

/**
 * fast-check arbitraries driven by a JSON Schema: the subset our documents use (OpenAPI 3.1 from TypeBox, the DCI
 * schemas, the R4 JSON Schema). No maintained JSON-Schema → fast-check generator exists for fast-check 4
 * (json-schema-fast-check needs fast-check 1), hence this one. Values are mostly valid, so requests get past the
 * first checks, and sometimes hostile (NUL, lone surrogates, wrong JSON types, huge numbers and strings, deep
 * nesting, unknown fields).
 */
export type Schema = Record<string, unknown> | boolean;

export interface SchemaSource {
  /** The schema a `$ref` points at, and the document it lies in (for the refs inside it). */
  resolve(ref: string, from: string): { schema: Schema; doc: string };
}

const deep = (depth: number): unknown => (depth === 0 ? 'bottom' : [deep(depth - 1)]);

/** Values that broke, or could break, a surface: each must be answered with a 4xx, never a 5xx. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    'a\u0000b',
    '\u0000',
    'x\ud800',
    '\udc00y',
    null,
    {},
    [],
    true,
    0,
    -1,
    1e308,
    -1e308,
    2 ** 53 + 1,
    2 ** 31,
    0.5,
    '',
    ' ',
    'x'.repeat(70_000),
    '1e400',
    'NaN',
    'Infinity',
    '-0',
    '9999-12-31T23:59:59Z',
    '275760-09-13',
    '00000000-0000-0000-0000-000000000000',
    "'; DROP TABLE individuals; --",
    '%00',
    '../../etc/passwd',
    deep(2000),
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.double(),
  fc.integer(),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

const formats: Record<string, fc.Arbitrary<string>> = {
  uuid: fc.uuid(),
  date: fc.date({ min: new Date('1900-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  'date-time': fc.date({ min: new Date('1970-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  email: fc.emailAddress(),
  uri: fc.webUrl(),
};

function stringArbitrary(schema: Record<string, unknown>): fc.Arbitrary<string> {
  const format = schema.format as string | undefined;
  if (format && formats[format]) return formats[format]!;
  const minLength = Math.min(Number(schema.minLength ?? 0), 50);
  const maxLength = Math.max(minLength, Math.min(Number(schema.maxLength ?? 30), 60));
  if (typeof schema.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= Math.max(maxLength, 200));
    } catch {
      // A pattern JavaScript cannot compile: plain text then.
    }
  }
  return fc.string({ minLength, maxLength });
}

function numberArbitrary(schema: Record<string, unknown>, integer: boolean): fc.Arbitrary<number> {
  const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : -1e6;
  const max = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - 1 : 1e6;
  return integer
    ? fc.integer({ min: Math.max(Math.ceil(min), -(2 ** 31)), max: Math.min(Math.floor(max), 2 ** 31 - 1) })
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

/**
 * An arbitrary of values for `schema` (in document `doc`). `hostility` is the chance (0–1) that a value is replaced
 * by a hostile one, at every level; `depth` bounds recursion (R4 is recursive through Extension).
 */
export function arbitraryOf(source: SchemaSource, schema: Schema, doc: string, hostility: number, depth = 6): fc.Arbitrary<unknown> {
  const valid = validArbitrary(source, schema, doc, hostility, depth);
  if (hostility <= 0) return valid;
  const weight = Math.max(1, Math.round(hostility * 100));
  return fc.oneof({ arbitrary: valid, weight: 100 - weight }, { arbitrary: hostile, weight });
}

function validArbitrary(source: SchemaSource, schema: Schema, doc: string, hostility: number, depth: number): fc.Arbitrary<unknown> {
  if (schema === true || schema === false || depth < 0) return fc.jsonValue({ maxDepth: 1 });
  const next = (s: Schema, d = doc) => arbitraryOf(source, s, d, hostility, depth - 1);
  if (typeof schema.$ref === 'string') {
    const target = source.resolve(schema.$ref, doc);
    return fc.constant(null).chain(() => next(target.schema, target.doc));
  }
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[key])) return fc.oneof(...(schema[key] as Schema[]).map((s) => next(s)));
  }
  if (Array.isArray(schema.allOf)) {
    // Merged shallowly: enough for our documents (a $ref plus a narrowed property or two).
    const parts = (schema.allOf as Record<string, unknown>[]).map((s) => (typeof s.$ref === 'string' ? source.resolve(s.$ref, doc) : { schema: s, doc }));
    const merged = parts.reduce<Record<string, unknown>>(
      (all, { schema: s }) => ({
        ...all,
        ...(s as object),
        properties: { ...(all.properties as object), ...((s as Record<string, unknown>).properties as object) },
        required: [...((all.required as string[]) ?? []), ...(((s as Record<string, unknown>).required as string[]) ?? [])],
      }),
      {},
    );
    return next(merged, parts[0]?.doc ?? doc);
  }
  const type = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : schema.properties ? ['object'] : [];
  if (type.length > 1) return fc.oneof(...type.map((t) => next({ ...schema, type: t })));
  switch (type[0]) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(next((schema.items as Schema) ?? true), { maxLength: Math.min(Number(schema.maxItems ?? 3), 3), minLength: Math.min(Number(schema.minItems ?? 0), 3) });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const names = Object.keys(properties);
      const optional = names.filter((n) => !required.has(n));
      const wanted = fc.record(Object.fromEntries([...required].filter((n) => properties[n]).map((n) => [n, next(properties[n]!)])));
      const extra = optional.length === 0 ? fc.constant([] as string[]) : fc.subarray(optional, { maxLength: Math.min(optional.length, depth > 3 ? 6 : 2) });
      const unknown = hostility > 0 ? fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), { freq: 10, nil: {} }) : fc.constant({});
      return fc
        .tuple(wanted, extra.chain((picked) => fc.record(Object.fromEntries(picked.map((n) => [n, next(properties[n]!)])))), unknown)
        .map(([a, b, c]) => ({ ...c, ...b, ...a }));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}
