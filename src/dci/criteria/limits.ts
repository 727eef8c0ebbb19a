import type { DciConfig } from '../../config.js';
import { ItemRejection } from '../codes.js';
import type { Criterion } from './model.js';

const tooComplex = (why: string) => new ItemRejection('rjct.search_criteria.invalid', `the query is too complex: ${why}`);

/** Refuses criteria beyond the limits (rjct.search_criteria.invalid, naming the limit). */
export function checkLimits(criterion: Criterion, limits: DciConfig['queryLimits']): void {
  let terms = 0;
  const walk = (c: Criterion, depth: number) => {
    if (depth > limits.depth) throw tooComplex(`nested more than ${limits.depth} levels deep`);
    if ('not' in c) return walk(c.not, depth + 1);
    if ('and' in c || 'or' in c) {
      const children = 'and' in c ? c.and : c.or;
      if ('or' in c && children.length > limits.orWidth) throw tooComplex(`an $or of ${children.length} alternatives (at most ${limits.orWidth})`);
      for (const child of children) walk(child, depth + 1);
      return;
    }
    terms += 1;
    if (terms > limits.terms) throw tooComplex(`more than ${limits.terms} comparisons`);
    if (c.op === 'in' && Array.isArray(c.value) && c.value.length > limits.inValues) {
      throw tooComplex(`$in with ${c.value.length} values for ${c.attribute} (at most ${limits.inValues})`);
    }
  };
  walk(criterion, 0);
}
