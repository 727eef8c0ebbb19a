import fs from 'node:fs';
import readline from 'node:readline';
import { parse } from 'csv-parse';

/** One input record: its line in the file and its values by source column, or why it could not be read. */
export type SourceRecord =
  | { line: number; values: Record<string, unknown> }
  | { line: number; error: string; column?: string };

export type SourceFormat = 'csv' | 'ndjson';

export const formatOf = (file: string): SourceFormat => (/\.(nd)?jsonl?$/i.test(file) ? 'ndjson' : 'csv');

/** Bytes that are not UTF-8 decode to U+FFFD; a record holding one was written in another encoding. */
const REPLACEMENT = '\uFFFD';

function encodingError(line: number, values: Record<string, unknown>): SourceRecord | undefined {
  for (const [column, value] of Object.entries(values)) {
    if (typeof value === 'string' && value.includes(REPLACEMENT)) {
      return { line, column, error: 'not valid UTF-8 (save the file as UTF-8)' };
    }
  }
  return undefined;
}

/**
 * CSV records as objects keyed by the header. The parser streams, so memory does not grow with the file. A record
 * with another number of fields than the header (a truncated last line, a stray delimiter) is reported, not
 * guessed at; an unclosed quote ends the file with an error on its line.
 */
async function* csvRecords(file: string, onHeader: (columns: string[]) => void): AsyncGenerator<SourceRecord> {
  const parser = fs.createReadStream(file).pipe(
    parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }),
  );
  let header: string[] | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record;
        onHeader(header);
        continue;
      }
      const line = info.lines;
      if (record.length !== header.length) {
        yield { line, error: `has ${record.length} fields, the header has ${header.length} (truncated or malformed line)` };
        continue;
      }
      const values: Record<string, unknown> = {};
      header.forEach((name, i) => (values[name] = record[i]));
      yield encodingError(line, values) ?? { line, values };
    }
  } catch (err) {
    const e = err as Error & { lines?: number };
    yield { line: e.lines ?? 0, error: `unreadable CSV: ${e.message}` };
  }
}

/** NDJSON: one JSON object per line; a line that does not parse (a truncated last line) is reported. */
async function* ndjsonRecords(file: string, onHeader: (columns: string[]) => void): AsyncGenerator<SourceRecord> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  const seen = new Set<string>();
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch (err) {
      yield { line, error: `not a JSON object: ${(err as Error).message}` };
      continue;
    }
    if (!values || typeof values !== 'object' || Array.isArray(values)) {
      yield { line, error: 'not a JSON object' };
      continue;
    }
    const keys = Object.keys(values);
    if (keys.some((k) => !seen.has(k))) {
      keys.forEach((k) => seen.add(k));
      onHeader([...seen]);
    }
    yield encodingError(line, values as Record<string, unknown>) ?? { line, values: values as Record<string, unknown> };
  }
}

export function readRecords(file: string, format: SourceFormat, onHeader: (columns: string[]) => void): AsyncGenerator<SourceRecord> {
  return format === 'csv' ? csvRecords(file, onHeader) : ndjsonRecords(file, onHeader);
}
