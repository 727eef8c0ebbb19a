import type { FastifyInstance, RouteOptions } from 'fastify';

export interface RouteSummary {
  method: string;
  url: string;
  config: RouteOptions['config'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after recordRoutes, one entry per method (HEAD included). */
    routeList: readonly RouteSummary[];
  }
}

/** Keeps the list of routes so that a test can walk every one of them (a route added later cannot be missed). */
export function recordRoutes(app: FastifyInstance) {
  const list: RouteSummary[] = [];
  app.decorate('routeList', list);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) list.push({ method, url: route.url, config: route.config });
  });
}
