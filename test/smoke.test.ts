import t from 'tap';
import { testHub } from './helpers/hub.js';

t.test('a household with three members, created, read back and listed', async (t) => {
  const hub = await testHub(t);
  const res = await hub.request({
    method: 'POST',
    url: '/api/v1/groups',
    payload: {
      code: 'HH-1',
      members: [
        { role: 'head', individual: { given_name: 'Jean', family_name: 'Ndayishimiye', sex: 'male', birth_date: '1980-02-01', identifiers: [{ type: 'NIN', value: '1001' }] } },
        { role: 'spouse', individual: { given_name: 'Marie', family_name: 'Ndayishimiye', sex: 'female', birth_date: '1983-05-11' } },
        { role: 'child', individual: { given_name: 'Eric', family_name: 'Ndayishimiye', sex: 'male', birth_date: '2012-09-30' } },
      ],
    },
  });
  t.equal(res.statusCode, 201, res.body);
  const group = res.json();
  t.equal(group.members.length, 3);
  t.equal(res.headers.etag, '"1"');
  const read = await hub.request({ method: 'GET', url: `/api/v1/groups/${group.id}` });
  t.same(read.json().members.map((m: { role: string }) => m.role).sort(), ['child', 'head', 'spouse']);
  const list = await hub.request({ method: 'GET', url: '/api/v1/groups?code=HH-1' });
  t.equal(list.json().items.length, 1);
  t.equal(list.json().items[0].id, group.id);
  const none = await hub.request({ method: 'GET', url: '/api/v1/groups', token: null });
  t.equal(none.statusCode, 401);
  t.equal(none.headers['content-type'], 'application/problem+json; charset=utf-8');
});
