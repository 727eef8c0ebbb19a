/** Who is calling: resolved from the bearer token, passed to every domain function that reads or writes. */
export interface Actor {
  /** OAuth client_id (or a CLI/system name). */
  id: string;
  scopes: readonly string[];
  /** Geographic scope: only records in this location's subtree are visible. Null = whole registry. */
  locationId: string | null;
}

export const systemActor = (id: string): Actor => ({ id, scopes: ['admin'], locationId: null });

/** `admin` holds every scope. */
export const hasScope = (actor: Pick<Actor, 'scopes'>, scope: string) =>
  actor.scopes.includes(scope) || actor.scopes.includes('admin');
