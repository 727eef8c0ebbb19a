import t from 'tap';
import { header, registerPartner, searchItem, searchMessage, send } from '../helpers/dci.js';
import { namesOf, seedRegistry } from '../helpers/dci-registry.js';
import { testHub } from '../helpers/hub.js';

const SEARCH = '/registry/sync/search';

const expression = (query: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  searchItem({ query_type: 'expression', query: { value: { expression: { query } } }, ...extra });

t.test('query attributes: configured aliases, and the registry’s own attribute definitions', async (t) => {
  // Attribute naming over a handful of records, scans included; the index policy is test/dci/query-limits.test.ts's.
  const hub = await testHub(t, { DCI_INDEXED_QUERIES_ONLY: 'false', DCI_ATTRIBUTE_ALIASES: JSON.stringify({ hh_size: 'group_size', hh_poverty: 'poverty_score', herd: 'livestock' }) });
  const { groups } = await seedRegistry(hub);
  const partner = await registerPartner(hub);
  const search = async (items: Record<string, unknown>[]) => {
    const res = await send(hub, partner, SEARCH, { header: header(partner, { total_count: items.length }), message: searchMessage(items) });
    t.equal(res.statusCode, 200, res.body);
    return res.json().message.search_response as any[];
  };
  const householdCodes = (answer: any) => answer.data.reg_records.map((g: any) => g.group_identifier[0].identifier_value).sort();
  const define = async (subject: string, name: string, type: string) => {
    const res = await hub.request({ method: 'POST', url: '/api/v1/attribute-definitions', payload: { subject, name, type } });
    t.equal(res.statusCode, 201, res.body);
  };
  const patchAttributes = async (path: string, attributes: Record<string, unknown>) => {
    const current = await hub.request({ method: 'GET', url: `/api/v1/${path}` });
    const res = await hub.request({ method: 'PATCH', url: `/api/v1/${path}`, headers: { 'if-match': current.headers.etag as string }, payload: { attributes } });
    t.equal(res.statusCode, 200, res.body);
  };

  t.test('aliases from DCI_ATTRIBUTE_ALIASES name built-in and custom attributes; the built-in aliases still hold', async (t) => {
    const [bySize, byPoverty, builtInAlias] = await search([
      expression({ hh_size: { $gte: 3 } }, { response_entity: 'Group' }),
      expression({ hh_poverty: { $lt: 5 } }, { response_entity: 'Group' }),
      expression({ household_size: { $eq: 1 } }, { response_entity: 'Group' }),
    ]);
    t.same(householdCodes(bySize), ['HH-C2']);
    t.same(householdCodes(byPoverty), ['HH-C1', 'HH-N1']);
    t.same(householdCodes(builtInAlias), ['HH-N1']);
  });

  t.test('an attribute the registry defines becomes queryable once defined, on the records that hold it', async (t) => {
    await patchAttributes(`groups/${groups.hhC2}`, { poverty_score: 7, livestock: 4 });
    await patchAttributes(`groups/${groups.hhN1}`, { poverty_score: 1, livestock: 1 });
    const before = await search([expression({ livestock: { $gt: 2 } }, { response_entity: 'Group' })]);
    t.match(before[0], { status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' }, 'unknown before it is defined');

    await define('group', 'livestock', 'number');
    await define('individual', 'disabled', 'boolean');
    const people = await search([expression({ given_name: 'Dina' })]);
    await patchAttributes(`individuals/${people[0].data.reg_records[0]['@id'].slice('urn:uuid:'.length)}`, { poverty_score: 2, disabled: true });

    const [groupsByLivestock, membersByHouseholdLivestock, byAlias, disabledPeople, disabledGroups, sorted] = await search([
      expression({ livestock: { $gt: 2 } }, { response_entity: 'Group' }),
      expression({ livestock: { $gt: 2 } }, { response_entity: 'Member' }),
      expression({ herd: { $lte: 1 } }, { response_entity: 'Group' }),
      expression({ disabled: { $eq: true } }, { response_entity: 'Member' }),
      expression({ disabled: { $eq: true } }, { response_entity: 'Group' }),
      expression({ livestock: { $gte: 0 } }, { response_entity: 'Group', sort: [{ attribute_name: 'livestock', sort_order: 'desc' }] }),
    ]);
    t.same(householdCodes(groupsByLivestock), ['HH-C2'], 'a household attribute on households');
    t.same(namesOf(membersByHouseholdLivestock.data.reg_records).sort(), ['Carl', 'Dina', 'Eve'], 'and for people, their household’s');
    t.same(householdCodes(byAlias), ['HH-N1'], 'a configured alias may name a defined attribute');
    t.same(namesOf(disabledPeople.data.reg_records), ['Dina'], 'a person attribute on people');
    t.match(disabledGroups, { status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' }, 'but not on households');
    t.same(
      sorted.data.reg_records.map((g: any) => g.group_identifier[0].identifier_value),
      ['HH-C2', 'HH-N1'],
      'sorting by a defined attribute',
    );
    t.notOk('livestock' in sorted.data.reg_records[0], 'records keep configured attributes at the top level only');
    t.same(sorted.data.reg_records[0].additional_attributes.find((a: any) => a.name === 'livestock')?.value, 4, 'defined ones are in additional_attributes');
  });
});
