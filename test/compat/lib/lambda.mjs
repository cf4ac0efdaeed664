// Shared helpers for the SDK-driven compatibility tests.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before } from 'node:test';
import {
  LambdaClient,
  CreateCapacityProviderCommand,
  GetCapacityProviderCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { startServer } from './server.mjs';

// The pinned SDK warns once per process on Node < 22; the warning is noise for this suite.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const ROLE = `arn:aws:iam::${ACCOUNT}:role/lambda-role`;
export const OPERATOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/op`;
export const RUNTIME = 'python3.13';
export const HANDLER = 'lambda_function.handler';
export const VPC = { SubnetIds: ['subnet-a', 'subnet-b', 'subnet-c'], SecurityGroupIds: ['sg-1'] };

export const FUNCTION_STATES = [
  'Pending',
  'Active',
  'Inactive',
  'Failed',
  'Deactivating',
  'Deactivated',
  'ActiveNonInvocable',
  'Deleting',
];
export const CP_STATES = ['Pending', 'Active', 'Failed', 'Deleting'];
export const UPDATE_STATUSES = ['Successful', 'Failed', 'InProgress'];

/**
 * Error code expected for values that break a constraint of the API model (numeric ranges,
 * name patterns, list lengths, missing required members).
 *
 * Real AWS Lambda answers those with the unmodelled `ValidationException` ("1 validation error
 * detected: Value '1' at 'memorySize' failed to satisfy constraint: ..."), while semantic checks
 * (e.g. MemorySize below 2048 for a capacity-provider function) use the modelled
 * `InvalidParameterValueException`. The SDK models only InvalidParameterValueException for these
 * operations, so Hearth answers both kinds with it (keeping AWS's "1 validation error detected"
 * wording), and the suite asserts that.
 */
export const VALIDATION_ERROR = 'InvalidParameterValueException';

export const STATUS_OF = {
  InvalidParameterValueException: 400,
  InvalidRequestContentException: 400,
  ValidationException: 400,
  ResourceNotFoundException: 404,
  UnknownOperationException: 404,
  ResourceConflictException: 409,
  PreconditionFailedException: 412,
  RequestTooLargeException: 413,
  RequestEntityTooLargeException: 413,
  TooManyRequestsException: 429,
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let seq = 0;
/** A name unique within this process run and across runs: <prefix>-<random>-<n>. */
export function uniqueName(prefix) {
  seq += 1;
  return `${prefix}-${crypto.randomBytes(3).toString('hex')}-${seq}`;
}

export function sha256b64(buf) {
  return crypto.createHash('sha256').update(buf).digest('base64');
}

export function functionArn(name, qualifier) {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
}

export function capacityProviderArn(name) {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:capacity-provider:${name}`;
}

/** Lambda timestamps look like 2024-01-31T12:34:56.789+0000. */
export function assertTimestamp(value, what = 'timestamp') {
  assert.equal(typeof value, 'string', `${what} should be a string, got ${JSON.stringify(value)}`);
  assert.match(value, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/, `${what}: ${value}`);
  assert.ok(!Number.isNaN(Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))), `${what} parses: ${value}`);
}

/**
 * An SDK client for `endpoint` with dummy credentials and no retries.
 * @param {string} endpoint
 * @param {{requestTimeout?: number, connectionTimeout?: number}} [opts] per-request bounds (ms)
 */
export function makeClient(endpoint, { requestTimeout = 60_000, connectionTimeout = 5_000 } = {}) {
  return new LambdaClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: { requestTimeout, connectionTimeout },
  });
}

/**
 * One hearth server (and SDK client) per test file. Call at module top level or in a describe.
 * Returns a context whose fields are filled in by the before() hook.
 */
export function useServer(opts = {}) {
  const ctx = { server: null, client: null, endpoint: null };
  before(async () => {
    ctx.server = await startServer(opts);
    ctx.endpoint = ctx.server.endpoint;
    ctx.client = makeClient(ctx.endpoint);
  });
  after(async () => {
    ctx.client?.destroy();
    if (ctx.server) await ctx.server.stop();
  });
  /** Replace the client (e.g. after a restart, so no stale keep-alive socket is reused). */
  ctx.renewClient = () => {
    ctx.client?.destroy();
    ctx.client = makeClient(ctx.endpoint);
    return ctx.client;
  };
  return ctx;
}

/**
 * Await `promise` and assert that it rejects with one of `names` and the matching HTTP status
 * (or `opts.status`). Returns the error for further checks.
 */
export async function expectError(promise, names, opts = {}) {
  const list = Array.isArray(names) ? names : [names];
  let result;
  let err;
  try {
    result = await promise;
  } catch (e) {
    err = e;
  }
  if (!err) {
    const shown = result ? JSON.stringify({ ...result, $metadata: undefined }).slice(0, 400) : String(result);
    assert.fail(`expected ${list.join(' or ')}${opts.what ? ` for ${opts.what}` : ''}, but the call succeeded: ${shown}`);
  }
  const status = err.$metadata?.httpStatusCode;
  assert.ok(
    list.includes(err.name),
    `expected ${list.join(' or ')}${opts.what ? ` for ${opts.what}` : ''}, got ${err.name} (HTTP ${status}): ${err.message}`,
  );
  const want = opts.status ?? STATUS_OF[err.name];
  if (want !== undefined) assert.equal(status, want, `HTTP status for ${err.name}`);
  else assert.ok(status >= 400 && status < 500, `4xx status expected for ${err.name}, got ${status}`);
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length > 0 && err.message !== 'UnknownError', `${err.name} should carry a message`);
  return err;
}

/** Poll `fn` until it returns a truthy value; returns that value or throws after `timeout`. */
export async function eventually(fn, { timeout = 15_000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeout} ms waiting for ${what}` +
          (lastErr ? `; last error: ${lastErr.name}: ${lastErr.message}` : `; last value: ${JSON.stringify(last)}`),
      );
    }
    await sleep(interval);
  }
}

/** Paginate a Marker/NextMarker list operation; returns { items, pages }. */
export async function collectPages(client, Command, input, itemsKey, { maxPages = 200 } = {}) {
  const items = [];
  const pages = [];
  let Marker;
  const seenMarkers = new Set();
  for (let i = 0; i < maxPages; i++) {
    const out = await client.send(new Command({ ...input, ...(Marker ? { Marker } : {}) }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    const page = out[itemsKey] ?? [];
    assert.ok(Array.isArray(page), `${itemsKey} should be an array`);
    pages.push(out);
    items.push(...page);
    if (!out.NextMarker) return { items, pages };
    assert.equal(typeof out.NextMarker, 'string');
    assert.ok(!seenMarkers.has(out.NextMarker), `NextMarker repeats (${out.NextMarker}): paging loops`);
    seenMarkers.add(out.NextMarker);
    Marker = out.NextMarker;
  }
  assert.fail(`more than ${maxPages} pages`);
}

// --- capacity providers ------------------------------------------------------------------

export function cpInput(name, extra = {}) {
  return {
    CapacityProviderName: name,
    VpcConfig: structuredClone(VPC),
    PermissionsConfig: { CapacityProviderOperatorRoleArn: OPERATOR_ROLE },
    ...extra,
  };
}

export async function waitCapacityProviderActive(client, name, timeout = 15_000) {
  return eventually(
    async () => {
      const out = await client.send(new GetCapacityProviderCommand({ CapacityProviderName: name }));
      return out.CapacityProvider.State === 'Active' ? out.CapacityProvider : null;
    },
    { timeout, what: `capacity provider ${name} to become Active` },
  );
}

/** Create a capacity provider and wait until it is Active; returns the CapacityProvider. */
export async function createActiveCapacityProvider(client, name, extra = {}) {
  const out = await client.send(new CreateCapacityProviderCommand(cpInput(name, extra)));
  assert.equal(out.CapacityProvider.CapacityProviderArn, capacityProviderArn(name));
  return waitCapacityProviderActive(client, name);
}

// --- functions -----------------------------------------------------------------------------

export function functionInput(name, zip, extra = {}) {
  return {
    FunctionName: name,
    Runtime: RUNTIME,
    Role: ROLE,
    Handler: HANDLER,
    Code: { ZipFile: zip },
    ...extra,
  };
}

export function cpFunctionInput(name, zip, cpArn, extra = {}, lmi = {}) {
  return functionInput(name, zip, {
    MemorySize: 2048,
    CapacityProviderConfig: {
      LambdaManagedInstancesCapacityProviderConfig: {
        CapacityProviderArn: cpArn,
        PerExecutionEnvironmentMaxConcurrency: 10,
        ExecutionEnvironmentMemoryGiBPerVCpu: 2,
        ...lmi,
      },
    },
    ...extra,
  });
}

/**
 * Wait until a function's configuration has settled: LastUpdateStatus is not InProgress and,
 * unless `allowPending`, State is not Pending. Returns the configuration.
 */
export async function waitFunctionSettled(client, name, { qualifier, allowPending = false, timeout = 15_000 } = {}) {
  return eventually(
    async () => {
      const cfg = await client.send(
        new GetFunctionConfigurationCommand({ FunctionName: name, ...(qualifier ? { Qualifier: qualifier } : {}) }),
      );
      if (cfg.LastUpdateStatus === 'InProgress') return null;
      if (!allowPending && cfg.State === 'Pending') return null;
      return cfg;
    },
    { timeout, what: `function ${name}${qualifier ? `:${qualifier}` : ''} to settle` },
  );
}

/** Drop SDK metadata so results can be compared structurally. */
export function strip(out) {
  if (!out || typeof out !== 'object') return out;
  const { $metadata, ...rest } = out;
  return rest;
}

// --- raw HTTP --------------------------------------------------------------------------------

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}

/**
 * SigV4-sign a raw request with the dummy credentials (service `lambda`), so raw requests look
 * like what an SDK sends. Returns the headers to add.
 */
export function sigv4Headers({ method, host, path, query = '', headers = {}, body = Buffer.alloc(0) }) {
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = crypto.createHash('sha256').update(body).digest('hex');
  const all = { ...headers, host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  const names = Object.keys(all)
    .map((k) => k.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), String(v).trim()]));
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .sort()
    .join('&');
  const canonical = [
    method,
    path,
    canonicalQuery,
    names.map((n) => `${n}:${lower[n]}\n`).join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${date}/${REGION}/lambda/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, crypto.createHash('sha256').update(canonical).digest('hex')].join(
    '\n',
  );
  let k = hmac('AWS4test', date);
  k = hmac(k, REGION);
  k = hmac(k, 'lambda');
  k = hmac(k, 'aws4_request');
  const signature = crypto.createHmac('sha256', k).update(toSign).digest('hex');
  return {
    'x-amz-date': amzDate,
    'x-amz-content-sha256': payloadHash,
    authorization: `AWS4-HMAC-SHA256 Credential=test/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

/**
 * Send a raw HTTP request with node:http (no SDK). Tolerates the server answering early and
 * closing the connection while a large body is still being written: if a response arrived,
 * it is returned. Result: { status, headers, text, json }.
 */
export function rawRequest(endpoint, { method = 'GET', path = '/', query = '', body, headers = {}, sign = true }) {
  const url = new URL(endpoint);
  const buf = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const host = url.host;
  const hdrs = { ...headers };
  if (buf.length > 0 || method === 'POST' || method === 'PUT') hdrs['content-length'] = String(buf.length);
  if (sign) Object.assign(hdrs, sigv4Headers({ method, host, path, query, headers: hdrs, body: buf }));
  return new Promise((resolve, reject) => {
    let response = null;
    let settled = false;
    const finish = (fn, v) => {
      if (!settled) {
        settled = true;
        fn(v);
      }
    };
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: path + (query ? `?${query}` : ''), headers: hdrs },
      (res) => {
        response = res;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          finish(resolve, { status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', (e) => finish(reject, e));
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error('raw request timed out')));
    req.on('error', (e) => {
      // EPIPE/ECONNRESET after the server already answered (early 413) is fine.
      if (response) return;
      const err = new Error(
        `${method} ${path}: ${e.code || e.message} before any response was read` +
          (buf.length > 1 << 20
            ? ' (a server that refuses a large body must still send its error response, then drain the' +
              ' rest of the body or half-close; closing with unread data resets the connection and the' +
              ' client never sees the error)'
            : ''),
      );
      err.cause = e;
      finish(reject, err);
    });
    if (buf.length > 0) {
      // Write in slices so an early answer can be read while we are still sending.
      const slice = 1 << 20;
      let off = 0;
      const pump = () => {
        while (off < buf.length) {
          const piece = buf.subarray(off, Math.min(off + slice, buf.length));
          off += piece.length;
          if (req.destroyed) return;
          if (!req.write(piece)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    } else {
      req.end();
    }
  });
}

/** Assert an AWS-style error answer on the wire: status, X-Amzn-ErrorType, JSON body with a message. */
export function assertWireError(res, names, status) {
  const list = Array.isArray(names) ? names : [names];
  const header = res.headers['x-amzn-errortype'];
  assert.ok(header, `X-Amzn-ErrorType header missing (HTTP ${res.status}, body ${res.text.slice(0, 300)})`);
  const code = header.split(':')[0];
  assert.ok(list.includes(code), `X-Amzn-ErrorType ${header}, expected ${list.join(' or ')}; body ${res.text.slice(0, 300)}`);
  if (status !== undefined) assert.equal(res.status, status, `HTTP status (body ${res.text.slice(0, 300)})`);
  assert.ok(res.json && typeof res.json === 'object', `JSON error body expected, got ${JSON.stringify(res.text.slice(0, 300))}`);
  const msg = res.json.message ?? res.json.Message;
  assert.equal(typeof msg, 'string', `error body should carry message/Message: ${res.text.slice(0, 300)}`);
  assert.ok(msg.length > 0);
  if (res.json.Type !== undefined) assert.equal(res.json.Type, 'User', 'client errors have Type "User"');
  return code;
}

export async function assertHealthy(endpoint) {
  const res = await fetch(`${endpoint}/healthz`, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  assert.equal(res.status, 200, '/healthz should answer 200');
}

/** Assert that no function (or function version) by that name exists: GetFunction -> 404. */
export async function expectNoFunction(client, name, qualifier) {
  const err = await expectError(
    client.send(new GetFunctionCommand({ FunctionName: name, ...(qualifier ? { Qualifier: qualifier } : {}) })),
    'ResourceNotFoundException',
    { what: `GetFunction ${name}${qualifier ? `:${qualifier}` : ''}` },
  );
  return err;
}

/** Wait until GetFunction answers 404 (deletes of capacity-provider functions may be asynchronous). */
export async function waitFunctionGone(client, name, qualifier) {
  await eventually(
    async () => {
      try {
        await client.send(new GetFunctionCommand({ FunctionName: name, ...(qualifier ? { Qualifier: qualifier } : {}) }));
        return false;
      } catch (e) {
        if (e.name === 'ResourceNotFoundException') return true;
        throw e;
      }
    },
    { what: `function ${name}${qualifier ? `:${qualifier}` : ''} to be deleted` },
  );
}

/** The SDK's commands, for tests outside test/compat (they cannot resolve its node_modules). */
export * as sdk from '@aws-sdk/client-lambda';
