import t from 'tap';
import { testHub } from '../helpers/hub.js';
import { expectOutcome, fhirGet } from '../helpers/fhir.js';

t.test('FHIR searches larger than the limits are refused (400 too-costly) before any SQL runs', async (t) => {
  const hub = await testHub(t);
  const values = (n: number) => Array.from({ length: n }, (_, i) => `N-${i}`).join(',');

  t.equal((await fhirGet(hub, `/fhir/Patient?identifier=${values(50)}`)).statusCode, 200, '50 alternatives are searched');
  const wide = expectOutcome(t, await fhirGet(hub, `/fhir/Patient?identifier=${values(51)}`), 400, 'too-costly', '51 alternatives');
  t.match(wide, /51 alternatives; at most 50/);

  const many = Array.from({ length: 21 }, (_, i) => `birthdate=ge19${String(i).padStart(2, '0')}-01-01`).join('&');
  t.equal((await fhirGet(hub, `/fhir/Patient?${many.split('&').slice(0, 20).join('&')}`)).statusCode, 200, '20 parameters are searched');
  t.match(expectOutcome(t, await fhirGet(hub, `/fhir/Patient?${many}`), 400, 'too-costly', '21 parameters'), /more than 20 search parameters/);
});
