/**
 * Text no part of the hub can keep: U+0000 (PostgreSQL text and jsonb refuse it) and unpaired UTF-16 surrogates
 * (not Unicode at all; RFC 8785 canonical JSON has no form for them, and UTF-8 encoders replace them).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** Why the text cannot be kept, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain an unpaired UTF-16 surrogate';
  return undefined;
}

/** Every unpaired surrogate replaced by U+FFFD, as a UTF-8 encoder (and so the database) would store it. */
export const toWellFormed = (text: string) => text.replace(LONE_SURROGATES, '\uFFFD');
