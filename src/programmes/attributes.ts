import { asc } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { attributeDefinitions } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import type { FormulaType } from './formula/compile.js';
import type { AttributeTypes } from './formula/registry-vocabulary.js';
import type { AttributeDefinition, AttributeDefinitionInput } from './schemas.js';

type Row = typeof attributeDefinitions.$inferSelect;

const toDefinition = (row: Row): AttributeDefinition => ({
  id: row.id,
  subject: row.subject as AttributeDefinition['subject'],
  name: row.name,
  type: row.type,
  label: row.label,
  version: row.version,
});

export function defineAttribute(db: Db, actor: Actor, input: AttributeDefinitionInput): Promise<AttributeDefinition> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(attributeDefinitions)
      .values({ subject: input.subject, name: input.name, type: input.type, label: input.label ?? null })
      .returning();
    const created = toDefinition(row!);
    await appendAudit(tx, actor, { action: 'attribute.define', entityType: 'attribute_definition', entityId: created.id, after: created });
    return created;
  });
}

export async function listAttributeDefinitions(db: Db): Promise<AttributeDefinition[]> {
  const rows = await db.select().from(attributeDefinitions).orderBy(asc(attributeDefinitions.subject), asc(attributeDefinitions.name));
  return rows.map(toDefinition);
}

/** The declared attributes of people and of households, as formula vocabularies need them. */
export async function attributeTypes(db: Db): Promise<{ individual: AttributeTypes; group: AttributeTypes }> {
  const rows = await db.select().from(attributeDefinitions);
  const of = (subject: string) =>
    Object.fromEntries(rows.filter((r) => r.subject === subject).map((r) => [r.name, r.type as FormulaType]));
  return { individual: of('individual'), group: of('group') };
}
