import { OperatorError } from '../../errors.js';
import type { IntakeSource, Submission } from '../../registry/import/intake.js';
import { outboundFetch } from '../../security/outbound.js';

export interface KoboSettings {
  /** The KoBoToolbox server, e.g. https://kf.kobotoolbox.org */
  url: string;
  /** API token of a user who can view the form's submissions. */
  token: string;
  /** The form (asset) uid. */
  asset: string;
  pageSize?: number;
  timeoutMs?: number;
}

export class KoboError extends OperatorError {}

interface Page {
  next: string | null;
  results: Record<string, unknown>[];
}

/**
 * Submissions of a KoBoToolbox form through its API v2 (`/api/v2/assets/{uid}/data/?format=json`, token auth),
 * oldest first, filtered on the server by `_submission_time` and read page by page along the `next` links — which
 * must stay on the configured server, so the token is never sent elsewhere.
 */
export function koboSource(settings: KoboSettings): IntakeSource {
  const base = new URL(settings.url);
  const pageSize = settings.pageSize ?? 1000;
  return {
    name: `kobo:${settings.asset}`,
    async *submissions(since: string | undefined): AsyncIterable<Submission> {
      const first = new URL(`api/v2/assets/${encodeURIComponent(settings.asset)}/data/`, base.href.endsWith('/') ? base : `${base.href}/`);
      first.searchParams.set('format', 'json');
      first.searchParams.set('limit', String(pageSize));
      first.searchParams.set('sort', JSON.stringify({ _submission_time: 1 }));
      // KoBo keeps _submission_time as a UTC string to the second, without a zone, and compares it as a string.
      if (since) first.searchParams.set('query', JSON.stringify({ _submission_time: { $gt: new Date(since).toISOString().slice(0, 19) } }));
      let next: string | null = first.href;
      while (next) {
        const url = new URL(next);
        if (url.origin !== base.origin) throw new KoboError(`KoBoToolbox sent a next page on another server (${url.origin}); refusing to send the token there`);
        const res = await outboundFetch(url, {
          headers: { authorization: `Token ${settings.token}`, accept: 'application/json' },
          signal: AbortSignal.timeout(settings.timeoutMs ?? 60_000),
        });
        if (res.status === 401 || res.status === 403) throw new KoboError(`KoBoToolbox refused the token (HTTP ${res.status})`);
        if (res.status === 404) throw new KoboError(`KoBoToolbox has no form ${settings.asset} (HTTP 404)`);
        if (!res.ok) throw new KoboError(`KoBoToolbox answered HTTP ${res.status}`);
        const page = (await res.json()) as Page;
        if (!Array.isArray(page.results)) throw new KoboError('KoBoToolbox answered without a results list');
        for (const values of page.results) {
          const submittedAt = values._submission_time;
          if (typeof submittedAt !== 'string') throw new KoboError('a submission has no _submission_time');
          // KoBo writes submission times without a zone; they are UTC.
          yield { submittedAt: /[zZ]|[+-]\d\d:?\d\d$/.test(submittedAt) ? submittedAt : `${submittedAt}Z`, values };
        }
        next = page.next;
      }
    },
  };
}
