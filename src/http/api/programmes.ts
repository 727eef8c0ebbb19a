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
import { Count, Uuid } from '../../registry/schemas.js';
import { createProgramme, getProgramme, listProgrammes, updateProgramme } from '../../programmes/programmes.js';
import {
  AttributeDefinition,
  AttributeDefinitionInput,
  type Approvals,
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
import { Task } from '../../workflow/schemas.js';
import { expectedVersion, withEtag } from '../concurrency.js';
import { errorResponses, IdParams, IfMatchHeader, pageOf, PageQuery, Query } from './common.js';

const PENDING =
  'When the programme\'s `approvals` rule asks approval for this kind of change, nothing changes yet: the answer is ' +
  '202 with the maker-checker task (see /tasks), applied by its last approval.';

export const programmeRoutes: FastifyPluginAsyncTypebox<{ db: Db; approvals: Partial<Approvals> }> = async (app, { db, approvals }) => {
  app.post(
    '/attribute-definitions',
    {
      config: { scope: 'registry:write', wholeRegistry: true },
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
        description: 'Without `approvals`, the programme takes the hub default (HUB_APPROVALS; none unless set).',
        body: ProgrammeInput,
        response: { 201: Programme, ...errorResponses(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const created = await createProgramme(db, request.actor, request.body, approvals);
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
        description:
          'With `activate` and a programme whose rule asks approval of enrolment, those chosen are enrolled POTENTIAL ' +
          'and the answer is 202 with the task that activates them once approved.',
        params: IdParams,
        body: EnrolmentInput,
        response: {
          200: EnrolmentResult,
          202: Type.Composite([EnrolmentResult, Type.Object({ task: Task })], { description: 'Enrolled POTENTIAL; activation waits for approval.' }),
          ...errorResponses(400, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const result = await enrol(db, request.actor, request.params.id, request.body);
      return reply.code(result.task ? 202 : 200).send(result);
    },
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
        description: PENDING,
        params: BeneficiaryParams,
        body: StatusChange,
        response: { 200: BeneficiaryWithHistory, 202: Task, ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { params, body } = request;
      const outcome = await setBeneficiaryStatus(db, request.actor, params.id, params.beneficiary_id, body.status, body.reason);
      return outcome.task ? reply.code(202).send(outcome.task) : reply.send(outcome.beneficiary);
    },
  );

  app.post(
    '/programmes/:id/beneficiaries/status',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Change the status of many beneficiaries at once (those whose status allows the move)',
        description:
          `${PENDING} The 202 answer lists the tasks (one per approval rule: activating POTENTIAL beneficiaries falls under ` +
          'enrolment, other moves under status_change).',
        params: IdParams,
        body: BulkStatusChange,
        response: {
          200: Type.Object({ changed: Count }),
          202: Type.Object({ changed: Count, tasks: Type.Array(Task) }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const { params, body } = request;
      const outcome = await setStatusWhere(db, request.actor, params.id, body.where, body.status, body.reason);
      return outcome.tasks.length > 0 ? reply.code(202).send(outcome) : reply.send({ changed: outcome.changed });
    },
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
