/** How often a plan pays, as a number of months between periods (`once`: the whole plan is one period). */
export const FREQUENCIES = {
  once: 0,
  monthly: 1,
  bimonthly: 2,
  quarterly: 3,
  semiannual: 6,
  annual: 12,
} as const;

export type Frequency = keyof typeof FREQUENCIES;

export interface Period {
  start: string;
  end: string;
}

const iso = (d: Date) => d.toISOString().slice(0, 10);
const parse = (text: string) => new Date(`${text}T00:00:00Z`);

/** `date` moved by `months`, clamped to the last day of the target month (31 January + 1 month = 28/29 February). */
function addMonths(date: Date, months: number): Date {
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(date.getUTCDate(), lastDay));
  return target;
}

/** Every period of a schedule, in order; the last one ends on the plan's end date. */
export function periodsOf(frequency: Frequency, startDate: string, endDate: string): Period[] {
  const step = FREQUENCIES[frequency];
  if (step === 0) return [{ start: startDate, end: endDate }];
  const start = parse(startDate);
  const end = parse(endDate);
  const periods: Period[] = [];
  for (let i = 0; ; i++) {
    const from = addMonths(start, i * step);
    if (from > end) return periods;
    const next = addMonths(start, (i + 1) * step);
    const to = new Date(Math.min(next.getTime() - 86_400_000, end.getTime()));
    periods.push({ start: iso(from), end: iso(to) });
  }
}
