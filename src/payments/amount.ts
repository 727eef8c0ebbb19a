import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { compileProgrammeFormula, vocabularyFor, withNumbers, type Subject } from '../programmes/vocabulary.js';

/** The formulas of a plan that decide who is paid and how much. */
export interface PlanFormulas {
  amount: string;
  parameters: Record<string, number>;
  condition: string | null;
}

export interface CompiledPlan {
  /** The amount for the subject row (aliased SUBJECT_ALIAS), rounded to cents; NULL when it cannot be computed. */
  amount: SQL;
  /** True for the subjects the plan pays. */
  condition: SQL;
}

/**
 * Compiles a plan's amount and condition with the programme's formula compiler, over the programme's vocabulary on
 * `asOf` plus the plan's named numbers. Errors are 422s naming `/amount` or `/condition`.
 */
export async function compilePlan(db: Db, subject: Subject, plan: PlanFormulas, asOf: string): Promise<CompiledPlan> {
  const vocabulary = withNumbers(await vocabularyFor(db, subject, asOf), plan.parameters, '/parameters');
  const amount = compileProgrammeFormula(plan.amount, vocabulary, 'number', '/amount');
  const condition = plan.condition ? compileProgrammeFormula(plan.condition, vocabulary, 'boolean', '/condition') : sql`TRUE`;
  return { amount: sql`round((${amount})::numeric, 2)`, condition: sql`(${condition}) IS TRUE` };
}
