import jsep from 'jsep';

/** Why a formula was refused, and where (0-based character offset) when it can be told. */
export class FormulaError extends Error {
  constructor(
    message: string,
    readonly position: number | undefined,
    readonly unknownName?: string,
  ) {
    super(position === undefined ? message : `${message} (at character ${position + 1})`);
  }
}

export const MAX_FORMULA_LENGTH = 2_000;
const MAX_NODES = 400;
const MAX_DEPTH = 40;

// Word operators read like eligibility rules: `age >= 60 and not disabled`. jsep is configured once, here.
jsep.addBinaryOp('or', 1);
jsep.addBinaryOp('and', 2);
jsep.addUnaryOp('not');

export type Node = jsep.Expression;

function checkSize(node: Node, depth: number, count: { nodes: number }): void {
  if (depth > MAX_DEPTH) throw new FormulaError(`the formula nests deeper than ${MAX_DEPTH} levels`, undefined);
  if (++count.nodes > MAX_NODES) throw new FormulaError(`the formula has more than ${MAX_NODES} terms`, undefined);
  for (const value of Object.values(node)) {
    const children = Array.isArray(value) ? value : [value];
    for (const child of children) {
      if (child && typeof child === 'object' && 'type' in child) checkSize(child as Node, depth + 1, count);
    }
  }
}

/** Parses a formula into jsep's AST; syntax errors carry jsep's character position. */
export function parseFormula(source: string): Node {
  if (source.length > MAX_FORMULA_LENGTH) {
    throw new FormulaError(`the formula is longer than ${MAX_FORMULA_LENGTH} characters`, MAX_FORMULA_LENGTH);
  }
  let tree: Node;
  try {
    tree = jsep(source);
  } catch (err) {
    const index = (err as { index?: number }).index;
    throw new FormulaError((err as { description?: string }).description ?? 'the formula cannot be read', index);
  }
  checkSize(tree, 0, { nodes: 0 });
  return tree;
}

/** jsep keeps no positions on nodes: the first whole-word occurrence of a name is where it is reported. */
export function positionOf(source: string, name: string): number | undefined {
  const match = new RegExp(`(?<![A-Za-z0-9_$.])${name.replace(/[$]/g, '\\$&')}(?![A-Za-z0-9_$])`).exec(source);
  return match?.index;
}
