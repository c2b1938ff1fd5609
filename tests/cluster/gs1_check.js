// gs1_check.js — checks what a provena-node serves against GS1's own artefacts:
//
//   node gs1_check.js epcis FILE...    each an EPCISDocument / EPCISQueryDocument:
//                                      GS1's EPCIS 2.0 JSON schema (ajv), every
//                                      eventID against epcis2.js's CBV event-hash
//                                      generator, every EPC with digital-link.js
//   node gs1_check.js linkset FILE...  each an RFC 9264 linkset: GS1's linkset
//                                      schema and the RFC 9264 one (ajv)
//   node gs1_check.js dl URI...        each a valid GS1 Digital Link (digital-link.js)
//   node gs1_check.js compress URI...  prints each URI compressed by GS1's reference
//                                      implementation (digital-link.js's toolkit), one
//                                      a line; then each is decompressed back by it and
//                                      must equal the URI
//   node gs1_check.js selftest         the validators accept GS1's valid example and
//                                      refuse its invalid one, and a changed event
//                                      gets a different hash (so a check can fail)
//
// The schemas are read from ../shared/standards (PROVENA_STANDARDS overrides); the
// npm tools from PROVENA_NPM_DIR (scripts/install-deps.sh puts them there). Prints
// one line per failure and "ok: N checked" at the end; exit 1 on any failure.
'use strict';
const fs = require('fs');
const path = require('path');

const SRC = process.env.PROVENA_SRC || path.resolve(__dirname, '..', '..');
const STD = process.env.PROVENA_STANDARDS || path.resolve(SRC, '..', 'shared', 'standards');
const NPM = process.env.PROVENA_NPM_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(process.env.HOME || '/root', '.cache'),
    'provena-npm');
module.paths.unshift(path.join(NPM, 'node_modules'));

const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const { DigitalLink, Utils } = require('digital-link.js');
const epcis2 = require(path.join(NPM, 'epcis2', 'package', 'dist', 'epcis2.node.js'));

let failures = 0;
let checked = 0;
function fail(msg) {
  failures++;
  console.log('FAIL: ' + msg);
}

function ajv() {
  const a = new Ajv({ allErrors: true, strict: false });
  addFormats(a);
  return a;
}
function loadJSON(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

const epcisValidate = () => ajv().compile(loadJSON(path.join(STD, 'gs1-epcis', 'EPCIS-JSON-Schema.json')));
const gs1LinksetValidate = () => ajv().compile(loadJSON(path.join(STD, 'gs1-linkset', 'gs1-linkset-schema.json')));
const rfcLinksetValidate = () => ajv().compile(loadJSON(path.join(STD, 'gs1-linkset', 'linkset-schema.json')));

function dlValid(uri) {
  try {
    return DigitalLink(uri).isValid();
  } catch (e) {
    return false;
  }
}

function eventsOf(doc) {
  const b = doc.epcisBody || {};
  if (b.eventList) return b.eventList;
  if (b.queryResults && b.queryResults.resultsBody) return b.queryResults.resultsBody.eventList || [];
  return [];
}

function checkEpcis(file) {
  const doc = loadJSON(file);
  const v = epcisValidate();
  if (!v(doc)) fail(`${file}: EPCIS schema: ${JSON.stringify(v.errors.slice(0, 3))}`);
  const ctx = doc['@context'];
  for (const ev of eventsOf(doc)) {
    checked++;
    const want = epcis2.eventToHashedId(JSON.parse(JSON.stringify(ev)), ctx);
    if (ev.eventID !== want) fail(`${file}: eventID ${ev.eventID} != generator's ${want} (${ev['provena:step']})`);
    for (const epc of ev.epcList || []) if (!dlValid(epc)) fail(`${file}: EPC ${epc} is not a valid Digital Link`);
  }
}

// GS1's profile requires an "itemDescription" member in each link context
// object, which the plain RFC 9264 schema (additionalProperties: false) does
// not know: the RFC check runs on the linkset without that one member.
function checkLinkset(file) {
  const doc = loadJSON(file);
  checked++;
  const gs1 = gs1LinksetValidate();
  if (!gs1(doc)) fail(`${file}: GS1 linkset schema: ${JSON.stringify(gs1.errors.slice(0, 3))}`);
  const plain = JSON.parse(JSON.stringify(doc));
  for (const ctx of plain.linkset || []) delete ctx.itemDescription;
  const rfc = rfcLinksetValidate();
  if (!rfc(plain)) fail(`${file}: RFC 9264 linkset schema: ${JSON.stringify(rfc.errors.slice(0, 3))}`);
}

function selftest() {
  const g = gs1LinksetValidate();
  if (!g(loadJSON(path.join(STD, 'gs1-linkset', 'valid-gs1-example.json')))) fail('valid GS1 example refused');
  if (g(loadJSON(path.join(STD, 'gs1-linkset', 'invalid-gs1-example.json')))) fail('invalid GS1 example accepted');
  const e = epcisValidate();
  if (e({ type: 'EPCISDocument', schemaVersion: '2.0', epcisBody: {} })) fail('EPCIS schema accepted a document without @context');
  const ev = { type: 'ObjectEvent', eventTime: '2026-01-01T00:00:00.000Z', eventTimeZoneOffset: '+00:00', epcList: ['https://id.gs1.org/01/09506000134352/21/A1'], action: 'OBSERVE', bizStep: 'shipping' };
  const h1 = epcis2.eventToHashedId({ ...ev }, {});
  const h2 = epcis2.eventToHashedId({ ...ev, bizStep: 'receiving' }, {});
  if (h1 === h2) fail('event hash does not depend on bizStep');
  if (dlValid('https://id.gs1.org/01/09506000134353/21/A1')) fail('digital-link.js accepted a bad check digit');
  checked += 5;
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'epcis') args.forEach(checkEpcis);
else if (mode === 'linkset') args.forEach(checkLinkset);
else if (mode === 'dl') args.forEach((u) => { checked++; if (!dlValid(u)) fail(`${u} is not a valid Digital Link`); });
else if (mode === 'selftest') selftest();
else if (mode === 'compress') {
  for (const u of args) {
    checked++;
    const c = Utils.compressWebUri(u);
    if (Utils.decompressWebUri(c) !== u) fail(`${u}: the reference does not read back its own ${c}`);
    console.log(c);
  }
}
else {
  console.error('usage: gs1_check.js epcis|linkset|dl|compress|selftest ARGS...');
  process.exit(2);
}
if (failures) {
  console.log(`${failures} failures`);
  process.exit(1);
}
console.log(`ok: ${checked} checked`);
