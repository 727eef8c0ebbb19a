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
