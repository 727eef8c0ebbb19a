import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { defineAttribute, listAttributeDefinitions } from '../../programmes/attributes.js';
import {
  benefitsOf,
  enrol,
  getBeneficiary,
  listBeneficiaries,
  setBeneficiaryStatus,
  setStatusWhere,
} from '../../programmes/beneficiaries.js';
import { previewEligibility } from '../../programmes/eligibility.js';
import { getGroup } from '../../registry/groups.js';
import { getIndividual } from '../../registry/individuals.js';
import { Uuid } from '../../registry/schemas.js';
import { createProgramme, getProgramme, listProgrammes, updateProgramme } from '../../programmes/programmes.js';
import {
  AttributeDefinition,
  AttributeDefinitionInput,
  Benefit,
  BeneficiaryStatus,
  BeneficiaryWithHistory,
  Beneficiary,
  BulkStatusChange,
  EnrolmentInput,
  EnrolmentResult,
  StatusChange,
  Preview,
  PreviewInput,
  Programme,
  ProgrammeInput,
  ProgrammePatch,
} from '../../programmes/schemas.js';
import { expectedVersion, withEtag } from '../concurrency.js';
import { errorResponses, IdParams, IfMatchHeader, pageOf, PageQuery, Query } from './common.js';

export const programmeRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/attribute-definitions',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Declare a custom attribute (name and type) that formulas may use',
        body: AttributeDefinitionInput,
        response: { 201: AttributeDefinition, ...errorResponses(400, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await defineAttribute(db, request.actor, request.body)),
  );

  app.get(
    '/attribute-definitions',
    {
      config: { scope: 'registry:read' },
      schema: { tags: ['programmes'], summary: 'Declared custom attributes', response: { 200: Type.Object({ items: Type.Array(AttributeDefinition) }) } },
    },
    async () => ({ items: await listAttributeDefinitions(db) }),
  );

  app.post(
    '/programmes',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Create a programme; its formulas are checked now (422 names the position and any unknown name)',
        body: ProgrammeInput,
        response: { 201: Programme, ...errorResponses(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const created = await createProgramme(db, request.actor, request.body);
      reply.code(201).header('location', `${request.url}/${created.id}`);
      return withEtag(reply, created);
    },
  );

  app.get(
    '/programmes',
    {
      config: { scope: 'programmes:read' },
      schema: { tags: ['programmes'], summary: 'List programmes', querystring: Query(PageQuery), response: { 200: pageOf(Programme), ...errorResponses(400) } },
    },
    async (request) => listProgrammes(db, request.actor, request.query.limit, request.query.cursor),
  );

  app.get(
    '/programmes/:id',
    {
      config: { scope: 'programmes:read' },
      schema: { tags: ['programmes'], summary: 'Read a programme', params: IdParams, response: { 200: Programme, ...errorResponses(404) } },
    },
    async (request, reply) => withEtag(reply, await getProgramme(db, request.actor, request.params.id)),
  );

  app.patch(
    '/programmes/:id',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Update a programme (If-Match required)',
        params: IdParams,
        headers: IfMatchHeader,
        body: ProgrammePatch,
        response: { 200: Programme, ...errorResponses(400, 404, 412, 422, 428) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, request.body.version, true);
      return withEtag(reply, await updateProgramme(db, request.actor, request.params.id, version, request.body));
    },
  );

  app.post(
    '/programmes/:id/eligibility/preview',
    {
      config: { scope: 'programmes:read' },
      schema: {
        tags: ['programmes'],
        summary: 'Who would qualify: counts overall, by area and by sex, and the best-ranked sample; enrols no one',
        params: IdParams,
        body: PreviewInput,
        response: { 200: Preview, ...errorResponses(400, 404, 422) },
      },
    },
    async (request) => previewEligibility(db, request.actor, request.params.id, request.body),
  );

  app.post(
    '/programmes/:id/enrolment',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Enrol the best-ranked eligible subjects not yet enrolled, within the quota',
        params: IdParams,
        body: EnrolmentInput,
        response: { 200: EnrolmentResult, ...errorResponses(400, 404, 409, 422) },
      },
    },
    async (request) => enrol(db, request.actor, request.params.id, request.body),
  );

  app.get(
    '/programmes/:id/beneficiaries',
    {
      config: { scope: 'programmes:read' },
      schema: {
        tags: ['programmes'],
        summary: 'Beneficiaries of a programme',
        params: IdParams,
        querystring: Query({ ...PageQuery, status: Type.Optional(BeneficiaryStatus) }),
        response: { 200: pageOf(Beneficiary), ...errorResponses(400, 404) },
      },
    },
    async (request) =>
      listBeneficiaries(db, request.actor, request.params.id, request.query.status, request.query.limit, request.query.cursor),
  );

  const BeneficiaryParams = Type.Object({ id: Uuid, beneficiary_id: Uuid });

  app.get(
    '/programmes/:id/beneficiaries/:beneficiary_id',
    {
      config: { scope: 'programmes:read' },
      schema: {
        tags: ['programmes'],
        summary: 'A beneficiary with the history of its status',
        params: BeneficiaryParams,
        response: { 200: BeneficiaryWithHistory, ...errorResponses(404) },
      },
    },
    async (request) => getBeneficiary(db, request.actor, request.params.id, request.params.beneficiary_id),
  );

  app.post(
    '/programmes/:id/beneficiaries/:beneficiary_id/status',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Activate, suspend, reactivate or graduate a beneficiary, with a reason',
        params: BeneficiaryParams,
        body: StatusChange,
        response: { 200: BeneficiaryWithHistory, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) =>
      setBeneficiaryStatus(db, request.actor, request.params.id, request.params.beneficiary_id, request.body.status, request.body.reason),
  );

  app.post(
    '/programmes/:id/beneficiaries/status',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Change the status of many beneficiaries at once (those whose status allows the move)',
        params: IdParams,
        body: BulkStatusChange,
        response: { 200: Type.Object({ changed: Type.Integer({ minimum: 0 }) }), ...errorResponses(400, 404) },
      },
    },
    async (request) =>
      setStatusWhere(db, request.actor, request.params.id, request.body.where, request.body.status, request.body.reason),
  );

  app.get(
    '/individuals/:id/benefits',
    {
      config: { scope: 'programmes:read' },
      schema: {
        tags: ['programmes'],
        summary: "A person's benefits in every programme",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Benefit) }), ...errorResponses(404, 410) },
      },
    },
    async (request) => {
      await getIndividual(db, request.actor, request.params.id);
      return { items: await benefitsOf(db, request.params.id) };
    },
  );

  app.get(
    '/groups/:id/benefits',
    {
      config: { scope: 'programmes:read' },
      schema: {
        tags: ['programmes'],
        summary: "A household's benefits in every programme",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Benefit) }), ...errorResponses(404, 410) },
      },
    },
    async (request) => {
      await getGroup(db, request.actor, request.params.id);
      return { items: await benefitsOf(db, request.params.id) };
    },
  );
};
