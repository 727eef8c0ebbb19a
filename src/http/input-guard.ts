import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import { textProblem } from '../text.js';

/** Where a refused value sits: a path into the body, or a query-string / path parameter. */
export interface BadInputPlace {
  in: 'body' | 'query' | 'params';
  path: (string | number)[];
}

/**
 * A value no surface can store or digest: text with U+0000 (PostgreSQL text and jsonb refuse it) or an unpaired
 * UTF-16 surrogate (not Unicode; RFC 8785 has no form for it), or a number that is not finite (query coercion turns
 * `1e400` into Infinity, which JSON cannot carry). Each surface answers it in its own dialect, naming the place.
 */
export class BadInputError extends HubError {
  constructor(
    readonly place: BadInputPlace,
    detail: string,
    /** The parsed body or query the value was found in. */
    readonly root?: unknown,
  ) {
    const pointer = place.in === 'body' ? jsonPointer(place.path) : undefined;
    const parameter = place.in === 'body' ? undefined : String(place.path[0]);
    super('invalid', `${pointer ?? parameter}: ${detail}`, [{ ...(pointer === undefined ? { parameter: parameter! } : { pointer }), detail }]);
  }
}

/** RFC 6901: `~` and `/` inside a name are escaped. */
const jsonPointer = (path: (string | number)[]) =>
  path.length === 0 ? '/' : path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

interface Found {
  path: (string | number)[];
  detail: string;
}

/** A value met in the walk; its path is rebuilt from the parent links only when it is refused. */
interface Node {
  value: unknown;
  key?: string | number;
  up?: Node;
}

function pathOf(node: Node): (string | number)[] {
  const path: (string | number)[] = [];
  for (let n: Node | undefined = node; n?.key !== undefined; n = n.up) path.unshift(n.key);
  return path;
}

/**
 * The first bad string, property name or (with `numbers`) non-finite number in a parsed value. With a stack of its
 * own rather than recursion: a body of deeply nested arrays must not overflow the call stack.
 */
function findBad(root: unknown, numbers: boolean): Found | undefined {
  const stack: Node[] = [{ value: root }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const { value } = node;
    if (typeof value === 'string') {
      const detail = textProblem(value);
      if (detail) return { path: pathOf(node), detail };
    } else if (typeof value === 'number') {
      if (numbers && !Number.isFinite(value)) return { path: pathOf(node), detail: 'must be a finite number in range' };
    } else if (value instanceof URLSearchParams) {
      for (const [key, item] of value) stack.push({ value: item, key, up: node });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, up: node });
    } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && typeof (value as { pipe?: unknown }).pipe !== 'function') {
      // Parsed JSON and query strings (fast-querystring makes objects of its own prototype); not buffers or streams.
      for (const [key, item] of Object.entries(value).reverse()) {
        const detail = textProblem(key);
        if (detail) return { path: [...pathOf(node), key], detail: `the property name ${detail}` };
        stack.push({ value: item, key, up: node });
      }
    }
  }
  return undefined;
}

function check(request: FastifyRequest, numbers: boolean) {
  for (const where of ['params', 'query', 'body'] as const) {
    const found = findBad(request[where], numbers);
    if (found) throw new BadInputError({ in: where, path: found.path }, found.detail, request[where]);
  }
}

/**
 * One check at the edge of every surface (admin API, FHIR, DCI, OAuth, callbacks): text after parsing and before
 * schema validation or any handler, numbers again after validation (which coerces query strings to numbers).
 */
export function registerInputGuard(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => check(request, false));
  app.addHook('preHandler', async (request) => check(request, true));
}
