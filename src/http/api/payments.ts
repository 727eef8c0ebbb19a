import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { approveCycle, generateCycle, getCycle, listCycles, listPayments, setCompliance } from '../../payments/cycles.js';
import type { GatewayRegistry } from '../../payments/gateway.js';
import { createPlan, getPlan, listPlans } from '../../payments/plans.js';
import { reconcileFile, reconcileFromGateway } from '../../payments/reconciliation.js';
import {
  ComplianceInput,
  ComplianceResult,
  CycleInput,
  Payment,
  PaymentCycle,
  PaymentPlan,
  PaymentPlanInput,
  PaymentStatus,
  ReconciliationResult,
  SendResult,
} from '../../payments/schemas.js';
import { sendCycle } from '../../payments/sending.js';
import { Uuid } from '../../registry/schemas.js';
import { errorResponses, IdParams, pageOf, PageQuery, Query } from './common.js';

const tags = ['payments'];
/** Reconciliation files of a whole cycle (120 000 lines) are larger than ordinary request bodies. */
const RECONCILIATION_BODY_LIMIT = 64 * 1024 * 1024;

export const paymentRoutes: FastifyPluginAsyncTypebox<{ db: Db; gateways: GatewayRegistry }> = async (app, { db, gateways }) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: RECONCILIATION_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post(
    '/programmes/:id/payment-plans',
    {
      config: { scope: 'payments:write' },
      schema: {
        tags,
        summary: 'Create a payment plan: amount formula, who (condition, area), schedule, gateway, conditional or not',
        params: IdParams,
        body: PaymentPlanInput,
        response: { 201: PaymentPlan, ...errorResponses(400, 404, 422) },
      },
    },
    async (request, reply) => {
      const plan = await createPlan(db, request.actor, gateways, request.params.id, request.body);
      return reply.code(201).header('location', `/api/v1/payment-plans/${plan.id}`).send(plan);
    },
  );

  app.get(
    '/programmes/:id/payment-plans',
    {
      config: { scope: 'payments:read' },
      schema: { tags, summary: 'Payment plans of a programme', params: IdParams, response: { 200: Type.Object({ items: Type.Array(PaymentPlan) }), ...errorResponses(404) } },
    },
    async (request) => ({ items: await listPlans(db, request.actor, request.params.id) }),
  );

  app.get(
    '/payment-plans/:id',
    {
      config: { scope: 'payments:read' },
      schema: { tags, summary: 'A payment plan with its periods', params: IdParams, response: { 200: PaymentPlan, ...errorResponses(404) } },
    },
    async (request) => getPlan(db, request.actor, request.params.id),
  );

  app.post(
    '/payment-plans/:id/cycles',
    {
      config: { scope: 'payments:write' },
      schema: {
        tags,
        summary: 'Generate (or generate again) the cycle of a period: one payment per ACTIVE beneficiary due, never twice',
        params: IdParams,
        body: CycleInput,
        response: {
          200: Type.Object({ cycle: PaymentCycle, added: Type.Integer(), updated: Type.Integer(), removed: Type.Integer() }),
          ...errorResponses(400, 404, 409, 422),
        },
      },
    },
    async (request) => generateCycle(db, request.actor, request.params.id, request.body.period_start),
  );

  app.get(
    '/payment-plans/:id/cycles',
    {
      config: { scope: 'payments:read' },
      schema: { tags, summary: 'Cycles of a plan, by period', params: IdParams, response: { 200: Type.Object({ items: Type.Array(PaymentCycle) }), ...errorResponses(404) } },
    },
    async (request) => ({ items: await listCycles(db, request.actor, request.params.id) }),
  );

  app.get(
    '/payment-cycles/:id',
    {
      config: { scope: 'payments:read' },
      schema: { tags, summary: 'A payment cycle with its totals', params: IdParams, response: { 200: PaymentCycle, ...errorResponses(404) } },
    },
    async (request) => getCycle(db, request.actor, request.params.id),
  );

  app.get(
    '/payment-cycles/:id/payments',
    {
      config: { scope: 'payments:read' },
      schema: {
        tags,
        summary: "Payments of a cycle within the caller's geographic scope",
        params: IdParams,
        querystring: Query({ ...PageQuery, status: Type.Optional(PaymentStatus), subject_id: Type.Optional(Uuid) }),
        response: { 200: pageOf(Payment), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listPayments(db, request.actor, request.params.id, filters, limit, cursor);
    },
  );

  app.post(
    '/payment-cycles/:id/compliance',
    {
      config: { scope: 'payments:write' },
      schema: {
        tags,
        summary: 'Conditional plans: mark beneficiaries of a DRAFT cycle compliant (paid) or not (not paid)',
        params: IdParams,
        body: ComplianceInput,
        response: { 200: ComplianceResult, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => setCompliance(db, request.actor, request.params.id, request.body),
  );

  app.post(
    '/payment-cycles/:id/approve',
    {
      config: { scope: 'payments:approve' },
      schema: {
        tags,
        summary: 'Approve a DRAFT cycle for sending (by another client than the one that generated it; within budget)',
        params: IdParams,
        response: { 200: PaymentCycle, ...errorResponses(404, 409, 422) },
      },
    },
    async (request) => approveCycle(db, request.actor, request.params.id),
  );

  app.post(
    '/payment-cycles/:id/send',
    {
      config: { scope: 'payments:write' },
      schema: {
        tags,
        summary: 'Hand the PENDING payable payments of an approved cycle to its gateway; safe to repeat',
        params: IdParams,
        response: { 200: SendResult, ...errorResponses(404, 409) },
      },
    },
    async (request) => sendCycle(db, request.actor, gateways, request.params.id),
  );

  app.post(
    '/payment-cycles/:id/reconciliation',
    {
      config: { scope: 'payments:write' },
      bodyLimit: RECONCILIATION_BODY_LIMIT,
      schema: {
        tags,
        summary: "Import the operator's reconciliation CSV (reference_id, status paid|failed, reason, gateway_reference, amount)",
        description: 'Matched by reference; mismatches (unknown references, amount differences, duplicates, contradictions) are reported, not applied.',
        params: IdParams,
        consumes: ['text/csv'],
        body: Type.String({ description: 'CSV with a header row.' }),
        response: { 200: ReconciliationResult, ...errorResponses(400, 404, 409, 422) },
      },
    },
    async (request) => reconcileFile(db, request.actor, gateways, request.params.id, request.body),
  );

  app.post(
    '/payment-cycles/:id/status-check',
    {
      config: { scope: 'payments:write' },
      schema: {
        tags,
        summary: 'Ask the gateway for the outcome of the SENT payments and reconcile what it reports',
        params: IdParams,
        response: { 200: ReconciliationResult, ...errorResponses(404, 409) },
      },
    },
    async (request) => reconcileFromGateway(db, request.actor, gateways, request.params.id),
  );
};
