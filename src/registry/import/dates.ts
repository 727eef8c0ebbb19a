/**
 * Dates in a source file come in many local shapes; a mapping names the shape with YYYY, MM and DD (for example
 * `DD/MM/YYYY`). Every date is checked against the calendar, so 31/02/1990 is refused rather than rolled over.
 */
const cache = new Map<string, RegExp>();

function patternOf(format: string): RegExp {
  let re = cache.get(format);
  if (!re) {
    const source = format
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace('YYYY', '(?<y>\\d{4})')
      .replace('MM', '(?<m>\\d{1,2})')
      .replace('DD', '(?<d>\\d{1,2})');
    re = new RegExp(`^${source}$`);
    cache.set(format, re);
  }
  return re;
}

export const isDateFormat = (format: string) => ['YYYY', 'MM', 'DD'].every((part) => format.split(part).length === 2);

/** The ISO date (YYYY-MM-DD) written in `format`, or undefined when it is not a real calendar date in that shape. */
export function parseDate(text: string, format = 'YYYY-MM-DD'): string | undefined {
  const groups = patternOf(format).exec(text.trim())?.groups;
  if (!groups) return undefined;
  const [y, m, d] = [Number(groups.y), Number(groups.m), Number(groups.d)];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || y < 1850) return undefined;
  return date.toISOString().slice(0, 10);
}
