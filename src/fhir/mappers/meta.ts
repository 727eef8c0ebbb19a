import type { Meta } from '@medplum/fhirtypes';

/** meta of a mapped record: version, last change and the hub profile it conforms to. */
export const metaOf = (record: { version: number; updated_at: string }, profile: string): Meta => ({
  versionId: String(record.version),
  lastUpdated: record.updated_at,
  profile: [profile],
});
