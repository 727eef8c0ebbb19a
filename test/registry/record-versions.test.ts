import { and, asc, eq } from 'drizzle-orm';
import t from 'tap';
import { recordVersions } from '../../src/db/schema/index.js';
import { testHub } from '../helpers/hub.js';
import { create } from '../helpers/registry.js';

const hub = await testHub(t);

const versions = (entityType: string, id: string) =>
  hub.database.db
    .select()
    .from(recordVersions)
    .where(and(eq(recordVersions.entityType, entityType), eq(recordVersions.entityId, id)))
    .orderBy(asc(recordVersions.version));

t.test('every admin API write of a person or household stores its version, deletes included', async (t) => {
  const loc = await create(t, hub, 'locations', { code: 'RV', name: 'Area' });
  const scoped = await hub.client(['registry:read', 'registry:write'], { location_id: loc.id });
  const outside = await create(t, hub, 'individuals', { given_name: 'Out', family_name: 'Side' });
  const group = await create(t, hub, 'groups', {
    code: 'RV-1',
    location_id: loc.id,
    members: [
      { role: 'head', individual: { given_name: 'Ana', family_name: 'Rv', location_id: loc.id } },
      { role: 'other_relative', individual_id: outside.id },
    ],
  });
  const ana = group.members.find((m: { role: string }) => m.role === 'head').individual_id;
  const child = await create(t, hub, 'individuals', { given_name: 'Bo', family_name: 'Rv', location_id: loc.id });

  const patch = await hub.request({ method: 'PATCH', url: `/api/v1/individuals/${ana}`, payload: { birth_date: '1990-01-01' }, headers: { 'if-match': '"1"' } });
  t.equal(patch.statusCode, 200);
  // A scoped writer does not see the member outside its area, but the stored version keeps him.
  const add = await hub.request({ method: 'POST', url: `/api/v1/groups/${group.id}/members`, payload: { individual_id: child.id, role: 'child' }, token: scoped.token });
  t.equal(add.statusCode, 201, add.body);
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${child.id}` })).statusCode, 204);

  const anaVersions = await versions('individual', ana);
  t.same(anaVersions.map((v) => v.version), [1, 2]);
  t.equal((anaVersions[1]!.snapshot as { birth_date: string }).birth_date, '1990-01-01');
  t.equal(anaVersions[1]!.actor, 'bootstrap-admin');

  const childVersions = await versions('individual', child.id);
  t.same(childVersions.map((v) => [v.version, v.deletedAt !== null]), [[1, false], [2, true]], 'the delete is a version');

  const groupVersions = await versions('group', group.id);
  t.same(groupVersions.map((v) => v.version), [1, 2, 3], 'create, member added, member deleted');
  const members = (n: number) => (groupVersions[n]!.snapshot as { members: { individual_id: string }[] }).members.map((m) => m.individual_id).sort();
  t.same(members(1), [ana, outside.id, child.id].sort(), 'the scoped writer’s version has every member');
  t.same(members(2), [ana, outside.id].sort());
  t.equal(groupVersions[1]!.actor, scoped.clientId);

  const current = (await hub.request({ method: 'GET', url: `/api/v1/groups/${group.id}` })).json();
  t.equal(current.version, 3, 'stored versions follow the record version');
});
