import { sql, type SQL } from 'drizzle-orm';

/** Alias of the membership row in the members' pass; member conditions may read `role`. */
export const MEMBERSHIP_ALIAS = 'fm';
/** Alias of the member (an individual) in the members' pass; the member vocabulary reads it. */
export const MEMBER_ALIAS = 'fi';
const PASS_ALIAS = 'ma';

/**
 * Per-household aggregates over current, not deleted members, all computed in ONE grouped pass over
 * group_members ⨝ individuals that is joined once to the household row. A correlated subquery per aggregate would
 * probe the members of every household again for each term, which is what made formulas slow at registry scale.
 *
 * Terms are registered while formulas compile; `join()` is read after every expression of the statement is
 * compiled, and yields nothing when no term was registered, so formulas that never look at members pay nothing.
 */
export class MemberAggregates {
  private readonly terms: SQL[] = [];

  constructor(private readonly householdAlias: string) {}

  /** Registers an aggregate expression (over MEMBERSHIP_ALIAS and MEMBER_ALIAS) and answers the SQL reading it. */
  aggregate(expression: SQL): SQL {
    const column = sql.identifier(`a${this.terms.length}`);
    this.terms.push(sql`${expression} AS ${column}`);
    return sql`${sql.identifier(PASS_ALIAS)}.${column}`;
  }

  /** How many members meet `condition`: 0 for a household without members (the outer join finds no row). */
  count(condition: SQL): SQL {
    return sql`COALESCE(${this.aggregate(sql`count(*) FILTER (WHERE ${condition})`)}, 0)::numeric`;
  }

  /**
   * The LEFT JOIN to append after the household row in FROM; empty when no aggregate was registered. `within`, a
   * subquery of household ids, limits the pass to the households the statement reads (a programme's beneficiaries).
   */
  join(within?: SQL): SQL {
    if (this.terms.length === 0) return sql``;
    const fm = sql.identifier(MEMBERSHIP_ALIAS);
    const fi = sql.identifier(MEMBER_ALIAS);
    const pass = sql.identifier(PASS_ALIAS);
    return sql` LEFT JOIN (
      SELECT ${fm}.group_id, ${sql.join(this.terms, sql`, `)}
      FROM group_members ${fm} JOIN individuals ${fi} ON ${fi}.id = ${fm}.individual_id
      WHERE ${fm}.end_date IS NULL AND ${fi}.deleted_at IS NULL${within ? sql` AND ${fm}.group_id IN (${within})` : sql``}
      GROUP BY ${fm}.group_id) ${pass} ON ${pass}.group_id = ${sql.identifier(this.householdAlias)}.id`;
  }
}
