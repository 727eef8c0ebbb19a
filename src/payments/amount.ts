import { sql, type SQL } from 'drizzle-orm';
import { compileProgrammeFormula, withNumbers, type SubjectVocabulary } from '../programmes/vocabulary.js';

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
 * Compiles a plan's amount and condition with the programme's formula compiler, over the programme's vocabulary
 * plus the plan's named numbers. Several plans compiled with one vocabulary share its members' pass, which the
 * statement adds with `vocabulary.joins()`. Errors are 422s naming `/amount` or `/condition`.
 */
export function compilePlan(vocabulary: SubjectVocabulary, plan: PlanFormulas): CompiledPlan {
  const withParameters = withNumbers(vocabulary, plan.parameters, '/parameters');
  const amount = compileProgrammeFormula(plan.amount, withParameters, 'number', '/amount');
  const condition = plan.condition ? compileProgrammeFormula(plan.condition, withParameters, 'boolean', '/condition') : sql`TRUE`;
  return { amount: sql`round((${amount})::numeric, 2)`, condition: sql`(${condition}) IS TRUE` };
}
