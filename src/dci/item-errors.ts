import type { ErrorObject } from 'ajv';
import { DciError, ItemRejection } from './codes.js';
import { describeErrors, validator, type DciSpec } from './schemas.js';

/**
 * Schema errors of a batch message, split into the items of its list they belong to; an error outside every item
 * (no transaction_id, the list not a list) makes the whole message an err.request.bad. `reasonOf` names the reason
 * code an item's errors earn from their paths inside the item.
 */
export function itemErrors(
  message: Record<string, unknown>,
  spec: DciSpec,
  schema: string,
  list: string,
  reasonOf: (paths: string[]) => ItemRejection['code'],
): Map<number, ItemRejection> {
  const check = validator(schema, spec);
  const byItem = new Map<number, ItemRejection>();
  if (check(message)) return byItem;
  const grouped = new Map<number, ErrorObject[]>();
  const itemPath = new RegExp(`^/${list}/(\\d+)(/|$)`);
  for (const error of check.errors ?? []) {
    const match = itemPath.exec(error.instancePath);
    if (!match) throw new DciError(400, 'err.request.bad', describeErrors([error], '/message'));
    const index = Number(match[1]);
    grouped.set(index, [...(grouped.get(index) ?? []), error]);
  }
  for (const [index, errors] of grouped) {
    const prefix = `/${list}/${index}`;
    // A missing member is reported on its parent; place it where it belongs.
    const paths = errors.map((e) => e.instancePath.slice(prefix.length) + (e.keyword === 'required' ? `/${String(e.params.missingProperty)}` : ''));
    byItem.set(index, new ItemRejection(reasonOf(paths), describeErrors(errors, '/message')));
  }
  return byItem;
}

/**
 * Answers each item of a batch in order: an item with schema errors, an empty or repeated reference_id, or whose
 * `work` throws an ItemRejection is answered `rjct` with its reason; the others with what `work` returns (`succ`).
 */
export async function answerEach<I extends { reference_id: string }>(
  items: I[],
  rejected: Map<number, ItemRejection>,
  work: (item: I) => Promise<{ answer: Record<string, unknown>; audit: Record<string, unknown> }>,
): Promise<{ responses: Record<string, unknown>[]; audit: Record<string, unknown>[] }> {
  const seen = new Set<string>();
  const responses: Record<string, unknown>[] = [];
  const audit: Record<string, unknown>[] = [];
  for (const [index, item] of items.entries()) {
    const base = { reference_id: typeof item?.reference_id === 'string' ? item.reference_id : '', timestamp: new Date().toISOString() };
    try {
      const invalid = rejected.get(index);
      if (invalid) throw invalid;
      if (item.reference_id === '') throw new ItemRejection('rjct.reference_id.invalid', 'reference_id must not be empty');
      if (seen.has(item.reference_id)) throw new ItemRejection('rjct.reference_id.duplicate', `reference_id ${item.reference_id} appears twice`);
      seen.add(item.reference_id);
      const done = await work(item);
      responses.push({ ...base, status: 'succ', ...done.answer });
      audit.push({ reference_id: item.reference_id, status: 'succ', ...done.audit });
    } catch (err) {
      if (!(err instanceof ItemRejection)) throw err;
      responses.push({ ...base, status: 'rjct', status_reason_code: err.code, status_reason_message: err.message.slice(0, 999) });
      audit.push({ reference_id: base.reference_id, status: 'rjct', reason: err.code });
    }
  }
  return { responses, audit };
}
