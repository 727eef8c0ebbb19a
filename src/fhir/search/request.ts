import { or, type SQL } from 'drizzle-orm';
import { decodeCursor, isUuid } from '../../db/keyset.js';
import { badRequest, notSupported } from '../outcome.js';
import type { SearchParameter } from './parameter.js';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 500;

/** Result parameters the hub understands, whatever the resource. `_format` and `_pretty` are read by the routes. */
const CONTROL = new Set(['_count', '_summary', '_include', '_cursor', '_format', '_pretty']);

export interface ParsedSearch {
  where: SQL[];
  count: number;
  /** `_summary=count` (or `_count=0`): the total only, no entries. */
  countOnly: boolean;
  includes: string[];
  afterId?: string;
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
}

/**
 * Turns a FHIR search query into SQL conditions and result options. Unknown parameters are refused (strict) or
 * ignored and reported (lenient); an unknown modifier or a malformed value is always a 400.
 */
export function parseSearch(query: URLSearchParams, parameters: SearchParameter[], options: SearchOptions): ParsedSearch {
  const byCode = new Map(parameters.map((p) => [p.code, p]));
  const parsed: ParsedSearch = { where: [], count: DEFAULT_COUNT, countOnly: false, includes: [], applied: [], ignored: [] };
  for (const [name, value] of query) {
    const [code, modifier, ...rest] = name.split(':') as [string, string | undefined, ...string[]];
    if (CONTROL.has(code)) {
      control(parsed, name, value, options);
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
    const alternatives = orValues(value).map((v) => parameter.toSql(v, modifier));
    parsed.where.push(alternatives.length === 1 ? alternatives[0]! : or(...alternatives)!);
    parsed.applied.push([name, value]);
  }
  return parsed;
}

function control(parsed: ParsedSearch, name: string, value: string, options: SearchOptions) {
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
      if (!options.includes.includes(value)) {
        throw notSupported(400, `_include=${value} is not supported${options.includes.length ? ` (${options.includes.join(', ')})` : ''}`, ['_include']);
      }
      parsed.includes.push(value);
      parsed.applied.push([name, value]);
      return;
    case '_cursor':
      parsed.afterId = decodeCursor(value, isUuid);
      return;
    default:
      // _format, _pretty: presentation, handled by the routes.
      if (name.includes(':')) throw badRequest(`${name} takes no modifier`, [name]);
  }
}

