import type { Resource } from '@medplum/fhirtypes';
import { or } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { Actor } from '../../security/actor.js';
import type { ResourceType } from '../resources.js';

/** Most resources one `_revinclude` adds to a page; beyond that the Bundle says it was cut short. */
export const REVINCLUDE_LIMIT = 1000;

/**
 * Checks at start-up that each `_revinclude` a type offers names a reference parameter of an existing type, so a
 * typo is a failed start, not a 500 on the first request. Answers the types by name.
 */
export function checkedRevIncludes(types: ResourceType[]): Map<string, ResourceType> {
  const byType = new Map(types.map((t) => [t.type as string, t]));
  for (const type of types) {
    for (const value of type.revIncludes) {
      const [source, code] = value.split(':');
      const parameter = byType.get(source!)?.parameters.find((p) => p.code === code);
      if (parameter?.type !== 'reference') throw new Error(`${type.type} _revinclude=${value}: no reference search parameter ${value}`);
    }
  }
  return byType;
}

/**
 * `_revinclude=Type:parameter`: the resources of Type whose reference parameter points at one of the matches,
 * found with Type's own search (its visibility and geographic scope rules apply). The references are OR-ed into
 * one indexed search per value.
 */
export async function revInclude(db: Db, actor: Actor, byType: Map<string, ResourceType>, matches: Resource[], values: string[]) {
  const resources: Resource[] = [];
  const truncated: string[] = [];
  if (matches.length === 0) return { resources, truncated };
  for (const value of values) {
    const [source, code] = value.split(':') as [string, string];
    const type = byType.get(source)!;
    const parameter = type.parameters.find((p) => p.code === code)!;
    const condition = or(...matches.map((m) => parameter.toSql(`${m.resourceType}/${m.id}`, undefined)))!;
    const found = await type.search(db, actor, { where: [condition], limit: REVINCLUDE_LIMIT });
    resources.push(...found.resources);
    if (found.next) truncated.push(value);
  }
  return { resources, truncated };
}

/** Included resources once each, and none that is already a match (R4 §3.1.1.5.4: a resource appears once). */
export function uniqueIncluded(matches: Resource[], included: Resource[]): Resource[] {
  const seen = new Set(matches.map((r) => `${r.resourceType}/${r.id}`));
  return included.filter((r) => {
    const key = `${r.resourceType}/${r.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
