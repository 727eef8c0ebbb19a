import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { Uuid } from '../../registry/schemas.js';
import { Approval, Rejection, Task, TaskItem, TaskItemOutcome, TaskKind, TaskStatus } from '../../workflow/schemas.js';
import { approveTask, getTask, listTaskItems, listTasks, rejectTask } from '../../workflow/tasks.js';
import { errorResponses, IdParams, pageOf, PageQuery, Query } from './common.js';

const tags = ['workflow'];

const GEO = 'A client with a geographic scope sees and decides only the tasks whose beneficiaries all lie inside its area.';

const DECISION =
  'Four eyes: 403 for the client that made the task, and for a client that approved an earlier level; 409 when the ' +
  'task is already decided. Audited.';

export const taskRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/tasks',
    {
      config: { scope: 'workflow:read' },
      schema: {
        tags,
        summary: 'Maker-checker tasks: beneficiary status changes waiting for approval, and decided ones',
        description: GEO,
        querystring: Query({
          ...PageQuery,
          status: Type.Optional(TaskStatus),
          kind: Type.Optional(TaskKind),
          programme_id: Type.Optional(Uuid),
        }),
        response: { 200: pageOf(Task), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listTasks(db, request.actor, filters, limit, cursor);
    },
  );

  app.get(
    '/tasks/:id',
    {
      config: { scope: 'workflow:read' },
      schema: { tags, summary: 'A task with its decisions and how many of its beneficiaries it applied to', description: GEO, params: IdParams, response: { 200: Task, ...errorResponses(404) } },
    },
    async (request) => getTask(db, request.actor, request.params.id),
  );

  app.get(
    '/tasks/:id/items',
    {
      config: { scope: 'workflow:read' },
      schema: {
        tags,
        summary: 'The beneficiaries of a task: the status each had when it was made, and what applying it found',
        params: IdParams,
        querystring: Query({ ...PageQuery, outcome: Type.Optional(TaskItemOutcome) }),
        response: { 200: pageOf(TaskItem), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listTaskItems(db, request.actor, request.params.id, filters, limit, cursor);
    },
  );

  app.post(
    '/tasks/:id/approve',
    {
      config: { scope: 'workflow:approve' },
      schema: {
        tags,
        summary: 'Approve the next level of a task; the last level applies the change at once',
        description:
          'Applying re-checks each beneficiary: those no longer in the status they had when the task was made (or, to ' +
          `become ACTIVE, now deceased) are left alone and reported in the items. ${DECISION}`,
        params: IdParams,
        body: Approval,
        response: { 200: Task, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => approveTask(db, request.actor, request.params.id, request.body.comment),
  );

  app.post(
    '/tasks/:id/reject',
    {
      config: { scope: 'workflow:approve' },
      schema: {
        tags,
        summary: 'Reject a task, with the reason; nothing is applied',
        description: DECISION,
        params: IdParams,
        body: Rejection,
        response: { 200: Task, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => rejectTask(db, request.actor, request.params.id, request.body.reason),
  );
};
