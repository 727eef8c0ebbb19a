import { sql, type SQL } from 'drizzle-orm';
import { FormulaError, parseFormula, positionOf, type Node } from './parse.js';

export type FormulaType = 'number' | 'boolean' | 'text';

/**
 * A name a formula may use, and the SQL expression that yields it for the row being evaluated. A function is called
 * when a formula uses the name, for a value that costs something only once used (a household's size).
 */
export interface Variable {
  type: FormulaType;
  sql: SQL | (() => SQL);
}

/**
 * What a formula can see. `members` is present for household programmes: `count_members(condition)` evaluates
 * the condition in the members' own vocabulary. `joins(within)` is what the FROM clause must add after the subject row
 * for the expressions compiled so far (`within`: a subquery of the subject ids the statement reads, to compute no
 * more than those); a statement reads it once all its formulas are compiled.
 */
export interface Vocabulary {
  variables: ReadonlyMap<string, Variable>;
  members?: { vocabulary: Vocabulary; count: (condition: SQL) => SQL };
  joins?: (within?: SQL) => SQL;
}

interface Typed {
  type: FormulaType;
  sql: SQL;
}

const ARITHMETIC = new Map([
  ['+', '+'],
  ['-', '-'],
  ['*', '*'],
  ['/', '/'],
  ['%', '%'],
]);
const COMPARISON = new Map([
  ['==', '='],
  ['!=', '<>'],
  ['<', '<'],
  ['<=', '<='],
  ['>', '>'],
  ['>=', '>='],
]);
const LOGICAL = new Map([
  ['and', 'AND'],
  ['&&', 'AND'],
  ['or', 'OR'],
  ['||', 'OR'],
]);

class Compiler {
  constructor(private readonly source: string) {}

  fail(message: string, name?: string): never {
    throw new FormulaError(message, name === undefined ? undefined : positionOf(this.source, name), name);
  }

  expect(node: Typed, type: FormulaType, what: string): SQL {
    if (node.type !== type) this.fail(`${what} must be a ${type}, not a ${node.type}`);
    return node.sql;
  }

  compile(node: Node, scope: Vocabulary): Typed {
    switch (node.type) {
      case 'Literal':
        return this.literal(node as unknown as { value: unknown; raw: string });
      case 'Identifier':
        return this.variable((node as unknown as { name: string }).name, scope);
      case 'UnaryExpression':
        return this.unary(node as unknown as { operator: string; argument: Node }, scope);
      case 'BinaryExpression':
        return this.binary(node as unknown as { operator: string; left: Node; right: Node }, scope);
      case 'ConditionalExpression': {
        const n = node as unknown as { test: Node; consequent: Node; alternate: Node };
        return this.conditional(n.test, n.consequent, n.alternate, scope);
      }
      case 'CallExpression':
        return this.call(node as unknown as { callee: Node; arguments: Node[] }, scope);
      default:
        return this.fail(`${node.type} is not allowed in a formula`);
    }
  }

  literal({ value, raw }: { value: unknown; raw: string }): Typed {
    if (typeof value === 'number' && Number.isFinite(value)) return { type: 'number', sql: sql`${value}::numeric` };
    if (typeof value === 'string') return { type: 'text', sql: sql`${value}::text` };
    if (typeof value === 'boolean') return { type: 'boolean', sql: value ? sql`TRUE` : sql`FALSE` };
    return this.fail(`the value ${raw} is not allowed in a formula`);
  }

  variable(name: string, scope: Vocabulary): Typed {
    // A Map, not an object: names such as __proto__ or constructor find nothing.
    const found = scope.variables.get(name);
    if (!found) return this.fail(`unknown name "${name}"`, name);
    return { type: found.type, sql: typeof found.sql === 'function' ? found.sql() : found.sql };
  }

  unary({ operator, argument }: { operator: string; argument: Node }, scope: Vocabulary): Typed {
    const operand = this.compile(argument, scope);
    if (operator === '-') return { type: 'number', sql: sql`(-${this.expect(operand, 'number', 'the operand of -')})` };
    if (operator === '+') return { type: 'number', sql: this.expect(operand, 'number', 'the operand of +') };
    if (operator === '!' || operator === 'not') {
      return { type: 'boolean', sql: sql`(NOT ${this.expect(operand, 'boolean', `the operand of ${operator}`)})` };
    }
    return this.fail(`the operator ${operator} is not allowed`);
  }

  binary({ operator, left, right }: { operator: string; left: Node; right: Node }, scope: Vocabulary): Typed {
    const a = this.compile(left, scope);
    const b = this.compile(right, scope);
    const arithmetic = ARITHMETIC.get(operator);
    if (arithmetic) {
      const x = this.expect(a, 'number', `the left side of ${operator}`);
      const y = this.expect(b, 'number', `the right side of ${operator}`);
      // Division by zero yields no value (NULL) rather than failing the whole evaluation.
      const divisor = operator === '/' || operator === '%' ? sql`NULLIF(${y}, 0)` : y;
      return { type: 'number', sql: sql`(${x} ${sql.raw(arithmetic)} ${divisor})` };
    }
    const comparison = COMPARISON.get(operator);
    if (comparison) {
      if (a.type !== b.type) this.fail(`cannot compare a ${a.type} with a ${b.type} (${operator})`);
      if (a.type === 'boolean' && operator !== '==' && operator !== '!=') this.fail(`booleans cannot be ordered (${operator})`);
      return { type: 'boolean', sql: sql`(${a.sql} ${sql.raw(comparison)} ${b.sql})` };
    }
    const logical = LOGICAL.get(operator);
    if (logical) {
      const x = this.expect(a, 'boolean', `the left side of ${operator}`);
      const y = this.expect(b, 'boolean', `the right side of ${operator}`);
      return { type: 'boolean', sql: sql`(${x} ${sql.raw(logical)} ${y})` };
    }
    return this.fail(`the operator ${operator} is not allowed`);
  }

  conditional(test: Node, consequent: Node, alternate: Node, scope: Vocabulary): Typed {
    const condition = this.expect(this.compile(test, scope), 'boolean', 'the condition of if');
    const then = this.compile(consequent, scope);
    const otherwise = this.compile(alternate, scope);
    if (then.type !== otherwise.type) this.fail(`both branches of if must have one type, not ${then.type} and ${otherwise.type}`);
    return { type: then.type, sql: sql`(CASE WHEN ${condition} THEN ${then.sql} ELSE ${otherwise.sql} END)` };
  }

  call({ callee, arguments: args }: { callee: Node; arguments: Node[] }, scope: Vocabulary): Typed {
    if (callee.type !== 'Identifier') return this.fail('only the built-in functions can be called');
    const name = (callee as unknown as { name: string }).name;
    const arity = (min: number, max: number) => {
      if (args.length < min || args.length > max) {
        this.fail(`${name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}`, name);
      }
    };
    const numbers = () => args.map((arg, i) => this.expect(this.compile(arg, scope), 'number', `argument ${i + 1} of ${name}()`));
    switch (name) {
      case 'if':
        arity(3, 3);
        return this.conditional(args[0]!, args[1]!, args[2]!, scope);
      case 'min':
      case 'max':
        arity(1, 20);
        return { type: 'number', sql: sql`${sql.raw(name === 'min' ? 'LEAST' : 'GREATEST')}(${sql.join(numbers(), sql`, `)})` };
      case 'round': {
        arity(1, 2);
        const [value, digits] = numbers();
        return { type: 'number', sql: sql`round(${value}, ${digits ?? sql`0`}::int)` };
      }
      case 'abs':
        arity(1, 1);
        return { type: 'number', sql: sql`abs(${numbers()[0]})` };
      case 'count_members': {
        arity(0, 1);
        if (!scope.members) return this.fail('count_members() is only available for households', name);
        const condition = args[0]
          ? this.expect(this.compile(args[0], scope.members.vocabulary), 'boolean', 'the condition of count_members()')
          : sql`TRUE`;
        return { type: 'number', sql: scope.members.count(condition) };
      }
      default:
        return this.fail(`unknown function "${name}"`, name);
    }
  }
}

/**
 * Compiles a formula to one parameterised SQL expression over the vocabulary's columns. Literals become bind
 * parameters and names resolve only to the vocabulary's own SQL, so no text from the formula reaches the SQL.
 */
export function compileFormula(source: string, vocabulary: Vocabulary, expected?: FormulaType): Typed {
  const compiler = new Compiler(source);
  const result = compiler.compile(parseFormula(source), vocabulary);
  if (expected && result.type !== expected) compiler.fail(`the formula must give a ${expected}, not a ${result.type}`);
  return result;
}
