import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { pullEvents, subscribeToEvents } from '../../adapters/registry/dci-intake.js';
import type { RegistryAdapter } from '../../adapters/registry/registries.js';
import type { Db } from '../../db/client.js';
import { notFound, unprocessable } from '../../errors.js';
import { CivilEventType } from '../../registry/civil-event-schemas.js';
import { IsoDate } from '../../registry/schemas.js';
import { errorResponses } from './common.js';

const tags = ['registries'];

const Registry = Type.Object({
  name: Type.String(),
  kind: Type.Union([Type.Literal('dci-crvs'), Type.Literal('dci-sr'), Type.Literal('fhir')]),
  base_url: Type.String(),
  health: Type.Object({
    status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    detail: Type.Optional(Type.String()),
    checked_at: Type.String({ format: 'date-time' }),
  }),
});

const NameParams = Type.Object({ name: Type.String() });
const EventTypes = Type.Array(CivilEventType, { minItems: 1, maxItems: 6, default: ['birth', 'death'] });
const Counts = Type.Object({ recorded: Type.Integer(), duplicate: Type.Integer(), review: Type.Integer() });

export const registryRoutes: FastifyPluginAsyncTypebox<{ db: Db; registries: Map<string, RegistryAdapter> }> = async (app, { db, registries }) => {
  const dciOf = (name: string) => {
    const adapter = registries.get(name);
    if (!adapter) throw notFound('registry', name);
    if (!adapter.dci || adapter.config.kind !== 'dci-crvs') throw unprocessable(`registry ${name} is not a DCI CRVS`);
    return adapter.dci;
  };

  app.get(
    '/registries',
    {
      config: { scope: 'registries:read' },
      schema: {
        tags,
        summary: 'External registries (HUB_REGISTRIES) with their health, checked now',
        response: { 200: Type.Object({ items: Type.Array(Registry) }), ...errorResponses() },
      },
    },
    async () => ({
      items: await Promise.all(
        [...registries.values()].map(async (r) => ({ name: r.config.name, kind: r.config.kind, base_url: r.config.base_url, health: await r.health() })),
      ),
    }),
  );

  app.post(
    '/registries/:name/subscriptions',
    {
      config: { scope: 'registries:write', wholeRegistry: true },
      schema: {
        tags,
        summary: 'Subscribe to a DCI CRVS’s vital events (they arrive as notify callbacks and are applied once each)',
        params: NameParams,
        body: Type.Object({ event_types: EventTypes }, { additionalProperties: false }),
        response: {
          202: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), event_type: Type.String(), reference_id: Type.String(), status: Type.String() })) }),
          ...errorResponses(400, 404, 422),
        },
      },
    },
    async (request, reply) => reply.code(202).send({ items: await subscribeToEvents(db, dciOf(request.params.name), request.body.event_types) }),
  );

  app.post(
    '/registries/:name/pull',
    {
      config: { scope: 'registries:write', wholeRegistry: true },
      schema: {
        tags,
        summary: 'Reconciliation: search a DCI CRVS for events registered in a date range and apply them (idempotent)',
        params: NameParams,
        body: Type.Object({ from: IsoDate, to: IsoDate, event_types: EventTypes }, { additionalProperties: false }),
        response: { 200: Counts, ...errorResponses(400, 404, 422) },
      },
    },
    async (request) => pullEvents(db, dciOf(request.params.name), request.body.event_types, request.body.from, request.body.to),
  );
};
