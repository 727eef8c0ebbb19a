import type { Node } from '../../src/programmes/formula/parse.js';

/**
 * A plain evaluation of a formula for one record, following SQL's rules for missing values (three-valued logic,
 * LEAST/GREATEST skipping NULLs, NULL on division by zero), against which the compiled SQL is checked.
 */
export type Value = number | string | boolean | null;
export type Row = Record<string, Value>;

const isNull = (v: Value): v is null => v === null;

function roundHalfAway(x: number, digits: number): number {
  const f = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
}

/** `members`: the household's current members, for `count_members(condition)`. */
export function evaluate(node: Node, row: Row, members: Row[] = []): Value {
  const n = node as unknown as Record<string, unknown>;
  switch (node.type) {
    case 'Literal':
      return n.value as Value;
    case 'Identifier':
      return row[n.name as string] ?? null;
    case 'UnaryExpression': {
      const v = evaluate(n.argument as Node, row, members);
      if (isNull(v)) return null;
      return n.operator === '-' ? -(v as number) : n.operator === '+' ? (v as number) : !(v as boolean);
    }
    case 'BinaryExpression': {
      const op = n.operator as string;
      const a = evaluate(n.left as Node, row, members);
      const b = evaluate(n.right as Node, row, members);
      if (op === 'and' || op === '&&') return a === false || b === false ? false : isNull(a) || isNull(b) ? null : true;
      if (op === 'or' || op === '||') return a === true || b === true ? true : isNull(a) || isNull(b) ? null : false;
      if (isNull(a) || isNull(b)) return null;
      switch (op) {
        case '+': return (a as number) + (b as number);
        case '-': return (a as number) - (b as number);
        case '*': return (a as number) * (b as number);
        case '/': return b === 0 ? null : (a as number) / (b as number);
        case '%': return b === 0 ? null : (a as number) % (b as number);
        case '==': return a === b;
        case '!=': return a !== b;
        case '<': return a < b;
        case '<=': return a <= b;
        case '>': return a > b;
        case '>=': return a >= b;
      }
      throw new Error(`oracle: operator ${op}`);
    }
    case 'ConditionalExpression':
      return evaluate(n.test as Node, row, members) === true ? evaluate(n.consequent as Node, row, members) : evaluate(n.alternate as Node, row, members);
    case 'CallExpression': {
      const name = (n.callee as { name: string }).name;
      const args = n.arguments as Node[];
      if (name === 'if') return evaluate(args[0]!, row, members) === true ? evaluate(args[1]!, row, members) : evaluate(args[2]!, row, members);
      if (name === 'count_members') return members.filter((m) => args.length === 0 || evaluate(args[0]!, m) === true).length;
      const values = args.map((a) => evaluate(a, row, members));
      if (name === 'min' || name === 'max') {
        const present = values.filter((v): v is number => !isNull(v));
        return present.length === 0 ? null : name === 'min' ? Math.min(...present) : Math.max(...present);
      }
      if (values.some(isNull)) return null;
      if (name === 'abs') return Math.abs(values[0] as number);
      if (name === 'round') return roundHalfAway(values[0] as number, (values[1] as number | undefined) ?? 0);
      throw new Error(`oracle: function ${name}`);
    }
  }
  throw new Error(`oracle: node ${node.type}`);
}
