import { inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { locations } from '../db/schema/index.js';

export interface AreaName {
  id: string;
  code: string;
  name: string;
  level: number;
}

/**
 * Each location with its ancestors, root first (province → commune → colline …), in one query over the ltree
 * paths: what a postal-style address of a person needs.
 */
export async function ancestryOf(db: Db, locationIds: string[]): Promise<Map<string, AreaName[]>> {
  const byLocation = new Map<string, AreaName[]>(locationIds.map((id) => [id, []]));
  if (locationIds.length === 0) return byLocation;
  const rows = await db
    .select({
      locationId: locations.id,
      id: sql<string>`a.id`,
      code: sql<string>`a.code`,
      name: sql<string>`a.name`,
      level: sql<number>`a.level`,
    })
    .from(locations)
    .innerJoin(sql`locations a`, sql`a.path @> ${locations.path}`)
    .where(inArray(locations.id, [...new Set(locationIds)]))
    .orderBy(locations.id, sql`a.level`);
  for (const { locationId, ...area } of rows) byLocation.get(locationId)?.push({ ...area, level: Number(area.level) });
  return byLocation;
}
