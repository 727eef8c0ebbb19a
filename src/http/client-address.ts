import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';

/** The caller's address as limits and lockouts count it: an IPv6 caller by its /64, as one host usually holds one. */
export const clientAddress = (request: FastifyRequest) => normalizeIP(request.ip);
