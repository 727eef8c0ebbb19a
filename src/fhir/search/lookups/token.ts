import { badRequest } from '../../outcome.js';

/** A token value: `code`, `system|code`, `|code` (no system) or `system|` (any code of that system). */
export interface Token {
  /** undefined: any system; '': explicitly no system. */
  system: string | undefined;
  /** undefined: any code of the system. */
  code: string | undefined;
}

export function parseToken(value: string, parameter: string): Token {
  const bar = value.indexOf('|');
  if (bar < 0) {
    if (value === '') throw badRequest(`${parameter} needs a value`);
    return { system: undefined, code: value };
  }
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  if (system === '' && code === '') throw badRequest(`${parameter} needs a system or a code`);
  return { system, code: code === '' ? undefined : code };
}

/** For parameters over a fixed code system (gender, deceased): the code, or undefined when the system is another. */
export function codeIn(token: Token, system: string | undefined): string | undefined {
  if (token.system !== undefined && token.system !== '' && token.system !== system) return undefined;
  return token.code;
}
