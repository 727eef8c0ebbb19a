import { or, type SQL } from 'drizzle-orm';
import type { Ordering, Position } from '../../db/sorted-keyset.js';
import { badRequest, FhirError, notSupported } from '../outcome.js';
import { decodeSearchCursor } from './cursor.js';
import type { SearchParameter } from './parameter.js';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 500;
/** Largest search the hub runs: search parameters in one query, and comma-separated alternatives of one (each an OR). */
export const MAX_PARAMETERS = 20;
export const MAX_OR_VALUES = 50;

const tooCostly = (message: string, expression: string[]) => new FhirError(400, 'too-costly', message, expression);

/** Result parameters the hub understands, whatever the resource. `_format` and `_pretty` are read by the routes. */
const CONTROL = new Set(['_count', '_summary', '_include', '_revinclude', '_sort', '_cursor', '_format', '_pretty']);

export interface ParsedSearch {
  where: SQL[];
  count: number;
  /** `_summary=count` (or `_count=0`): the total only, no entries. */
  countOnly: boolean;
  includes: string[];
  revIncludes: string[];
  /** The `_sort` applied ('' for the default, id order) and the keyset order it means. */
  sort: string;
  order: Ordering;
  /** Where this page starts (from `_cursor`). */
  after?: Position;
  /** The parameters applied, in request order: the self link, and the next link without `_cursor`. */
  applied: [string, string][];
  /** Parameters ignored under `Prefer: handling=lenient`. */
  ignored: string[];
}

/** Splits on commas not escaped as `\,` (R4 §3.1.1.4.7), then unescapes. */
function orValues(raw: string): string[] {
  return raw.split(/(?<!\\),/).map((v) => v.replace(/\\([,$|\\])/g, '$1'));
}

function integerIn(raw: string, name: string, min: number): number {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min) throw badRequest(`${name} must be an integer ≥ ${min}`, [name]);
  return Number(raw);
}

export interface SearchOptions {
  strict: boolean;
  /** `_include` values this resource supports, e.g. Group:member. */
  includes: readonly string[];
  /** `_revinclude` values this resource supports, e.g. Group:member on Patient. */
  revIncludes?: readonly string[];
}

/**
 * Turns a FHIR search query into SQL conditions and result options. Unknown parameters (and sorts) are refused
 * (strict) or ignored and reported (lenient); an unknown modifier or a malformed value is always a 400.
 */
export function parseSearch(query: URLSearchParams, parameters: SearchParameter[], options: SearchOptions): ParsedSearch {
  const byCode = new Map(parameters.map((p) => [p.code, p]));
  const parsed: ParsedSearch = {
    where: [],
    count: DEFAULT_COUNT,
    countOnly: false,
    includes: [],
    revIncludes: [],
    sort: '',
    order: { descending: false },
    applied: [],
    ignored: [],
  };
  let cursor: string | undefined;
  for (const [name, value] of query) {
    const [code, modifier, ...rest] = name.split(':') as [string, string | undefined, ...string[]];
    if (name === '_cursor') {
      cursor = value;
      continue;
    }
    if (CONTROL.has(code)) {
      control(parsed, name, value, byCode, options);
      continue;
    }
    const parameter = byCode.get(code);
    if (!parameter) {
      if (options.strict) throw notSupported(400, `unknown search parameter ${name}`, [name]);
      parsed.ignored.push(name);
      continue;
    }
    if (rest.length > 0 || (modifier !== undefined && !(parameter.modifiers ?? []).includes(modifier))) {
      throw badRequest(`modifier :${name.slice(code.length + 1)} is not supported on ${code}`, [name]);
    }
    // R4 §3.1.1: a parameter with an empty value is ignored.
    if (value === '') continue;
    const values = orValues(value);
    if (values.length > MAX_OR_VALUES) throw tooCostly(`${name} has ${values.length} alternatives; at most ${MAX_OR_VALUES}`, [name]);
    if (parsed.where.length >= MAX_PARAMETERS) throw tooCostly(`more than ${MAX_PARAMETERS} search parameters`, [name]);
    const alternatives = values.map((v) => parameter.toSql(v, modifier));
    parsed.where.push(alternatives.length === 1 ? alternatives[0]! : or(...alternatives)!);
    parsed.applied.push([name, value]);
  }
  // The cursor is read last: it must match the _sort wherever that stands in the query.
  if (cursor !== undefined) parsed.after = decodeSearchCursor(cursor, parsed.sort);
  return parsed;
}

function control(parsed: ParsedSearch, name: string, value: string, byCode: Map<string, SearchParameter>, options: SearchOptions) {
  switch (name) {
    case '_count':
      parsed.count = Math.min(integerIn(value, '_count', 0), MAX_COUNT);
      if (parsed.count === 0) parsed.countOnly = true;
      parsed.applied.push([name, String(parsed.count)]);
      return;
    case '_summary':
      if (value === 'count') parsed.countOnly = true;
      else if (value !== 'false') throw notSupported(400, `_summary=${value} is not supported (count, false)`, ['_summary']);
      parsed.applied.push([name, value]);
      return;
    case '_include':
    case '_revinclude': {
      const supported = (name === '_include' ? options.includes : options.revIncludes) ?? [];
      if (!supported.includes(value)) {
        throw notSupported(400, `${name}=${value} is not supported${supported.length ? ` (${supported.join(', ')})` : ''}`, [name]);
      }
      (name === '_include' ? parsed.includes : parsed.revIncludes).push(value);
      parsed.applied.push([name, value]);
      return;
    }
    case '_sort':
      sortBy(parsed, value, byCode, options.strict);
      return;
    default:
      // _format, _pretty: presentation, handled by the routes.
      if (name.includes(':')) throw badRequest(`${name} takes no modifier`, [name]);
  }
}

/** Sorts cheaply served by an index: one parameter, ascending or descending (`-`), then by id. */
function sortBy(parsed: ParsedSearch, value: string, byCode: Map<string, SearchParameter>, strict: boolean) {
  if (value === '') return;
  const descending = value.startsWith('-');
  const parameter = byCode.get(descending ? value.slice(1) : value);
  if (parsed.sort !== '' || value.includes(',') || !parameter?.sort) {
    const sortable = [...byCode.values()].filter((p) => p.sort).map((p) => p.code);
    const message = `_sort=${value} is not supported: sort by one of ${sortable.join(', ')} (prefix - for descending)`;
    if (strict) throw notSupported(400, message, ['_sort']);
    parsed.ignored.push(`_sort=${value}`);
    return;
  }
  parsed.sort = value;
  parsed.order = parameter.sort === 'id' ? { descending } : { key: parameter.sort, descending };
  parsed.applied.push(['_sort', value]);
}
