import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** The checked-in JSON Schemas derived from the DCI specifications (see schemas/dci/README.md). */
const folder = fileURLToPath(new URL('../../schemas/dci/', import.meta.url));
const BASE = 'https://convergence-hub.org/schemas/dci/';

/**
 * Which specification a schema comes from: the Social Registry API (schemas/dci), the CRVS API (schemas/dci/crvs) or
 * the disbursement API (schemas/dci/disburse).
 */
export type DciSpec = 'social' | 'crvs' | 'disburse';

const SPECS: Record<DciSpec, { base: string; components: string }> = {
  social: { base: BASE, components: `${BASE}social_api_v1.0.0.components.json` },
  crvs: { base: `${BASE}crvs/`, components: `${BASE}crvs/crvs_api_v1.0.0.components.json` },
  disburse: { base: `${BASE}disburse/`, components: `${BASE}disburse/disburse_v1.0.0.components.json` },
};

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function loadAjv(): Ajv {
  // The spec is OpenAPI 3.0: `example`, `nullable` and other non-JSON-Schema keywords must be tolerated, not refused.
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 });
  ajv.addFormat('binary', true);
  for (const dir of [folder, `${folder}crvs/`, `${folder}disburse/`]) {
    for (const file of fs.readdirSync(dir)) {
      if (file.endsWith('.json')) ajv.addSchema(JSON.parse(fs.readFileSync(dir + file, 'utf8')) as object);
    }
  }
  return ajv;
}

const ajv = loadAjv();
const compiled = new Map<string, ValidateFunction>();

/** A validator for a whole message file (`sync-search.request.json`) or a spec component (`SearchRequest`). */
export function validator(name: string, spec: DciSpec = 'social'): ValidateFunction {
  const key = `${spec}:${name}`;
  let fn = compiled.get(key);
  if (!fn) {
    const ref = name.endsWith('.json') ? SPECS[spec].base + name : `${SPECS[spec].components}#/components/schemas/${name}`;
    fn = ajv.getSchema(ref);
    if (!fn) throw new Error(`no DCI schema ${name} in the ${spec} specification`);
    compiled.set(key, fn);
  }
  return fn;
}

/** One line per error, `instancePath message`, for status_reason_message and error messages. */
export const describeErrors = (errors: ErrorObject[] | null | undefined, prefix = ''): string =>
  (errors ?? [])
    .slice(0, 5)
    .map((e) => `${prefix}${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    .join('; ');
