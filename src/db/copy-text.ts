/**
 * PostgreSQL COPY text format: one line per row, tab-separated, `\N` for NULL, and backslash escapes for the
 * characters that would otherwise end a field or a row. Encoding here keeps bulk loads free of per-row SQL.
 */
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export type CopyValue = string | number | boolean | null | undefined | object;

function field(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : text;
}

export const copyLine = (values: readonly CopyValue[]): string => `${values.map(field).join('\t')}\n`;
