// Hearth runtime for Node.js functions (Lambda Managed Instances model).
//
// Run as `node bootstrap.mjs` with the Lambda runtime environment
// (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_MAX_CONCURRENCY, ...).
//
// Concurrency model: the main thread starts W worker_threads
// (W = AWS_LAMBDA_NODEJS_WORKER_COUNT, else min(N, available parallelism), at most N,
// where N = AWS_LAMBDA_MAX_CONCURRENCY, 1 when unset). Each worker imports the
// handler once, then loops: await GET /next, start the invocation without
// awaiting it, poll /next again. A worker keeps at most ceil(N / W) invocations
// in flight; at that cap it waits for one to be answered before polling again.
//
// Logging: console.* in the workers write one JSON object per line:
//   {"timestamp":"...Z","level":"INFO","requestId":"<id>","message":"..."}
// The requestId comes from an AsyncLocalStorage store entered per invocation, so
// it is right even with many concurrent invocations in one worker.
//
// Node.js built-ins only.

import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';
import { Worker, isMainThread, workerData } from 'node:worker_threads';

const API_PREFIX = '/2018-06-01/runtime';
const MAX_RESPONSE_HEAD = 64 * 1024;
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const MAX_NEXT_FAILURES = 20;
const PIPE_BUF = 4096;

const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };

const CALLBACK_ERROR_NODEJS22 =
  'ERROR: AWS Lambda does not support callback-based function handlers when using Node.js 22 with ' +
  'Managed Instances. To use Managed Instances, modify this function to use a supported handler signature. ' +
  'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';
const CALLBACK_ERROR_NODEJS24_ABOVE =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
  'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
  'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

// ---------------------------------------------------------------------------
// Line output shared by all threads
// ---------------------------------------------------------------------------

// Lines up to PIPE_BUF bytes are written with one write(2) and cannot
// interleave. Longer lines take a spin lock in shared memory (all threads of
// the process share it) so they stay whole too.
const sharedLock = new Int32Array(isMainThread ? new SharedArrayBuffer(8) : workerData.lock);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepMs(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

function writeAll(fd, buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') {
        sleepMs(1);
        continue;
      }
      return; // reader gone: drop the line
    }
  }
}

function writeLine(fd, line) {
  const buf = Buffer.from(line + '\n', 'utf8');
  if (buf.length <= PIPE_BUF) {
    writeAll(fd, buf);
    return;
  }
  while (Atomics.compareExchange(sharedLock, 0, 0, 1) !== 0) {
    Atomics.wait(sharedLock, 0, 1, 10);
  }
  try {
    writeAll(fd, buf);
  } finally {
    Atomics.store(sharedLock, 0, 0);
    Atomics.notify(sharedLock, 0, 1);
  }
}

const invokeStore = new AsyncLocalStorage();

function errorFields(err) {
  return {
    errorType: err?.name ?? err?.constructor?.name ?? 'Error',
    errorMessage: err?.message,
    stackTrace: typeof err?.stack === 'string' ? err.stack.split('\n') : [],
  };
}

// "requestId" precedes "message" so the agent can find it by scanning for the
// bytes "requestId":" without parsing the line.
function logRecord(level, message, extra) {
  const store = invokeStore.getStore();
  const record = { timestamp: new Date().toISOString(), level };
  if (store?.requestId) record.requestId = store.requestId;
  if (store?.tenantId) record.tenantId = store.tenantId;
  record.message = message;
  if (extra) {
    for (const [k, v] of Object.entries(extra)) {
      if (!(k in record) && v !== undefined) record[k] = v;
    }
  }
  let line;
  try {
    line = JSON.stringify(record);
  } catch {
    record.message = String(message);
    line = JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  }
  writeLine(LEVELS[level] >= LEVELS.WARN ? 2 : 1, line);
}

function minLogLevel() {
  const env = (process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase();
  return LEVELS[env] ?? LEVELS.TRACE;
}

function patchConsole() {
  const min = minLogLevel();
  const make = (level) => {
    if (LEVELS[level] < min) return () => {};
    return (...args) => {
      const message = util.format(...args);
      const err = args.find((a) => a instanceof Error);
      logRecord(level, message, err ? errorFields(err) : undefined);
    };
  };
  console.trace = make('TRACE');
  console.debug = make('DEBUG');
  console.info = make('INFO');
  console.log = console.info;
  console.warn = make('WARN');
  console.error = make('ERROR');
  console.fatal = make('FATAL');
  // Direct writes to process.stdout / process.stderr become log lines too.
  const wrapStream = (stream, level) => {
    stream.write = (chunk, encoding, cb) => {
      if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      let text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.endsWith('\n')) text = text.slice(0, -1);
      if (text.length > 0) logRecord(level, text);
      if (cb) process.nextTick(cb);
      return true;
    };
  };
  wrapStream(process.stdout, 'INFO');
  wrapStream(process.stderr, 'ERROR');
}

// ---------------------------------------------------------------------------
// Main thread: start workers, wait for them
// ---------------------------------------------------------------------------

function maxConcurrency() {
  const n = parseInt(process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? '1', 10);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function workerCount(n) {
  const fromEnv = parseInt(process.env.AWS_LAMBDA_NODEJS_WORKER_COUNT ?? '', 10);
  const w = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.min(n, os.availableParallelism());
  return Math.max(1, Math.min(w, n));
}

function runMain() {
  const n = maxConcurrency();
  const w = workerCount(n);
  const cap = Math.ceil(n / w);
  let alive = 0;
  let lastNonZero = 0;
  let stopSignal = null;
  const workers = [];
  for (let i = 0; i < w; i++) {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { index: i, cap, lock: sharedLock.buffer },
      env: process.env,
      stdout: false,
      stderr: false,
      execArgv: process.execArgv.filter(
        (a) => !['--expose-gc', '--max-semi-space-size', '--max-old-space-size'].some((f) => a.startsWith(f)),
      ),
    });
    alive++;
    workers.push(worker);
    let done = false;
    const finish = (code) => {
      if (done) return;
      done = true;
      alive--;
      if (code !== 0 && !stopSignal) {
        lastNonZero = code;
        logRecord('ERROR', `worker ${i} exited with code ${code} (${alive} of ${w} workers left)`);
      }
      if (alive === 0) {
        if (stopSignal) process.exit(128 + os.constants.signals[stopSignal]);
        logRecord(lastNonZero ? 'ERROR' : 'INFO', 'all workers exited');
        process.exit(lastNonZero);
      }
    };
    worker.on('error', (err) => {
      logRecord('ERROR', `worker ${i} failed: ${util.format(err)}`, errorFields(err));
      finish(1);
    });
    worker.on('exit', (code) => finish(code === 0 ? 0 : code));
  }
  const stop = (signal) => {
    if (stopSignal) return;
    stopSignal = signal;
    logRecord('INFO', `received ${signal}; stopping workers`);
    for (const worker of workers) worker.terminate();
    setTimeout(() => process.exit(128 + os.constants.signals[signal]), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// ---------------------------------------------------------------------------
// Runtime API client (worker side)
// ---------------------------------------------------------------------------

// One kept-alive connection to the Runtime API, one request at a time. The Runtime API always
// answers with Content-Length, so a response is read without node:http's general parser, which
// costs more than a small invocation's handler.
class RuntimeConnection {
  constructor(host, port) {
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.closed = false;
    this.buffer = null;
    this.pending = null; // { resolve, reject, status, headers, bodyAt, length }
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (err) => this.close(err));
    this.socket.on('close', () => this.close(new Error('Runtime API closed the connection')));
  }

  send(head, body) {
    if (this.closed) return Promise.reject(new Error('Runtime API connection closed'));
    return new Promise((resolve, reject) => {
      this.pending = {
        resolve,
        reject,
        received: false, // whether any byte of the response has arrived
        status: 0,
        headers: null,
        bodyAt: -1,
        length: 0,
        chunks: [],
        have: 0,
      };
      if (body === undefined || typeof body === 'string') {
        this.socket.write(body ? head + body : head);
      } else {
        this.socket.cork();
        this.socket.write(head, 'latin1');
        this.socket.write(body);
        this.socket.uncork();
      }
    });
  }

  onData(chunk) {
    const p = this.pending;
    if (!p) {
      this.close(null); // bytes nobody asked for
      return;
    }
    p.received = true;
    if (p.bodyAt >= 0) {
      // The body arrives in chunks: joined once, when it is complete.
      p.chunks.push(chunk);
      p.have += chunk.length;
      if (p.have < p.length) return;
      this.buffer = Buffer.concat(p.chunks, p.have);
      p.chunks = [];
      p.bodyAt = 0;
    } else {
      this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    }
    if (p.bodyAt < 0) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buffer.length > MAX_RESPONSE_HEAD) this.close(new Error('Runtime API response head too large'));
        return;
      }
      const lines = this.buffer.toString('latin1', 0, end).split('\r\n');
      p.status = Number(lines[0].split(' ', 3)[1]);
      p.headers = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        if (colon > 0) p.headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      if (p.headers['transfer-encoding'] !== undefined || !Number.isInteger(p.status)) {
        this.close(new Error('malformed Runtime API response'));
        return;
      }
      p.length = Number(p.headers['content-length'] ?? '0');
      if (!Number.isSafeInteger(p.length) || p.length < 0) {
        this.close(new Error('malformed Runtime API response'));
        return;
      }
      p.bodyAt = end + 4;
      if (this.buffer.length < p.bodyAt + p.length) {
        p.chunks.push(this.buffer.subarray(p.bodyAt));
        p.have = this.buffer.length - p.bodyAt;
        this.buffer = null;
        return;
      }
    }
    const body = Buffer.from(this.buffer.subarray(p.bodyAt, p.bodyAt + p.length));
    const extra = this.buffer.length > p.bodyAt + p.length;
    this.buffer = null;
    this.pending = null;
    if (extra || p.headers.connection?.toLowerCase() === 'close') this.close(null);
    p.resolve({ status: p.status, headers: p.headers, body });
  }

  close(err) {
    const p = this.pending;
    this.pending = null;
    if (p) {
      const failure = err ?? new Error('Runtime API connection closed');
      failure.unanswered = !p.received;
      p.reject(failure);
    }
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

class RuntimeApi {
  constructor(address) {
    const idx = (address ?? '').lastIndexOf(':');
    const host = idx > 0 ? address.slice(0, idx).replace(/^\[|\]$/g, '') : '';
    const port = idx > 0 ? Number(address.slice(idx + 1)) : NaN;
    if (!host || !Number.isInteger(port)) {
      throw Object.assign(new Error(`invalid AWS_LAMBDA_RUNTIME_API ${JSON.stringify(address)}`), {
        name: 'Runtime.PlatformError',
      });
    }
    this.host = host;
    this.port = port;
    this.hostHeader = `Host: ${address}\r\n`;
    this.idle = []; // kept-alive RuntimeConnections
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity }); // streamed responses
  }

  async request(method, urlPath, body, headers = {}) {
    let head = `${method} ${API_PREFIX}${urlPath} HTTP/1.1\r\n${this.hostHeader}`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    if (body !== undefined) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    head += '\r\n';
    let conn = this.idle.pop();
    while (conn && conn.closed) conn = this.idle.pop();
    let res;
    if (conn) {
      try {
        res = await conn.send(head, body);
      } catch (err) {
        // A kept-alive connection the agent had closed: the request never got an answer, so it
        // goes once more on a new connection (every Runtime API request may be sent again
        // when it was not answered).
        if (!err.unanswered) throw err;
        conn = null;
      }
    }
    if (!conn) {
      conn = new RuntimeConnection(this.host, this.port);
      res = await conn.send(head, body);
    }
    if (!conn.closed) this.idle.push(conn);
    return res;
  }

  async next() {
    let failures = 0;
    for (;;) {
      let res;
      try {
        res = await this.request('GET', '/invocation/next');
      } catch (err) {
        failures++;
        if (failures >= MAX_NEXT_FAILURES) {
          logRecord('ERROR', `giving up on the Runtime API after ${failures} failures: ${err.message}`);
          process.exit(1);
        }
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (failures - 1), 1000)));
        continue;
      }
      if (res.status === 200) return res;
      const detail = res.body.toString('utf8').slice(0, 200);
      if (res.status >= 500) {
        logRecord('ERROR', `/next answered ${res.status}; exiting: ${detail}`);
        process.exit(1);
      }
      failures++;
      logRecord('WARN', `/next answered ${res.status}: ${detail}`);
      if (failures >= MAX_NEXT_FAILURES) process.exit(1);
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (failures - 1), 1000)));
    }
  }

  async post(urlPath, body, headers) {
    let lastErr;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return await this.request('POST', urlPath, body, headers);
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }
}

// ---------------------------------------------------------------------------
// Handler loading
// ---------------------------------------------------------------------------

function namedError(name, message, cause) {
  const err = new Error(message);
  err.name = name;
  if (cause?.stack) err.stack = `${name}: ${message}\n${cause.stack}`;
  return err;
}

function isEsmJs(file) {
  let dir = path.dirname(file);
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        return JSON.parse(fs.readFileSync(pkg, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

async function loadModuleFile(file) {
  const require = createRequire(file);
  if (file.endsWith('.cjs') || (file.endsWith('.js') && !isEsmJs(file))) {
    return require(file);
  }
  return import(pathToFileURL(file).href);
}

async function loadHandler(taskRoot, handlerString) {
  if (!handlerString) throw namedError('Runtime.MalformedHandlerName', '_HANDLER is not set');
  if (handlerString.includes('..')) {
    throw namedError(
      'Runtime.MalformedHandlerName',
      `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const base = path.basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.length - base.length).replace(/\/$/, '');
  const match = base.match(/^([^.]*)\.(.*)$/);
  if (!match || !match[1] || !match[2]) throw namedError('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, handlerName] = match;
  const stem = path.resolve(taskRoot, moduleRoot, moduleName);

  let mod;
  try {
    const file = ['.mjs', '.js', '.cjs'].map((ext) => stem + ext).find((f) => fs.existsSync(f));
    if (file) {
      mod = await loadModuleFile(file);
    } else {
      // A package or extension-less file, resolved like require() would.
      const require = createRequire(path.join(taskRoot, 'index.js'));
      const resolved = require.resolve(moduleName, { paths: [taskRoot, path.join(taskRoot, moduleRoot)] });
      mod = resolved.endsWith('.mjs') || (resolved.endsWith('.js') && isEsmJs(resolved))
        ? await import(pathToFileURL(resolved).href)
        : require(resolved);
    }
  } catch (err) {
    if (err instanceof SyntaxError) throw namedError('Runtime.UserCodeSyntaxError', String(err), err);
    if (err?.code === 'MODULE_NOT_FOUND' || err?.code === 'ERR_MODULE_NOT_FOUND') {
      throw namedError('Runtime.ImportModuleError', String(err), err);
    }
    throw err;
  }

  const find = (obj) =>
    handlerName.split('.').reduce((o, k) => (o !== null && (typeof o === 'object' || typeof o === 'function') ? o[k] : undefined), obj);
  let handler = find(mod);
  if (handler === undefined && mod && typeof mod === 'object' && 'default' in mod) handler = find(mod.default);
  if (handler === undefined) {
    throw namedError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  }
  if (typeof handler !== 'function') {
    throw namedError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  }
  const streaming = handler[STREAMING] === 'response';
  if (!streaming && handler.length >= 3) {
    const msg = process.env.AWS_EXECUTION_ENV === 'AWS_Lambda_nodejs22.x' ? CALLBACK_ERROR_NODEJS22 : CALLBACK_ERROR_NODEJS24_ABOVE;
    throw namedError('Runtime.CallbackHandlerDeprecated', msg);
  }
  return { handler, streaming, highWaterMark: handler[HIGH_WATER_MARK] };
}

// ---------------------------------------------------------------------------
// Response streaming (awslambda.streamifyResponse)
// ---------------------------------------------------------------------------

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

const HttpResponseStream = {
  from(stream, prelude) {
    stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    stream._onBeforeFirstWrite = (write) => {
      write(JSON.stringify(prelude));
      write(new Uint8Array(8));
    };
    return stream;
  },
};

function setupGlobals() {
  const off = ['1', 'true'].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA ?? '');
  if (off) return;
  globalThis.awslambda = {
    ...globalThis.awslambda,
    streamifyResponse(handler, options) {
      handler[STREAMING] = 'response';
      if (typeof options?.highWaterMark === 'number') handler[HIGH_WATER_MARK] = options.highWaterMark;
      return handler;
    },
    HttpResponseStream,
  };
}

// Returns { stream, done } where stream is the request (a Writable) handed to
// the handler and done resolves with the Runtime API reply.
function openResponseStream(api, requestId, highWaterMark) {
  let started = false;
  let resolveDone;
  let rejectDone;
  const done = new Promise((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const req = http.request({
    host: api.host,
    port: api.port,
    method: 'POST',
    path: `${API_PREFIX}/invocation/${encodeURIComponent(requestId)}/response`,
    agent: api.agent,
    highWaterMark,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      'Transfer-Encoding': 'chunked',
      'Content-Type': 'application/octet-stream',
      Trailer: [ERROR_TYPE_HEADER, 'Lambda-Runtime-Function-Error-Body'],
    },
  });
  req.on('response', (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolveDone({ status: res.statusCode, body: Buffer.concat(chunks) }));
  });
  req.on('error', (err) => rejectDone(err));
  const origWrite = req.write.bind(req);
  req.setContentType = (type) => {
    if (started) throw namedError('Runtime.InvalidStreamingOperation', 'Cannot set content-type, too late.');
    req.setHeader('Content-Type', type);
  };
  req.write = (chunk, encoding, cb) => {
    if (!started) {
      started = true;
      if (typeof req._onBeforeFirstWrite === 'function') req._onBeforeFirstWrite((c) => origWrite(c));
    }
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    return origWrite(data, encoding, cb);
  };
  const origEnd = req.end.bind(req);
  req.end = (chunk, encoding, cb) => {
    if (typeof chunk === 'function') return origEnd(chunk);
    if (chunk !== undefined && chunk !== null) req.write(chunk, encoding);
    else if (!started && typeof req._onBeforeFirstWrite === 'function') {
      started = true;
      req._onBeforeFirstWrite((c) => origWrite(c));
    }
    return origEnd(typeof encoding === 'function' ? encoding : cb);
  };
  done.catch(() => {}); // awaited later; a failed connection must not count as an unhandled rejection
  req.done = done;
  req.fail = (err) =>
    new Promise((resolve) => {
      const e = formatError(err);
      if (!req.writableEnded) {
        req.addTrailers({
          [ERROR_TYPE_HEADER]: headerSafe(e.errorType),
          'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(e)).toString('base64'),
        });
        origEnd(resolve);
      } else resolve();
    });
  return { stream: req, done };
}

// ---------------------------------------------------------------------------
// Invocations
// ---------------------------------------------------------------------------

function formatError(err) {
  try {
    if (err instanceof Error) {
      return {
        errorType: err.name,
        errorMessage: err.message,
        trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
      };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch {
    return { errorType: 'handled', errorMessage: 'could not format the error', trace: [] };
  }
}

function headerSafe(value) {
  const v = String(value ?? '').replace(/[^\x20-\x7e]/g, '');
  return v || 'Unhandled';
}

function parseJsonHeader(value, name) {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch (e) {
    throw namedError('Runtime.PlatformError', `Failed to parse ${name} as JSON: ${e.message}`);
  }
}

function buildContext(headers) {
  const deadline = parseInt(headers['lambda-runtime-deadline-ms'] ?? '', 10);
  return {
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'lambda-runtime-client-context'),
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'lambda-runtime-cognito-identity'),
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    xRayTraceId: headers['lambda-runtime-trace-id'],
    getRemainingTimeInMillis() {
      return Number.isNaN(deadline) ? 0 : Math.max(deadline - Date.now(), 0);
    },
  };
}

function parseEvent(body) {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

class Invocation {
  constructor(api, loaded, res) {
    this.api = api;
    this.loaded = loaded;
    this.res = res;
    this.requestId = res.headers['lambda-runtime-aws-request-id'];
    this.answered = false;
    this.released = false;
    this.stream = undefined;
    this.onReleased = () => {};
  }

  // Runs inside the invocation's AsyncLocalStorage store.
  async run() {
    try {
      const context = buildContext(this.res.headers);
      const event = parseEvent(this.res.body);
      if (this.loaded.streaming) {
        const { stream, done } = openResponseStream(this.api, this.requestId, this.loaded.highWaterMark);
        this.stream = stream;
        const ret = this.loaded.handler(event, stream, context);
        if (!ret || typeof ret.then !== 'function') throw new Error('Streaming does not support non-async handlers.');
        const result = await ret;
        if (result !== undefined) console.warn('Streaming handlers ignore return values.');
        if (!stream.writableEnded) stream.end();
        const reply = await done;
        if (this.markAnswered()) {
          this.release();
          if (reply.status >= 300) {
            logRecord('WARN', `Runtime API answered ${reply.status} for ${this.requestId}: ${reply.body.toString().slice(0, 200)}`);
          }
        }
        return;
      }
      const result = await this.loaded.handler(event, context);
      await this.succeed(result);
    } catch (err) {
      await this.fail(err);
    }
  }

  // An invocation is answered once its result is on the way (a second answer is
  // never sent). Its concurrency slot is released only when the Runtime API has
  // replied to that POST, so the platform never sees more than the cap outstanding.
  markAnswered() {
    if (this.answered) return false;
    this.answered = true;
    return true;
  }

  release() {
    if (this.released) return;
    this.released = true;
    this.onReleased();
  }

  async succeed(result) {
    if (this.answered) return;
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch {
      await this.fail(namedError('Runtime.JSONStringifyError', 'Unable to stringify response body'));
      return;
    }
    if (body === undefined) body = 'null'; // e.g. a function result
    await this.send('/response', body, { 'Content-Type': 'application/json' });
  }

  async fail(err) {
    if (this.answered) return;
    const formatted = formatError(err);
    logRecord('ERROR', 'Invoke Error', {
      errorType: formatted.errorType,
      errorMessage: formatted.errorMessage,
      stackTrace: formatted.trace,
    });
    if (this.stream) {
      this.markAnswered();
      await this.stream.fail(err);
      await this.stream.done.catch(() => {});
      this.release();
      return;
    }
    await this.send('/error', JSON.stringify(formatted), {
      'Content-Type': 'application/vnd.aws.lambda.error+json',
      [ERROR_TYPE_HEADER]: headerSafe(formatted.errorType),
    });
  }

  async send(suffix, body, headers) {
    if (!this.markAnswered()) return;
    try {
      const reply = await this.api.post(`/invocation/${encodeURIComponent(this.requestId)}${suffix}`, body, headers);
      if (reply.status >= 300) {
        logRecord('WARN', `Runtime API answered ${reply.status} for ${this.requestId}: ${reply.body.toString().slice(0, 200)}`);
      }
    } catch (err) {
      logRecord('ERROR', `could not post the result of ${this.requestId}: ${err.message}`);
    }
    this.release();
  }
}

async function runWorker() {
  setupGlobals();
  patchConsole();
  const cap = Math.max(1, workerData.cap | 0);

  let api;
  try {
    api = new RuntimeApi(process.env.AWS_LAMBDA_RUNTIME_API);
  } catch (err) {
    logRecord('FATAL', err.message);
    process.exit(1);
  }

  let loaded;
  try {
    loaded = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER);
  } catch (err) {
    const formatted = formatError(err);
    logRecord('ERROR', 'Init Error', {
      errorType: formatted.errorType,
      errorMessage: formatted.errorMessage,
      stackTrace: formatted.trace,
    });
    try {
      const reply = await api.post('/init/error', JSON.stringify(formatted), {
        'Content-Type': 'application/vnd.aws.lambda.error+json',
        [ERROR_TYPE_HEADER]: headerSafe(formatted.errorType),
      });
      // 403: another worker has already reported the init error.
      if (reply.status >= 300 && reply.status !== 403) {
        logRecord('WARN', `init/error answered ${reply.status}: ${reply.body.toString().slice(0, 200)}`);
      }
    } catch (e) {
      logRecord('ERROR', `could not post init error: ${e.message}`);
    }
    process.exit(1);
  }

  // Errors that escape a handler (unhandled rejections, exceptions thrown from
  // timers) fail the invocation whose async context they came from.
  const failFromContext = (err, kind) => {
    const store = invokeStore.getStore();
    if (store?.invocation && !store.invocation.answered) {
      store.invocation.fail(err);
    } else {
      logRecord('ERROR', `${kind}: ${util.format(err)}`, err instanceof Error ? errorFields(err) : undefined);
    }
  };
  process.on('unhandledRejection', (reason) => failFromContext(reason, 'Unhandled Promise Rejection'));
  process.on('uncaughtException', (err) => failFromContext(err, 'Uncaught Exception'));

  let inflight = 0;
  let wake = null;
  for (;;) {
    while (inflight >= cap) {
      await new Promise((resolve) => {
        wake = resolve;
      });
    }
    const res = await api.next();
    const invocation = new Invocation(api, loaded, res);
    if (!invocation.requestId) {
      logRecord('ERROR', '/next response without Lambda-Runtime-Aws-Request-Id');
      continue;
    }
    inflight++;
    invocation.onReleased = () => {
      inflight--;
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    };
    const store = {
      requestId: invocation.requestId,
      tenantId: res.headers['lambda-runtime-aws-tenant-id'],
      xRayTraceId: res.headers['lambda-runtime-trace-id'],
      invocation,
    };
    setImmediate(() => invokeStore.run(store, () => invocation.run()));
  }
}

if (isMainThread) {
  runMain();
} else {
  runWorker();
}
