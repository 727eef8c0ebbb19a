import { sql, type SQL } from 'drizzle-orm';
import { badRequest } from '../../outcome.js';

const PREFIXES = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'sa', 'eb'] as const;
type Prefix = (typeof PREFIXES)[number];

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The implicit range of a search value: [start, end), at the precision it was given (a year, a day, a second …). */
interface Range {
  start: Date;
  end: Date;
}

function utc(y: number, m = 1, d = 1) {
  return new Date(Date.UTC(y, m - 1, d));
}

function rangeOf(value: string, parameter: string): Range {
  const date = DATE.exec(value);
  if (date) {
    const [y, m, d] = [Number(date[1]), date[2] ? Number(date[2]) : undefined, date[3] ? Number(date[3]) : undefined];
    const start = utc(y, m ?? 1, d ?? 1);
    if ((m !== undefined && (m < 1 || m > 12)) || (d !== undefined && start.getUTCDate() !== d)) {
      throw badRequest(`${parameter}: "${value}" is not a calendar date`, [parameter]);
    }
    const end = d !== undefined ? utc(y, m!, d + 1) : m !== undefined ? utc(y, m + 1) : utc(y + 1);
    return { start, end };
  }
  const dateTime = DATE_TIME.exec(value);
  if (dateTime) {
    const start = new Date(value);
    if (Number.isNaN(start.getTime())) throw badRequest(`${parameter}: "${value}" is not a valid dateTime`, [parameter]);
    const unit = dateTime[7] ? 1 : dateTime[6] ? 1000 : 60_000;
    return { start, end: new Date(start.getTime() + unit) };
  }
  throw badRequest(`${parameter}: "${value}" is not a FHIR date or dateTime`, [parameter]);
}

function split(raw: string): { prefix: Prefix; value: string } {
  const head = raw.slice(0, 2);
  return (PREFIXES as readonly string[]).includes(head) ? { prefix: head as Prefix, value: raw.slice(2) } : { prefix: 'eq', value: raw };
}

/**
 * R4 date search on a column holding a day (`kind: 'date'`, e.g. birthDate) or an instant (`'instant'`,
 * e.g. meta.lastUpdated). The stored value is a point at that precision, so each prefix compares it with the
 * range the search value implies: eq within it, lt/eb before its start, le before its end, gt/sa from its end on,
 * ge from its start on, ne outside it.
 */
export function dateMatches(column: SQL, raw: string, kind: 'date' | 'instant', parameter: string): SQL {
  const { prefix, value } = split(raw);
  const range = rangeOf(value, parameter);
  const bound = (d: Date) => (kind === 'date' ? sql`${d.toISOString().slice(0, 10)}::date` : sql`${d.toISOString()}::timestamptz`);
  const start = bound(range.start);
  const end = bound(range.end);
  switch (prefix) {
    case 'eq':
      return sql`(${column} >= ${start} AND ${column} < ${end})`;
    case 'ne':
      return sql`(${column} < ${start} OR ${column} >= ${end})`;
    case 'lt':
    case 'eb':
      return sql`${column} < ${start}`;
    case 'le':
      return sql`${column} < ${end}`;
    case 'gt':
    case 'sa':
      return sql`${column} >= ${end}`;
    case 'ge':
      return sql`${column} >= ${start}`;
  }
}
