import { parseDate } from './dates.js';
import { CIVIL_EVENT_TYPES } from '../civil-event-schemas.js';
import type { AttributeType, ColumnRule, Mapping } from './mapping.js';

export type ImportType = 'locations' | 'individuals' | 'households' | 'members' | 'civil-events';
export const IMPORT_TYPES: ImportType[] = ['locations', 'individuals', 'households', 'members', 'civil-events'];

type Kind =
  | 'text' | 'code' | 'identifier_type' | 'date' | 'past_date' | 'sex' | 'role' | 'email' | 'attributes' | 'kind' | 'event_type' | 'boolean';

interface FieldSpec {
  name: string;
  kind: Kind;
  required?: boolean;
  max?: number;
}

const identifier: FieldSpec[] = [
  { name: 'identifier_type', kind: 'identifier_type', required: true },
  { name: 'identifier_value', kind: 'text', required: true, max: 128 },
];

/** The canonical fields of each import type: the keys of the upsert first. */
export const FIELDS: Record<ImportType, FieldSpec[]> = {
  locations: [
    { name: 'code', kind: 'code', required: true },
    { name: 'name', kind: 'text', required: true, max: 200 },
    { name: 'kind', kind: 'text', max: 64 },
    { name: 'parent_code', kind: 'code' },
  ],
  individuals: [
    ...identifier,
    { name: 'given_name', kind: 'text', required: true, max: 200 },
    { name: 'family_name', kind: 'text', required: true, max: 200 },
    { name: 'middle_name', kind: 'text', max: 200 },
    { name: 'sex', kind: 'sex' },
    { name: 'birth_date', kind: 'past_date' },
    { name: 'death_date', kind: 'past_date' },
    { name: 'location_code', kind: 'code' },
    { name: 'phone', kind: 'text', max: 40 },
    { name: 'email', kind: 'email' },
    { name: 'attributes', kind: 'attributes' },
  ],
  households: [
    { name: 'household_code', kind: 'code', required: true },
    { name: 'kind', kind: 'kind' },
    { name: 'name', kind: 'text', max: 200 },
    { name: 'location_code', kind: 'code' },
    { name: 'attributes', kind: 'attributes' },
  ],
  members: [
    { name: 'household_code', kind: 'code', required: true },
    ...identifier,
    { name: 'role', kind: 'role', required: true },
    { name: 'start_date', kind: 'past_date' },
  ],
  // The subject by identifier (optional for a birth: a newborn not in the registry is created from the names);
  // parties by identifier too. Which fields a row needs depends on the registry, checked when it is recorded.
  'civil-events': [
    { name: 'event_type', kind: 'event_type', required: true },
    { name: 'registration_number', kind: 'text', required: true, max: 64 },
    { name: 'event_date', kind: 'past_date', required: true },
    { name: 'registration_date', kind: 'past_date' },
    { name: 'source', kind: 'code' },
    { name: 'identifier_type', kind: 'identifier_type' },
    { name: 'identifier_value', kind: 'text', max: 128 },
    { name: 'given_name', kind: 'text', max: 200 },
    { name: 'family_name', kind: 'text', max: 200 },
    { name: 'middle_name', kind: 'text', max: 200 },
    { name: 'sex', kind: 'sex' },
    { name: 'location_code', kind: 'code' },
    { name: 'place_code', kind: 'code' },
    ...(['mother', 'father', 'spouse', 'informant'] as const).flatMap((role): FieldSpec[] => [
      { name: `${role}_identifier_type`, kind: 'identifier_type' },
      { name: `${role}_identifier_value`, kind: 'text', max: 128 },
    ]),
    { name: 'add_to_household', kind: 'boolean' },
  ],
};

export const SEXES = ['male', 'female', 'other', 'unknown'];
export const ROLES = ['head', 'spouse', 'child', 'parent', 'sibling', 'grandchild', 'grandparent', 'other_relative', 'non_relative'];
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface Issue {
  column?: string;
  reason: string;
}

export type Row = Record<string, unknown> & { attributes?: Record<string, unknown> };

const today = () => new Date().toISOString().slice(0, 10);

/** A cell converted to an attribute's declared type; undefined with an issue when it does not convert. */
function typed(value: unknown, rule: ColumnRule): { value?: unknown; reason?: string } {
  const type: AttributeType = rule.type ?? 'string';
  const text = typeof value === 'string' ? value : undefined;
  switch (type) {
    case 'string':
      return { value: typeof value === 'string' ? value : JSON.stringify(value) };
    case 'integer':
    case 'number': {
      const n = typeof value === 'number' ? value : text !== undefined && text.trim() !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) return { reason: `not ${type === 'integer' ? 'a whole number' : 'a number'}: ${JSON.stringify(value)}` };
      return { value: n };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      const lower = text?.toLowerCase();
      if (lower === 'true' || lower === '1' || lower === 'yes') return { value: true };
      if (lower === 'false' || lower === '0' || lower === 'no') return { value: false };
      return { reason: `not true/false: ${JSON.stringify(value)}` };
    }
    case 'date': {
      const iso = text === undefined ? undefined : parseDate(text, rule.format);
      return iso ? { value: iso } : { reason: `not a date${rule.format ? ` in the form ${rule.format}` : ''}: ${JSON.stringify(value)}` };
    }
    case 'json':
      if (text === undefined) return { value };
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { reason: `not JSON: ${JSON.stringify(value)}` };
      }
  }
}

function checkField(spec: FieldSpec, value: unknown, format: string | undefined): { value?: unknown; reason?: string } {
  if (spec.kind === 'attributes') {
    let object = value;
    if (typeof value === 'string') {
      try {
        object = JSON.parse(value);
      } catch {
        return { reason: 'not a JSON object' };
      }
    }
    if (!object || typeof object !== 'object' || Array.isArray(object)) return { reason: 'not a JSON object' };
    const bad = Object.keys(object).find((k) => !ATTRIBUTE_NAME.test(k));
    return bad === undefined ? { value: object } : { reason: `attribute name "${bad}" is not allowed (letters, digits, _)` };
  }
  if (spec.kind === 'boolean') return typed(value, { type: 'boolean' });
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  if (text === undefined) return { reason: `expected text, got ${JSON.stringify(value)}` };
  switch (spec.kind) {
    case 'text':
      return spec.max !== undefined && text.length > spec.max ? { reason: `longer than ${spec.max} characters` } : { value: text };
    case 'code':
      return /^[A-Za-z0-9._-]{1,64}$/.test(text) ? { value: text } : { reason: `not a code (letters, digits, . _ -): ${JSON.stringify(text)}` };
    case 'kind':
      return /^[a-z][a-z0-9_]{0,31}$/.test(text) ? { value: text } : { reason: `not a group kind: ${JSON.stringify(text)}` };
    case 'identifier_type':
      return /^[A-Z][A-Z0-9_]{0,31}$/.test(text) ? { value: text } : { reason: `not an identifier type (upper case, e.g. NIN): ${JSON.stringify(text)}` };
    case 'sex':
      return SEXES.includes(text) ? { value: text } : { reason: `not one of ${SEXES.join(', ')}: ${JSON.stringify(text)}` };
    case 'event_type':
      return (CIVIL_EVENT_TYPES as readonly string[]).includes(text) ? { value: text } : { reason: `not one of ${CIVIL_EVENT_TYPES.join(', ')}: ${JSON.stringify(text)}` };
    case 'role':
      return ROLES.includes(text) ? { value: text } : { reason: `not one of ${ROLES.join(', ')}: ${JSON.stringify(text)}` };
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text) && text.length <= 254 ? { value: text } : { reason: `not an e-mail address: ${JSON.stringify(text)}` };
    case 'date':
    case 'past_date': {
      const iso = parseDate(text, format);
      if (!iso) return { reason: `not a date${format ? ` in the form ${format}` : ' (YYYY-MM-DD)'}: ${JSON.stringify(text)}` };
      if (spec.kind === 'past_date' && iso > today()) return { reason: `in the future: ${iso}` };
      return { value: iso };
    }
  }
}

const isBlank = (value: unknown) => value === null || value === undefined || (typeof value === 'string' && value.trim() === '');

/**
 * One source record through the mapping, into a row of canonical fields (plus custom attributes), or every issue
 * found in it: a row is reported with all its problems at once, not only the first.
 */
export function convertRecord(type: ImportType, mapping: Mapping, values: Record<string, unknown>): { row: Row } | { issues: Issue[] } {
  const issues: Issue[] = [];
  const row: Row = {};
  const formats = new Map<string, string | undefined>();
  const columnOf = new Map<string, string>();
  const attributes: Record<string, unknown> = {};
  for (const [column, rule] of mapping.columns) {
    let value = values[column];
    if (isBlank(value)) continue;
    if (rule.codes) {
      const key = String(value).trim();
      if (!Object.hasOwn(rule.codes, key)) {
        issues.push({ column, reason: `not in the code list (${Object.keys(rule.codes).join(', ')}): ${JSON.stringify(value)}` });
        continue;
      }
      value = rule.codes[key];
      if (isBlank(value)) continue;
    }
    if (rule.attribute !== undefined) {
      const converted = typed(value, rule);
      if (converted.reason) issues.push({ column, reason: converted.reason });
      else attributes[rule.attribute] = converted.value;
    } else {
      row[rule.field!] = value;
      formats.set(rule.field!, rule.format);
      columnOf.set(rule.field!, column);
    }
  }
  for (const [name, value] of Object.entries(mapping.constants)) if (row[name] === undefined) row[name] = value;
  for (const spec of FIELDS[type]) {
    const column = columnOf.get(spec.name) ?? spec.name;
    const value = row[spec.name];
    if (isBlank(value)) {
      delete row[spec.name];
      if (spec.required) issues.push({ column, reason: `${spec.name} is required` });
      continue;
    }
    const checked = checkField(spec, value, formats.get(spec.name));
    if (checked.reason) issues.push({ column, reason: checked.reason });
    else row[spec.name] = checked.value;
  }
  if (typeof row.birth_date === 'string' && typeof row.death_date === 'string' && row.death_date < row.birth_date) {
    issues.push({ column: columnOf.get('death_date') ?? 'death_date', reason: 'death_date is before birth_date' });
  }
  if (issues.length > 0) return { issues };
  if (Object.keys(attributes).length > 0) row.attributes = { ...(row.attributes ?? {}), ...attributes };
  return { row };
}
