import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** The checked-in JSON Schemas derived from the DCI specification (see schemas/dci/README.md). */
const folder = fileURLToPath(new URL('../../schemas/dci/', import.meta.url));
const BASE = 'https://convergence-hub.org/schemas/dci/';
const COMPONENTS = `${BASE}social_api_v1.0.0.components.json`;

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function loadAjv(): Ajv {
  // The spec is OpenAPI 3.0: `example`, `nullable` and other non-JSON-Schema keywords must be tolerated, not refused.
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 });
  ajv.addFormat('binary', true);
  for (const file of fs.readdirSync(folder)) {
    if (file.endsWith('.json')) ajv.addSchema(JSON.parse(fs.readFileSync(folder + file, 'utf8')) as object);
  }
  return ajv;
}

const ajv = loadAjv();
const compiled = new Map<string, ValidateFunction>();

/** A validator for a whole message file (`sync-search.request.json`) or a spec component (`SearchRequest`). */
export function validator(name: string): ValidateFunction {
  let fn = compiled.get(name);
  if (!fn) {
    const ref = name.endsWith('.json') ? BASE + name : `${COMPONENTS}#/components/schemas/${name}`;
    fn = ajv.getSchema(ref);
    if (!fn) throw new Error(`no DCI schema ${name}`);
    compiled.set(name, fn);
  }
  return fn;
}

/** One line per error, `instancePath message`, for status_reason_message and error messages. */
export const describeErrors = (errors: ErrorObject[] | null | undefined, prefix = ''): string =>
  (errors ?? [])
    .slice(0, 5)
    .map((e) => `${prefix}${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    .join('; ');
