import t from 'tap';
import { compactVerify, createLocalJWKSet } from 'jose';
import { header, registerPartner, schemaErrors, searchItem, searchMessage, send } from '../helpers/dci.js';
import { namesOf, seedRegistry } from '../helpers/dci-registry.js';
import { testHub } from '../helpers/hub.js';

const SEARCH = '/registry/sync/search';

t.test('sync search: query types, entities, sort, pagination and batches, answered in the spec shapes', async (t) => {
  // Query semantics over a handful of records, scans included; the index policy is test/dci/query-limits.test.ts's.
  const hub = await testHub(t, { DCI_INDEXED_QUERIES_ONLY: 'false' });
  await seedRegistry(hub);
  const partner = await registerPartner(hub);

  /** Sends one message, checks it is a valid signed on-search, answers its search_response items. */
  const search = async (items: Record<string, unknown>[], what: string) => {
    const content = { header: header(partner, { total_count: items.length }), message: searchMessage(items) };
    const res = await send(hub, partner, SEARCH, content);
    t.equal(res.statusCode, 200, `${what}: 200`, { body: res.body });
    const body = res.json();
    t.equal(schemaErrors('sync-search.response.json', body), '', `${what}: valid against the spec's sync search response`);
    t.equal(body.header.action, 'on-search');
    t.equal(body.header.status, 'succ');
    t.equal(body.header.receiver_id, partner.senderId);
    t.equal(body.header.completed_count, items.length);
    t.equal(body.message.transaction_id, content.message.transaction_id, 'transaction_id echoed');
    t.match(body.message.correlation_id, /^[0-9a-f-]{36}$/, 'our correlation_id');
    t.same(body.message.search_response.map((r: { reference_id: string }) => r.reference_id), items.map((i) => i.reference_id), 'item by item');
    return body.message.search_response as any[];
  };

  t.test('the answer is signed with the hub key published in the JWKS (compact JWS over {header, message})', async (t) => {
    const content = { header: header(partner), message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } })]) };
    const res = await send(hub, partner, SEARCH, content);
    const body = res.json();
    const jwks = (await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json();
    const { payload, protectedHeader } = await compactVerify(body.signature, createLocalJWKSet(jwks));
    t.same(JSON.parse(new TextDecoder().decode(payload)), { header: body.header, message: body.message }, 'payload is exactly the header and message');
    t.ok(jwks.keys.some((k: { kid: string }) => k.kid === protectedHeader.kid), 'kid names a published key');
  });

  t.test('idtype-value: UIN finds the person; HOUSEHOLD_ID the household or its members; MOBILE the phone', async (t) => {
    const [byUin, byHousehold, membersOfHousehold, byMobile, unknown, groupOfPerson] = await search(
      [
        searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } }),
        searchItem({ query_type: 'idtype-value', response_entity: 'Group', query: { type: 'HOUSEHOLD_ID', value: 'HH-C1' } }),
        searchItem({ query_type: 'idtype-value', response_entity: 'Member', query: { type: 'HOUSEHOLD_ID', value: 'HH-C1' } }),
        searchItem({ query_type: 'idtype-value', query: { type: 'MOBILE', value: '+25770000001' } }),
        searchItem({ query_type: 'idtype-value', query: { type: 'NIN', value: 'nobody' } }),
        searchItem({ query_type: 'idtype-value', response_entity: 'Group', query: { type: 'NIN', value: 'N-1' } }),
      ],
      'idtype-value batch',
    );
    t.equal(byUin.status, 'succ');
    t.equal(byUin.data.reg_record_type, 'SRPerson');
    t.same(namesOf(byUin.data.reg_records), ['Amina']);
    const amina = byUin.data.reg_records[0];
    t.equal(amina['@type'], 'spdci:SR_Person');
    t.same(amina.identifier, [
      { '@type': 'Identifier', identifier_type: 'NIN', identifier_value: 'N-1' },
      { '@type': 'Identifier', identifier_type: 'UIN', identifier_value: 'TEST-001' },
    ]);
    t.same(amina.name, { '@type': 'Name', given_name: 'Amina', surname: 'Test' });
    t.equal(amina.sex, 'female');
    t.equal(amina.birth_date, '1990-03-01');
    t.same(amina.address, [{ '@type': 'Address', locality: 'village a', region_code: 'village_a' }]);
    t.same(amina.phone_number, ['+25770000001']);
    t.same(byUin.pagination, { page_size: 1000, page_number: 1, total_count: 1 });

    t.equal(byHousehold.data.reg_record_type, 'Group');
    const hh = byHousehold.data.reg_records[0];
    t.equal(hh['@type'], 'spdci:Group');
    t.same(hh.group_identifier, [{ '@type': 'Identifier', identifier_type: 'HOUSEHOLD_ID', identifier_value: 'HH-C1' }]);
    t.equal(hh.group_size, 2);
    t.equal(hh.poverty_score, 3);
    t.equal(hh.location, 'village_a');
    t.equal(hh.group_head_info.demographic_info.name.given_name, 'Amina');
    t.same(hh.member_list.map((m: any) => [m.demographic_info.name.given_name, m.relationship_head]).sort(), [['Amina', 'head'], ['Ben', 'child']]);

    t.same(namesOf(membersOfHousehold.data.reg_records).sort(), ['Amina', 'Ben']);
    t.same(namesOf(byMobile.data.reg_records), ['Amina']);
    t.equal(unknown.status, 'succ', 'no match is a success with no records');
    t.same(unknown.data.reg_records, []);
    t.equal(unknown.pagination.total_count, 0);
    t.same(groupOfPerson.data.reg_records.map((g: any) => g.group_identifier[0].identifier_value), ['HH-C1']);
  });

  t.test("expression: the spec's example (poverty_score < 5, location = central_region, group_size < 5) over groups", async (t) => {
    const [groups, people, orNot] = await search(
      [
        searchItem({
          query_type: 'expression',
          response_entity: 'Group',
          query: {
            type: 'ns:org:QueryType:expression',
            value: { expression: { collection: 'Group', query: { $and: [{ poverty_score: { $lt: 5 } }, { location: { $eq: 'central_region' } }, { group_size: { $lt: 5 } }] } } },
          },
        }),
        searchItem({
          query_type: 'expression',
          response_entity: 'Member',
          query: { value: { expression: { query: { gender: { $eq: 'F' }, age: { $gte: 18, $lte: 60 } } } } },
          sort: [{ attribute_name: 'birth_date', sort_order: 'asc' }],
        }),
        searchItem({
          query_type: 'expression',
          response_entity: 'Member',
          query: { value: { expression: { query: { $or: [{ UIN: { $in: ['TEST-002', 'TEST-003'] } }, { given_name: 'Carl' }], sex: { $ne: 'female' } } } } },
          sort: [{ attribute_name: 'given_name', sort_order: 'desc' }],
        }),
      ],
      'expression batch',
    );
    t.same(groups.data.reg_records.map((g: any) => g.group_identifier[0].identifier_value), ['HH-C1'], 'HH-C2 is too poor a match (7), HH-N1 is elsewhere');
    t.same(namesOf(people.data.reg_records), ['Dina', 'Amina', 'Fay'], 'women of 18 to 60, oldest first');
    t.same(namesOf(orNot.data.reg_records), ['Carl', 'Ben'], '$or, $in and $ne, sorted by name descending');
  });

  t.test('values are bound parameters: SQL in a value is just an unmatched value', async (t) => {
    const [quoted, inList, identifier] = await search(
      [
        searchItem({ query_type: 'expression', query: { value: { expression: { query: { given_name: "x' OR '1'='1" } } } } }),
        searchItem({ query_type: 'expression', query: { value: { expression: { query: { location: { $in: ["central_region') OR true --"] } } } } } }),
        searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: "TEST-001' OR 'a'='a" } }),
      ],
      'injection attempts',
    );
    for (const answer of [quoted, inList, identifier]) {
      t.equal(answer.status, 'succ');
      t.same(answer.data.reg_records, []);
    }
  });

  t.test('predicate: seq_num / expression1 / condition / expression2 (age < 25 and poverty_score < 2.5)', async (t) => {
    const [young, either] = await search(
      [
        searchItem({
          query_type: 'predicate',
          query: [{ seq_num: 1, expression1: { attribute_name: 'age', operator: 'lt', attribute_value: '25' }, condition: 'and', expression2: { attribute_name: 'poverty_score', operator: 'lt', attribute_value: '2.5' } }],
        }),
        searchItem({
          query_type: 'predicate',
          query: [
            { seq_num: 2, expression1: { attribute_name: 'sex', operator: 'eq', attribute_value: 'female' } },
            { seq_num: 1, expression1: { attribute_name: 'poverty_score', operator: 'le', attribute_value: 3 }, condition: 'not', expression2: { attribute_name: 'age', operator: 'gt', attribute_value: 40 } },
          ],
          sort: [{ attribute_name: 'given_name', sort_order: 'asc' }],
        }),
      ],
      'predicate batch',
    );
    t.same(namesOf(young.data.reg_records), ['Fay'], "a person's poverty_score falls back to the household's");
    t.same(namesOf(either.data.reg_records), ['Amina', 'Fay'], 'women with poverty_score <= 3 and not over 40');
  });

  t.test('pagination: pages of the sorted result with totals; pages are stable', async (t) => {
    const women = (page_number: number) =>
      searchItem({
        query_type: 'expression',
        query: { value: { expression: { query: { sex: 'female' } } } },
        sort: [{ attribute_name: 'given_name', sort_order: 'asc' }],
        pagination: { page_size: 2, page_number },
      });
    const [p1, p2, p3] = await search([women(1), women(2), women(3)], 'pages');
    t.same(namesOf(p1.data.reg_records), ['Amina', 'Dina']);
    t.same(namesOf(p2.data.reg_records), ['Eve', 'Fay']);
    t.same(p3.data.reg_records, []);
    t.same(p2.pagination, { page_size: 2, page_number: 2, total_count: 4 });
  });

  t.test('item rejections: each bad item gets its own reason code, the others are still answered', async (t) => {
    const good = searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-003' } }, 'ref-good');
    const items = [
      good,
      searchItem({ query_type: 'expression', query: { value: { expression: { query: { shoe_size: { $gt: 40 } } } } } }),
      searchItem({ query_type: 'expression', query: { value: { expression: { query: { age: { $regex: '.*' } } } } } }),
      searchItem({ query_type: 'predicate', query: [{ expression1: { attribute_name: 'age', operator: 'between', attribute_value: 3 } }] }),
      searchItem({ query_type: 'expression', query: { value: { expression: { query: { age: { $lt: 'old' } } } } } }),
      searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' }, sort: [{ attribute_name: 'shoe_size' }] }),
      searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' }, sort: [{ attribute_name: 'age', sort_order: 'sideways' }] }),
      searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' }, pagination: { page_size: 0 } }),
      searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' }, pagination: { page_size: 5, page_number: 0 } }),
      { ...searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } }), timestamp: 'yesterday' },
      { ...searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } }), reference_id: '' },
      { ...good },
      searchItem({ query_type: 'graphql', query: { type: 'UIN', value: 'TEST-001' } }),
      searchItem({ query_type: 'predicate', query: [{ expression1: { attribute_name: 'age', operator: 'lt', attribute_value: 3 }, condition: 'and', expression3: { attribute_name: 'age', operator: 'gt', attribute_value: 1 } }] }),
    ];
    const answers = await search(items, 'batch with rejections');
    t.same(
      answers.map((a) => [a.status, a.status_reason_code ?? null]),
      [
        ['succ', null],
        ['rjct', 'rjct.search_criteria.invalid'],
        ['rjct', 'rjct.search_criteria.invalid'],
        ['rjct', 'rjct.search_criteria.invalid'],
        ['rjct', 'rjct.search_criteria.invalid'],
        ['rjct', 'rjct.sort.invalid'],
        ['rjct', 'rjct.sort.invalid'],
        ['rjct', 'rjct.pagination.invalid'],
        ['rjct', 'rjct.pagination.invalid'],
        ['rjct', 'rjct.timestamp.invalid'],
        ['rjct', 'rjct.reference_id.invalid'],
        ['rjct', 'rjct.reference_id.duplicate'],
        ['rjct', 'rjct.search_criteria.invalid'],
        ['rjct', 'rjct.search_criteria.invalid'],
      ],
    );
    t.match(answers[1].status_reason_message, /unknown attribute shoe_size/);
    t.match(answers[2].status_reason_message, /unknown operator \$regex/);
    t.same(namesOf(answers[0].data.reg_records), ['Fay']);
  });

  t.test('consent, authorize and record counts are kept with the transaction; the exchange is audited', async (t) => {
    const consent = { '@type': 'Consent', ts: new Date().toISOString(), purpose: { text: 'eligibility check', code: 'ELIG' } };
    const item = searchItem({ query_type: 'idtype-value', query: { type: 'HOUSEHOLD_ID', value: 'HH-C2' }, consent, authorize: { '@type': 'Authorize', purpose: { text: 'case worker' } } }, 'ref-consent');
    const [answer] = await search([item], 'with consent');
    t.equal(answer.data.reg_records.length, 3);
    const { queryRows } = await import('../../src/db/query-rows.js');
    const { sql } = await import('drizzle-orm');
    const rows = await queryRows<any>(hub.database.db, sql`SELECT client_id, sender_id, status, record_count, consent FROM dci_transactions WHERE consent ? 'ref-consent'`);
    t.equal(rows.length, 1);
    t.equal(rows[0].client_id, partner.clientId);
    t.equal(rows[0].status, 'succ');
    t.equal(rows[0].record_count, 3);
    t.same(rows[0].consent['ref-consent'].consent.purpose, consent.purpose);
    const audit = await hub.request({ method: 'GET', url: `/api/v1/audit?entity_type=dci_transaction&actor=${partner.clientId}` });
    t.ok(audit.json().items.length >= 1, 'audited under the partner');
    t.equal(audit.json().items[0].action, 'dci.search');
  });
});

t.test('too many records, and the geographic scope of the partner', async (t) => {
  const hub = await testHub(t, { DCI_MAX_RECORDS: '3', DCI_INDEXED_QUERIES_ONLY: 'false' });
  const { locations, groups } = await seedRegistry(hub);
  const partner = await registerPartner(hub);
  const everyone = { query_type: 'expression', query: { value: { expression: { query: { age: { $gte: 0 } } } } } };
  const content = {
    header: header(partner, { total_count: 3 }),
    message: searchMessage([searchItem(everyone), searchItem({ ...everyone, pagination: { page_size: 4 } }), searchItem({ ...everyone, pagination: { page_size: 3, page_number: 2 } })]),
  };
  const res = await send(hub, partner, SEARCH, content);
  t.equal(schemaErrors('sync-search.response.json', res.json()), '');
  const [all, tooBig, paged] = res.json().message.search_response;
  t.equal(all.status_reason_code, 'rjct.search.too_many_records_found', '6 people match, the limit is 3');
  t.match(all.status_reason_message, /6 records match/);
  t.equal(tooBig.status_reason_code, 'rjct.pagination.invalid', 'a page larger than the limit');
  t.equal(paged.status, 'succ', 'paging through a large result is allowed');
  t.same(paged.pagination, { page_size: 3, page_number: 2, total_count: 6 });

  const north = await registerPartner(hub, { extra: { location_id: locations.north } });
  const scoped = await send(hub, north, SEARCH, {
    header: header(north, { total_count: 2 }),
    message: searchMessage([
      searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } }),
      searchItem({ query_type: 'expression', response_entity: 'Group', query: { value: { expression: { query: { group_size: { $gte: 0 } } } } } }),
    ]),
  });
  const [outside, inside] = scoped.json().message.search_response;
  t.same(outside.data.reg_records, [], 'a person outside the scope is not found');
  t.same(inside.data.reg_records.map((g: any) => g.group_identifier[0].identifier_value), ['HH-N1'], 'only households inside the scope');

  // A member located outside the partner's area joins a household inside it: the household is found, that member is not shown.
  const outsider = (await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_value=TEST-001' })).json().items[0];
  const joined = await hub.request({ method: 'POST', url: `/api/v1/groups/${groups.hhN1}/members`, payload: { role: 'other_relative', individual_id: outsider.id } });
  t.equal(joined.statusCode, 201, joined.body);
  const again = await send(hub, north, SEARCH, {
    header: header(north, { total_count: 1 }),
    message: searchMessage([
      searchItem({ query_type: 'expression', response_entity: 'Group', query: { value: { expression: { query: { group_size: { $gte: 0 } } } } } }),
    ]),
  });
  t.equal(schemaErrors('sync-search.response.json', again.json()), '');
  const [household] = again.json().message.search_response[0].data.reg_records;
  t.equal(household.member_list.length, 1, 'the member outside the scope is left out');
  t.notMatch(JSON.stringify(household), /TEST-001/, 'nothing of that person is disclosed');
});
