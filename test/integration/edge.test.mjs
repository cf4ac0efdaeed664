// The API edge against hostile and unlucky clients, on a real server:
//   - request smuggling: a Transfer-Encoding the server cannot delimit is 400 and close, and
//     the body is never served as a second request (RFC 9112 §6.3);
//   - one address holding 5,000 idle connections does not lock out another (127.0.0.2), whose
//     requests keep being answered fast; the flood is refused with 503 + Retry-After over the
//     per-client cap;
//   - TagResource on a capacity provider while functions are created on it: no false 409.
//
// Run: node --test --test-concurrency=1 test/integration/edge.test.mjs
// (needs test/compat/node_modules: `npm ci` in test/compat; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { before, describe, it } from 'node:test';
import {
  capacityProviderArn,
  cpFunctionInput,
  cpInput,
  sdk,
  uniqueName,
  useServer,
} from '../compat/lib/lambda.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { CreateCapacityProviderCommand, CreateFunctionCommand, GetFunctionCommand, TagResourceCommand } = sdk;

const FLOOD = 5000;
const PROBES = 300;

/** Sends `bytes` on a new connection and resolves with everything read until the server closes. */
function exchange(port, bytes, { timeout = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeout} ms; got: ${Buffer.concat(chunks).toString()}`));
    }, timeout);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** One GET on a new connection from `localAddress`; resolves with {status, ms}. */
function timedGet(port, path, localAddress) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      { host: '127.0.0.1', port, path, localAddress, agent: false, headers: { Connection: 'close' }, timeout: 5_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6, error: e.message }));
    req.end();
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

describe('API edge', { timeout: 240_000 }, () => {
  const ctx = useServer();
  let port;
  before(() => {
    port = Number(new URL(ctx.endpoint).port);
  });

  it('answers an undelimitable Transfer-Encoding with one 400 and serves nothing smuggled', async () => {
    const smuggled = 'GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const coding of ['xchunked', 'gzip', 'chunked, identity']) {
      const answer = await exchange(
        port,
        `POST /2015-03-31/functions/any/invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n` +
          `Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      );
      assert.match(answer, /^HTTP\/1\.1 400 /, `${coding}: ${answer}`);
      assert.equal(answer.split('HTTP/1.1 ').length - 1, 1, `${coding}: exactly one response: ${answer}`);
      assert.ok(!answer.includes('"Functions"'), `${coding}: the smuggled ListFunctions was served`);
      assert.match(answer, /x-amzn-errortype: InvalidRequestContentException/i);
      const again = await exchange(
        port,
        `POST /2015-03-31/functions/any/invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n\r\n${smuggled}`,
      );
      assert.match(again, /^HTTP\/1\.1 400 /, `${coding} without Content-Length: ${again}`);
      assert.equal(again.split('HTTP/1.1 ').length - 1, 1, `${coding}: ${again}`);
    }
  });

  it('keeps answering 127.0.0.2 while 127.0.0.1 holds 5,000 idle connections', async () => {
    const flood = [];
    const outcome = { refused503: 0, retryAfter: 0, closedSilently: 0 };
    await new Promise((resolve) => {
      let opened = 0;
      for (let i = 0; i < FLOOD; i++) {
        const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
        });
        socket.on('error', () => {});
        socket.on('close', () => {
          if (text.startsWith('HTTP/1.1 503')) outcome.refused503++;
          else outcome.closedSilently++;
          if (/\r\nretry-after: \d+/i.test(text)) outcome.retryAfter++;
        });
        socket.on('connect', () => {
          if (++opened === FLOOD) resolve();
        });
        flood.push(socket);
      }
      setTimeout(resolve, 20_000);
    });
    const probes = [];
    for (let i = 0; i < PROBES; i++) {
      probes.push(await timedGet(port, i % 2 ? '/healthz' : '/2015-03-31/functions/', '127.0.0.2'));
    }
    const held = flood.filter((s) => !s.destroyed && s.readyState === 'open').length;
    for (const s of flood) s.destroy();
    const failed = probes.filter((p) => p.status !== 200);
    const ms = probes.map((p) => p.ms).sort((a, b) => a - b);
    const p50 = percentile(ms, 50);
    const p99 = percentile(ms, 99);
    console.log(
      `[figure] flood of ${FLOOD} idle sockets from 127.0.0.1: ${held} held open, ${outcome.refused503} refused ` +
        `with 503 (${outcome.retryAfter} with Retry-After), ${outcome.closedSilently} closed without an answer`,
    );
    console.log(
      `[figure] ${PROBES} requests from 127.0.0.2 on new connections during the flood: ` +
        `${PROBES - failed.length} × 200, p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${ms[ms.length - 1].toFixed(2)} ms`,
    );
    assert.deepEqual(failed, [], 'every request from 127.0.0.2 is answered 200');
    assert.ok(p99 < 50, `p99 ${p99.toFixed(2)} ms < 50 ms`);
    assert.ok(held <= 1024, `one address holds at most its cap (held ${held})`);
    assert.ok(outcome.refused503 > 0, 'connections over the cap are answered 503');
    assert.equal(outcome.retryAfter, outcome.refused503, 'every 503 carries Retry-After');
  });

  it('creates functions while their capacity provider is tagged, without a false 409', async () => {
    const cpName = uniqueName('edge-cp');
    await ctx.client.send(new CreateCapacityProviderCommand(cpInput(cpName)));
    const cpArn = capacityProviderArn(cpName);
    const zip = makeZip([{ name: 'lambda_function.py', data: 'def handler(e, c):\n    return e\n', mode: 0o100644 }]);
    const names = Array.from({ length: 95 }, (_, i) => uniqueName(`edge-fn-${i}`));
    let tagging = true;
    const tagErrors = [];
    let tags = 0;
    // Three taggers race each other and the creates (and the provider's Pending -> Active step).
    const taggers = Array.from({ length: 3 }, async (_, t) => {
      while (tagging) {
        try {
          await ctx.client.send(new TagResourceCommand({ Resource: cpArn, Tags: { [`t${t}`]: String(tags++ % 40) } }));
        } catch (e) {
          tagErrors.push(`${e.name}: ${e.message}`);
        }
      }
    });
    const createErrors = [];
    const queue = [...names];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let name = queue.shift(); name; name = queue.shift()) {
          try {
            await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, zip, cpArn)));
          } catch (e) {
            createErrors.push(`${name}: ${e.name}: ${e.message}`);
          }
        }
      }),
    );
    tagging = false;
    await Promise.all(taggers);
    console.log(`[figure] ${names.length} creates during ${tags} TagResource calls: ${createErrors.length} failed, ${tagErrors.length} tag failures`);
    assert.deepEqual(createErrors, []);
    assert.deepEqual(tagErrors, []);
    assert.ok(tags > 10, `the provider was tagged while functions were created (${tags} times)`);
    for (const name of names) {
      await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
    }
  });
});
