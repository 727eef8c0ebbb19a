/**
 * A parameter as node-postgres would send it, for SQL written for node-postgres (pg-boss): undefined as NULL, a
 * plain object as its JSON text (the SQL casts it), anything else unchanged.
 */
export function asPgValue(value: unknown): unknown {
  if (value === undefined) return null;
  const plainObject =
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value);
  return plainObject ? JSON.stringify(value) : value;
}
