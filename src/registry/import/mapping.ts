import fs from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isDateFormat } from './dates.js';
import { FIELDS, type ImportType } from './fields.js';

/** How one source column becomes a field of the record or a custom attribute. */
const ColumnRule = Type.Object(
  {
    field: Type.Optional(Type.String()),
    attribute: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' })),
    type: Type.Optional(Type.Union(['string', 'integer', 'number', 'boolean', 'date', 'json'].map((t) => Type.Literal(t)))),
    format: Type.Optional(Type.String({ description: 'Date shape, e.g. DD/MM/YYYY' })),
    codes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Source value → stored value' })),
  },
  { additionalProperties: false },
);
export type ColumnRule = Static<typeof ColumnRule> & { type?: AttributeType };
export type AttributeType = 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'json';

const MappingFile = Type.Object(
  {
    columns: Type.Record(Type.String(), Type.Union([Type.String(), ColumnRule])),
    constants: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export interface Mapping {
  /** Source column → rule; columns not listed are ignored. */
  columns: Map<string, ColumnRule>;
  /** Field values used when no column gives one (e.g. every identifier in the file is a NIN). */
  constants: Record<string, unknown>;
}

export class MappingError extends Error {}

/** Checks a mapping against the fields of the import type, so a typo fails before the first row is read. */
export function mappingFrom(json: unknown, type: ImportType): Mapping {
  if (!Value.Check(MappingFile, json)) {
    const first = [...Value.Errors(MappingFile, json)][0];
    throw new MappingError(`mapping: ${first?.path || '/'} ${first?.message ?? 'is invalid'}`);
  }
  const fieldNames = FIELDS[type].map((f) => f.name);
  const columns = new Map<string, ColumnRule>();
  for (const [column, rule] of Object.entries(json.columns)) {
    const normal: ColumnRule = typeof rule === 'string' ? { field: rule } : (rule as ColumnRule);
    if ((normal.field === undefined) === (normal.attribute === undefined)) {
      throw new MappingError(`mapping: column "${column}" needs exactly one of field or attribute`);
    }
    if (normal.field !== undefined && !fieldNames.includes(normal.field)) {
      throw new MappingError(`mapping: column "${column}": unknown field "${normal.field}" for ${type} (fields: ${fieldNames.join(', ')})`);
    }
    if (normal.format !== undefined && !isDateFormat(normal.format)) {
      throw new MappingError(`mapping: column "${column}": date format "${normal.format}" needs YYYY, MM and DD once each`);
    }
    columns.set(column, normal);
  }
  const constants = json.constants ?? {};
  for (const name of Object.keys(constants)) {
    if (!fieldNames.includes(name)) throw new MappingError(`mapping: constant for unknown field "${name}"`);
  }
  return { columns, constants };
}

export function readMapping(file: string, type: ImportType): Mapping {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MappingError(`mapping: cannot read ${file}: ${(err as Error).message}`);
  }
  return mappingFrom(json, type);
}

/** Without a mapping the file's columns must be the canonical field names (what `hub seed --csv` writes). */
export function identityMapping(type: ImportType, header: string[]): Mapping {
  const fieldNames = FIELDS[type].map((f) => f.name);
  const unknown = header.filter((c) => !fieldNames.includes(c));
  if (unknown.length > 0) {
    throw new MappingError(
      `column ${unknown.map((c) => `"${c}"`).join(', ')} is not a ${type} field (${fieldNames.join(', ')}); give a --mapping to map or ignore it`,
    );
  }
  return { columns: new Map(header.map((c) => [c, { field: c }])), constants: {} };
}
