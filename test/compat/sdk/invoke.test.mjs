// Invoke through the data plane: real functions on a capacity provider, run by the server's
// local instance agents. Every runtime family Hearth hosts (python3.x, nodejs*.x, provided.*
// with a hand-written Runtime API loop, and AWS's own Node runtime client as a custom runtime),
// then the Invoke API surface: Tail logs, function errors, timeouts, aliases (plain and
// weighted), unqualified invokes, client context, multi-concurrency throughput, overload (429),
// payload limits, DryRun, Event, and invokes of versions that are not Active.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  PublishVersionCommand,
  PutFunctionScalingConfigCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  createActiveCapacityProvider,
  eventually,
  expectError,
  functionArn,
  makeClient,
  sleep,
  uniqueName,
  useServer,
  waitFunctionSettled,
} from '../lib/lambda.mjs';
import {
  deployFunction,
  environmentProcesses,
  invoke,
  invokeOk,
  parseLogLines,
  percentile,
  tryInvoke,
  waitEnvironmentCount,
  waitVersionActive,
} from '../lib/dataplane.mjs';
import { makeZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 30 s).
const T = { timeout: 600_000 };
// Per-test bound: every test below finishes in a few seconds on an idle machine.
const IT = { timeout: 90_000 };

const RIC_ENTRY = fileURLToPath(new URL('../../ric/node_modules/aws-lambda-ric/index.mjs', import.meta.url));
const RIC_MISSING = !fs.existsSync(RIC_ENTRY)
  ? 'aws-lambda-ric is not installed: run `npm_config_nodedir=/usr npm ci` in test/ric (see test/ric/README.md)'
  : false;

// --- function code -------------------------------------------------------------------------

/** Python handler; what it does depends on event.action. */
const PY_HANDLER = `import os
import time


def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    if action == "print":
        print("python handler says " + event["marker"])
    elif action == "raise":
        raise ValueError("python boom " + event.get("marker", ""))
    elif action == "sleep":
        time.sleep(event["seconds"])
    elif action == "context":
        cc = context.client_context
        return {
            "custom": getattr(cc, "custom", None),
            "env": getattr(cc, "env", None),
            "appTitle": getattr(getattr(cc, "client", None), "app_title", None),
        }
    return {
        "runtime": "python",
        "event": event,
        "version": context.function_version,
        "requestId": context.aws_request_id,
        "invokedArn": context.invoked_function_arn,
        "maxConcurrency": os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY"),
    }
`;

/** Node (ESM) handler, the same protocol as the Python one. */
const NODE_HANDLER = `export const handler = async (event, context) => {
  const action = event && event.action;
  if (action === 'print') console.log('node handler says ' + event.marker);
  if (action === 'raise') throw new TypeError('node boom ' + (event.marker ?? ''));
  if (action === 'sleep') await new Promise((r) => setTimeout(r, event.seconds * 1000));
  return {
    runtime: process.env.HEARTH_TEST_RUNTIME || 'nodejs',
    event,
    version: context.functionVersion,
    requestId: context.awsRequestId,
    maxConcurrency: process.env.AWS_LAMBDA_MAX_CONCURRENCY,
  };
};
`;

/**
 * A custom runtime: the Runtime API loop in plain Python 3 (urllib only). One thread per unit of
 * AWS_LAMBDA_MAX_CONCURRENCY, each doing GET /next -> POST /response (or /error).
 */
const PROVIDED_BOOTSTRAP = `#!/usr/bin/env python3
import json
import os
import sys
import threading
import time
import urllib.request

API = "http://%s/2018-06-01/runtime" % os.environ["AWS_LAMBDA_RUNTIME_API"]


def call(path, body=None, headers=None):
    req = urllib.request.Request(API + path, data=body, headers=headers or {},
                                 method="GET" if body is None else "POST")
    with urllib.request.urlopen(req) as res:
        return res.headers, res.read()


def serve(worker):
    while True:
        headers, body = call("/invocation/next")
        rid = headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(body) if body else None
        action = event.get("action") if isinstance(event, dict) else None
        if action == "print":
            print("provided handler says " + event["marker"], flush=True)
        if action == "sleep":
            time.sleep(event["seconds"])
        if action == "raise":
            err = {"errorType": "CustomRuntimeError", "errorMessage": "provided boom " + event.get("marker", "")}
            call("/invocation/%s/error" % rid, json.dumps(err).encode(),
                 {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": "CustomRuntimeError"})
            continue
        result = {
            "runtime": "provided",
            "event": event,
            "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
            "requestId": rid,
            "handler": os.environ.get("_HANDLER"),
            "maxConcurrency": os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY"),
        }
        call("/invocation/%s/response" % rid, json.dumps(result).encode(), {"Content-Type": "application/json"})


workers = max(1, int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1")))
threads = [threading.Thread(target=serve, args=(i,), daemon=True) for i in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
sys.exit(1)
`;

/**
 * bootstrap for the official Node runtime client, shipped in the deployment package as a Lambda
 * user ships it (the sandbox shows nothing of the host's test tree): it reads the handler from
 * _HANDLER itself. Without AWS_LAMBDA_NODEJS_WORKER_COUNT it starts 8 worker threads per CPU;
 * two are plenty here.
 */
const ricBootstrap = () => `#!/bin/sh
# aws-lambda-ric as a custom runtime; it loads "$LAMBDA_TASK_ROOT/<file>" named by _HANDLER (\${_HANDLER}).
export AWS_LAMBDA_NODEJS_WORKER_COUNT="\${AWS_LAMBDA_NODEJS_WORKER_COUNT:-2}"
exec node "$LAMBDA_TASK_ROOT/node_modules/aws-lambda-ric/index.mjs"
`;

/** The runtime client's files (and its one runtime dependency) as zip entries under node_modules/. */
function ricPackageEntries() {
  const modules = fileURLToPath(new URL('../../ric/node_modules/', import.meta.url));
  const entries = [];
  const add = (relative) => {
    const full = modules + relative;
    const stat = fs.statSync(full);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full)) {
        if (relative === 'aws-lambda-ric' && ['deps', 'scripts', 'node-addon-api'].includes(name)) continue;  // build inputs
        add(`${relative}/${name}`);
      }
    } else {
      entries.push({ name: `node_modules/${relative}`, data: fs.readFileSync(full), mode: 0o100644 });
    }
  };
  add('aws-lambda-ric');
  add('@aws/lambda-invoke-store');
  return entries;
}

const pyZip = (src = PY_HANDLER) => makeZip([{ name: 'lambda_function.py', data: src, mode: 0o100644 }]);
const nodeZip = () => makeZip([{ name: 'index.mjs', data: NODE_HANDLER, mode: 0o100644 }]);
const providedZip = () => makeZip([{ name: 'bootstrap', data: PROVIDED_BOOTSTRAP, mode: 0o100755 }]);
const ricZip = () =>
  makeZip([
    { name: 'bootstrap', data: ricBootstrap(), mode: 0o100755 },
    { name: 'index.mjs', data: NODE_HANDLER, mode: 0o100644 },
    ...ricPackageEntries(),
  ]);

// --- helpers ---------------------------------------------------------------------------------

/** Memoise an async factory so several tests can share one deployed function. */
function once(factory) {
  let p;
  return () => {
    p ??= factory();
    return p;
  };
}

/**
 * Wait until `qualifier` (e.g. a new alias) is routable: the first invoke that does not answer
 * TooManyRequestsException. See the alias-race test below for why this is needed.
 */
async function waitInvocable(client, name, qualifier) {
  return eventually(
    async () => {
      const r = await tryInvoke(client, name, {}, { Qualifier: qualifier });
      if (r.ok) return r;
      if (r.name === 'TooManyRequestsException') return null;
      throw r.err;
    },
    { timeout: 5_000, interval: 20, what: `${name}:${qualifier} to be invocable` },
  );
}

function assertFunctionErrorPayload(r, errorType, messagePart) {
  assert.equal(r.status, 200, 'a function error still answers HTTP 200');
  assert.equal(r.out.$metadata.httpStatusCode, 200);
  assert.equal(r.functionError, 'Unhandled', `X-Amz-Function-Error (payload ${r.text.slice(0, 300)})`);
  assert.ok(r.json && typeof r.json === 'object', `error payload should be JSON: ${r.text.slice(0, 300)}`);
  assert.equal(r.json.errorType, errorType, `errorType in ${r.text.slice(0, 300)}`);
  assert.equal(typeof r.json.errorMessage, 'string');
  if (messagePart) assert.ok(r.json.errorMessage.includes(messagePart), `errorMessage ${JSON.stringify(r.json.errorMessage)}`);
}

describe('invoke (data plane)', T, () => {
  const ctx = useServer();
  let cpArn;

  before(async () => {
    const cp = await createActiveCapacityProvider(ctx.client, uniqueName('inv-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 64, ScalingMode: 'Auto' },
    });
    cpArn = cp.CapacityProviderArn;
  });

  const deploy = (spec) => deployFunction(ctx.client, { cpArn, ...spec });

  // Shared functions, deployed by whichever test needs them first.
  const python = once(() => deploy({ name: uniqueName('inv-py'), zip: pyZip(), concurrency: 4 }));
  const nodejs = once(() =>
    deploy({ name: uniqueName('inv-node'), zip: nodeZip(), runtime: 'nodejs22.x', handler: 'index.handler' }),
  );
  const provided = once(() =>
    deploy({ name: uniqueName('inv-prov'), zip: providedZip(), runtime: 'provided.al2023', handler: 'custom.handler' }),
  );

  describe('each runtime: CreateFunction -> PublishVersion -> Active -> Invoke', () => {
    async function checkRoundTrip(fn, runtime, extra = {}) {
      assert.equal(fn.version, '1');
      assert.equal(fn.config.State, 'Active');
      const event = { hello: runtime, n: 42, nested: { list: [1, 'two', null] }, unicode: 'żółw ✓' };
      const r = await invokeOk(ctx.client, fn.name, event, { Qualifier: fn.version });
      assert.equal(r.out.$metadata.httpStatusCode, 200);
      assert.equal(r.executedVersion, '1', 'X-Amz-Executed-Version');
      assert.deepEqual(r.json, { runtime, event, version: '1', requestId: r.requestId, ...extra });
      return r;
    }

    it('python3.13 (lambda_function.handler in a zip)', IT, async () => {
      const fn = await python();
      await checkRoundTrip(fn, 'python', { maxConcurrency: '4', invokedArn: functionArn(fn.name, '1') });
    });

    it('nodejs22.x (ESM index.mjs exporting an async handler)', IT, async () => {
      await checkRoundTrip(await nodejs(), 'nodejs', { maxConcurrency: '2' });
    });

    it('provided.al2023 (a Python 3 bootstrap running the Runtime API loop with threads)', IT, async () => {
      const fn = await provided();
      await checkRoundTrip(fn, 'provided', { handler: 'custom.handler', maxConcurrency: '2' });
      // With AWS_LAMBDA_MAX_CONCURRENCY=2 one environment runs two invocations at once: 6 sleeps
      // of 0.8 s on 3 environments take one round, not two or more.
      const t0 = performance.now();
      const rs = await Promise.all(
        Array.from({ length: 6 }, () => invokeOk(ctx.client, fn.name, { action: 'sleep', seconds: 0.8 }, { Qualifier: '1' })),
      );
      const wall = performance.now() - t0;
      assert.ok(rs.every((r) => r.json.runtime === 'provided'));
      assert.ok(wall < 1500, `6 concurrent 0.8 s invokes on 3 EEs x 2 threads took ${wall.toFixed(0)} ms`);
    });

    it('aws-lambda-ric as a provided.al2023 custom runtime', { ...IT, skip: RIC_MISSING }, async () => {
      const fn = await deploy({
        name: uniqueName('inv-ric'),
        zip: ricZip(),
        runtime: 'provided.al2023',
        handler: 'index.handler',
        environment: { HEARTH_TEST_RUNTIME: 'aws-lambda-ric' },
      });
      await checkRoundTrip(fn, 'aws-lambda-ric', { maxConcurrency: '2' });
      const err = await invoke(ctx.client, fn.name, { action: 'raise', marker: 'ric' }, { Qualifier: '1' });
      assertFunctionErrorPayload(err, 'TypeError', 'node boom ric');
    });
  });

  describe('Invoke API', () => {
    /** Invoke with LogType Tail; check the header's shape and the platform records. */
    async function tailInvoke(fn, what, marker) {
      const r = await invokeOk(ctx.client, fn.name, { action: 'print', marker }, { Qualifier: fn.version, LogType: 'Tail' });
      assert.equal(typeof r.out.LogResult, 'string', `${what}: X-Amz-Log-Result present`);
      assert.match(r.out.LogResult, /^[A-Za-z0-9+/]*={0,2}$/, `${what}: base64`);
      assert.ok(Buffer.from(r.out.LogResult, 'base64').length <= 4096, `${what}: at most 4 KB`);
      const lines = parseLogLines(r.logs);
      const report = lines.find((l) => l.type === 'platform.report' && l.record?.requestId === r.requestId);
      assert.ok(report, `${what}: platform.report for ${r.requestId} in the tail:\n${r.logs}`);
      assert.equal(typeof report.record.metrics?.durationMs, 'number', `${what}: report metrics.durationMs`);
      assert.equal(
        report.record.metrics.billedDurationMs,
        Math.ceil(report.record.metrics.durationMs),
        `${what}: report metrics.billedDurationMs`,
      );
      assert.equal(typeof report.record.metrics.memorySizeMB, 'number', `${what}: report metrics.memorySizeMB`);
      assert.equal(typeof report.record.metrics.maxMemoryUsedMB, 'number', `${what}: report metrics.maxMemoryUsedMB`);
      assert.equal(report.record.status, 'success', `${what}: report status`);
      assert.ok(
        lines.some((l) => l.type === 'platform.start' && l.record?.requestId === r.requestId),
        `${what}: platform.start for ${r.requestId}`,
      );
      const said = lines.find((l) => JSON.stringify(l).includes(`handler says ${marker}`));
      if (said && what !== 'provided') {
        // Hearth's runtimes write JSON log lines attributed to the invocation.
        assert.equal(said.requestId, r.requestId, `${what}: requestId of the handler's line`);
        assert.equal(said.level, 'INFO');
        assert.equal(said.message, `${what} handler says ${marker}`);
      }
      return { r, said };
    }

    const TAIL_RUNTIMES = [
      [python, 'python'],
      [nodejs, 'node'],
      [provided, 'provided'],
    ];

    it('LogType Tail: the last 4 KB of logs with the handler line and the platform report', IT, async () => {
      for (const [get, what] of TAIL_RUNTIMES) {
        const fn = await get();
        // The strict every-time check is the next test; here a few tries keep this one focused on
        // the shape of the tail. Platform records are checked on every try.
        let found;
        const tries = [];
        for (let i = 0; i < 5 && !found; i++) {
          const { r, said } = await tailInvoke(fn, what, `tail-${what}-${i}-${Date.now()}`);
          tries.push(r.logs);
          found = said;
        }
        assert.ok(found, `${what}: the handler's line is in the tail:\n${tries.join('\n---\n')}`);
        if (tries.length > 1) console.log(`[note] ${what}: the handler's line was missing from ${tries.length - 1} tail(s)`);
        // Without LogType there is no log header.
        const plain = await invokeOk(ctx.client, fn.name, {}, { Qualifier: fn.version });
        assert.equal(plain.out.LogResult, undefined, `${what}: no X-Amz-Log-Result without Tail`);
      }
    });

    // Handler output written just before the result must be in X-Amz-Log-Result, for every
    // runtime, every time (the agent lets the output pipe settle before it answers).
    it(
      "LogType Tail always holds the handler's line (30 invokes per runtime)",
      IT,
      async () => {
        const missing = [];
        for (const [get, what] of TAIL_RUNTIMES) {
          const fn = await get();
          for (let i = 0; i < 30; i++) {
            const { r, said } = await tailInvoke(fn, what, `strict-${what}-${i}-${Date.now()}`);
            if (!said) missing.push(`${what} ${r.requestId}`);
          }
        }
        assert.deepEqual(missing, [], 'tails without the handler line');
      },
    );

    it('a handler exception: 200, X-Amz-Function-Error Unhandled, errorType in the payload', IT, async () => {
      const py = await python();
      const r1 = await invoke(ctx.client, py.name, { action: 'raise', marker: 'p1' }, { Qualifier: py.version });
      assertFunctionErrorPayload(r1, 'ValueError', 'python boom p1');
      assert.equal(r1.executedVersion, '1');

      const node = await nodejs();
      const r2 = await invoke(ctx.client, node.name, { action: 'raise', marker: 'n1' }, { Qualifier: node.version });
      assertFunctionErrorPayload(r2, 'TypeError', 'node boom n1');

      const prov = await provided();
      const r3 = await invoke(ctx.client, prov.name, { action: 'raise', marker: 'c1' }, { Qualifier: prov.version });
      assertFunctionErrorPayload(r3, 'CustomRuntimeError', 'provided boom c1');

      // The environments survive a failed invocation.
      await invokeOk(ctx.client, py.name, {}, { Qualifier: py.version });
      await invokeOk(ctx.client, node.name, {}, { Qualifier: node.version });
      await invokeOk(ctx.client, prov.name, {}, { Qualifier: prov.version });
    });

    it('Timeout 1 and a 3 s handler: "Task timed out after 1.00 seconds" within ~2.5 s', IT, async () => {
      const fn = await deploy({ name: uniqueName('inv-timeout'), zip: pyZip(), timeout: 1, concurrency: 1 });
      const r = await invoke(ctx.client, fn.name, { action: 'sleep', seconds: 3 }, { Qualifier: fn.version });
      assert.ok(r.ms < 2500, `the timeout answered after ${r.ms.toFixed(0)} ms`);
      assert.ok(r.ms >= 900, `the timeout answered too early (${r.ms.toFixed(0)} ms)`);
      assert.equal(r.status, 200);
      assert.equal(r.functionError, 'Unhandled');
      assert.ok(r.json && typeof r.json.errorMessage === 'string', `error payload: ${r.text}`);
      assert.match(r.json.errorMessage, /Task timed out after 1\.00 seconds/);
      assert.ok(r.json.errorMessage.includes(r.requestId), 'the timeout message names the request id');
    });

    it('alias: Qualifier <alias> runs the alias version (X-Amz-Executed-Version)', IT, async () => {
      const fn = await aliasFunction();
      await ctx.client.send(new CreateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: '1' }));
      await waitInvocable(ctx.client, fn.name, 'live');
      for (let i = 0; i < 3; i++) {
        const r = await invokeOk(ctx.client, fn.name, { i }, { Qualifier: 'live' });
        assert.equal(r.executedVersion, '1', 'X-Amz-Executed-Version for alias live -> 1');
        assert.equal(r.json.version, '1', 'the function sees version 1');
        assert.equal(r.json.invokedArn, functionArn(fn.name, 'live'), 'the invoked ARN names the alias');
      }
      // The alias ARN as FunctionName works as well.
      const byArn = await invokeOk(ctx.client, functionArn(fn.name, 'live'), {});
      assert.equal(byArn.executedVersion, '1');
      // And so does a version-qualified ARN.
      const byVersionArn = await invokeOk(ctx.client, functionArn(fn.name, '2'), {});
      assert.equal(byVersionArn.executedVersion, '2');
      assert.equal(byVersionArn.json.invokedArn, functionArn(fn.name, '2'), 'the invoked ARN names the version');
    });

    it('weighted alias 1 + {2: 0.5}: ~40 invokes run both versions', IT, async () => {
      const fn = await aliasFunction();
      await ctx.client.send(
        new CreateAliasCommand({
          FunctionName: fn.name,
          Name: 'canary',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: { 2: 0.5 } },
        }),
      );
      await waitInvocable(ctx.client, fn.name, 'canary');
      const seen = { 1: 0, 2: 0 };
      for (let i = 0; i < 40; i++) {
        const r = await invokeOk(ctx.client, fn.name, { i }, { Qualifier: 'canary' });
        assert.ok(['1', '2'].includes(r.executedVersion), `X-Amz-Executed-Version ${r.executedVersion}`);
        assert.equal(r.json.version, r.executedVersion, 'the payload comes from the executed version');
        seen[r.executedVersion] += 1;
      }
      // Binomial(40, 0.5): fewer than 5 of either happens with probability ~2e-7.
      assert.ok(seen[1] >= 5 && seen[2] >= 5, `version split over 40 invokes: ${JSON.stringify(seen)}`);
    });

    // An alias is invocable as soon as CreateAlias answers, even before the router's table has
    // caught up (the API resolves it through the control plane and routes to its version).
    it(
      'a new alias is invocable as soon as CreateAlias has answered',
      IT,
      async () => {
        const fn = await aliasFunction();
        const failures = [];
        for (let i = 0; i < 10; i++) {
          const alias = `fresh-${i}`;
          await ctx.client.send(new CreateAliasCommand({ FunctionName: fn.name, Name: alias, FunctionVersion: '2' }));
          const r = await tryInvoke(ctx.client, fn.name, {}, { Qualifier: alias });
          if (!r.ok) failures.push(`${alias}: ${r.name} (HTTP ${r.status}): ${r.message}`);
          else assert.equal(r.executedVersion, '2');
        }
        assert.deepEqual(failures, [], 'invokes right after CreateAlias');
      },
    );

    it('unqualified invoke runs $LATEST.PUBLISHED', IT, async () => {
      const fn = await aliasFunction();
      const r = await invokeOk(ctx.client, fn.name, { unqualified: true });
      assert.equal(r.executedVersion, '$LATEST.PUBLISHED');
      assert.equal(r.json.version, '$LATEST.PUBLISHED');
      assert.equal(r.json.invokedArn, functionArn(fn.name), 'an unqualified invoke reports the unqualified ARN');
      const r2 = await invokeOk(ctx.client, fn.name, {}, { Qualifier: '$LATEST.PUBLISHED' });
      assert.equal(r2.executedVersion, '$LATEST.PUBLISHED');
      assert.equal(r2.json.invokedArn, functionArn(fn.name, '$LATEST.PUBLISHED'));
    });

    it('a payload that is not JSON -> InvalidRequestContentException (400), nothing runs', IT, async () => {
      const fn = await python();
      for (const bad of ['hello', '{"a":', "'test'", '{} {}']) {
        const err = await expectError(
          invoke(ctx.client, fn.name, Buffer.from(bad), { Qualifier: fn.version }),
          'InvalidRequestContentException',
        );
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.match(err.message, /^Could not parse request body into json: Could not parse payload into json: /);
      }
      // The same through the control-plane path (DryRun checks the payload too).
      await expectError(
        invoke(ctx.client, fn.name, Buffer.from('nope'), { Qualifier: fn.version, InvocationType: 'DryRun' }),
        'InvalidRequestContentException',
      );
      const ok = await invokeOk(ctx.client, fn.name, { fine: true }, { Qualifier: fn.version });
      assert.deepEqual(ok.json.event, { fine: true });
    });

    it('X-Amz-Client-Context reaches the function (Python context.client_context)', IT, async () => {
      const fn = await python();
      const cc = { client: { app_title: 'hearth-tests', installation_id: 'i-1' }, custom: { k: 'v', n: 1 }, env: { locale: 'pl' } };
      const r = await invokeOk(
        ctx.client,
        fn.name,
        { action: 'context' },
        { Qualifier: fn.version, ClientContext: Buffer.from(JSON.stringify(cc)).toString('base64') },
      );
      assert.deepEqual(r.json, { custom: cc.custom, env: cc.env, appTitle: 'hearth-tests' });
      const none = await invokeOk(ctx.client, fn.name, { action: 'context' }, { Qualifier: fn.version });
      assert.deepEqual(none.json, { custom: null, env: null, appTitle: null });
    });

    it('3 EEs x max concurrency 8 complete 24 concurrent 0.5 s sleeps in under 1.6 s', IT, async () => {
      const fn = await deploy({ name: uniqueName('inv-par'), zip: pyZip(), concurrency: 8, minEEs: 3 });
      await waitEnvironmentCount(ctx.server.port, fn.name, fn.version, 3);
      await invokeOk(ctx.client, fn.name, { action: 'sleep', seconds: 0.01 }, { Qualifier: fn.version }); // warm-up
      const t0 = performance.now();
      const rs = await Promise.all(
        Array.from({ length: 24 }, () => tryInvoke(ctx.client, fn.name, { action: 'sleep', seconds: 0.5 }, { Qualifier: fn.version })),
      );
      const wall = performance.now() - t0;
      const failed = rs.filter((r) => !r.ok || r.functionError);
      console.log(
        `[measured] 24 x 0.5 s on 3 EEs x 8: wall ${wall.toFixed(0)} ms, p50 ${percentile(rs.map((r) => r.ms), 50).toFixed(0)} ms, ` +
          `max ${Math.max(...rs.map((r) => r.ms)).toFixed(0)} ms, failures ${failed.length}`,
      );
      assert.deepEqual(
        failed.map((r) => `${r.name ?? r.functionError}: ${r.message ?? r.text}`),
        [],
        'all 24 invocations succeed',
      );
      assert.ok(wall < 1600, `24 concurrent 0.5 s sleeps took ${wall.toFixed(0)} ms (limit 1600)`);
    });

    it('overload: 1 EE x concurrency 2 and 30 concurrent 1 s invokes -> fast 429s, no 5xx, no hang', IT, async () => {
      // Publish with the default 3 environments, then scale the Active version down to one.
      const fn = await deploy({ name: uniqueName('inv-over'), zip: pyZip(), concurrency: 2 });
      await ctx.client.send(
        new PutFunctionScalingConfigCommand({
          FunctionName: fn.name,
          Qualifier: fn.version,
          FunctionScalingConfig: { MinExecutionEnvironments: 1, MaxExecutionEnvironments: 1 },
        }),
      );
      await waitEnvironmentCount(ctx.server.port, fn.name, fn.version, 1);
      // A fresh client: no retries, a bound on every request, its own sockets.
      const client = makeClient(ctx.endpoint, { requestTimeout: 10_000 });
      try {
        await invokeOk(client, fn.name, {}, { Qualifier: fn.version }); // warm-up
        const t0 = performance.now();
        const rs = await Promise.all(
          Array.from({ length: 30 }, () => tryInvoke(client, fn.name, { action: 'sleep', seconds: 1 }, { Qualifier: fn.version })),
        );
        const wall = performance.now() - t0;
        const ok = rs.filter((r) => r.ok);
        const throttled = rs.filter((r) => !r.ok && r.name === 'TooManyRequestsException');
        const other = rs.filter((r) => !r.ok && r.name !== 'TooManyRequestsException');
        const lat = throttled.map((r) => r.ms);
        console.log(
          `[measured] overload 30 on 1 EE x 2: ${ok.length} ok, ${throttled.length} x 429 (p50 ${percentile(lat, 50).toFixed(0)} ms, ` +
            `max ${Math.max(...lat).toFixed(0)} ms), other ${other.length}, batch ${wall.toFixed(0)} ms`,
        );
        assert.deepEqual(
          other.map((r) => `${r.name} (HTTP ${r.status}): ${r.message}`),
          [],
          'only successes and TooManyRequestsException',
        );
        assert.ok(ok.length >= 1, 'some invocations succeed');
        assert.ok(ok.length <= 2, `at most 2 run at once on 1 EE x 2, but ${ok.length} succeeded`);
        assert.ok(ok.every((r) => !r.functionError), 'the admitted invocations succeed');
        for (const r of throttled) {
          assert.equal(r.status, 429);
          assert.equal(r.err.Reason, 'ConcurrentInvocationLimitExceeded', 'TooManyRequestsException Reason');
          assert.ok(r.err.$response?.headers?.['retry-after'], 'Retry-After header on a 429');
          assert.ok(r.ms < 300, `a 429 took ${r.ms.toFixed(0)} ms (limit 300)`);
        }
        assert.ok(wall < 5000, `the batch took ${wall.toFixed(0)} ms (limit 5000)`);
      } finally {
        client.destroy();
      }
    });

    // Scaling down while the fleet is still starting environments must not leave strays behind: a
    // stop that overtakes its start keeps the environment stopped, and agents stop environments
    // the server does not know.
    it(
      'PutFunctionScalingConfig right after PublishVersion leaves exactly Min environments',
      IT,
      async () => {
        const stray = [];
        for (let i = 0; i < 4; i++) {
          const fn = await deploy({ name: uniqueName('inv-early'), zip: pyZip(), concurrency: 1, minEEs: 1, maxEEs: 1 });
          await sleep(1000); // the surplus is stopped within a reconcile pass or two
          const procs = environmentProcesses(ctx.server.port, fn.name, fn.version);
          if (procs.length !== 1) stray.push(`${fn.name}: ${procs.length} environment processes`);
        }
        assert.deepEqual(stray, [], 'versions with other than 1 environment');
      },
    );

    it('a 7 MB payload -> RequestTooLargeException (413)', IT, async () => {
      const fn = await python();
      await expectError(
        ctx.client.send(
          new InvokeCommand({ FunctionName: fn.name, Qualifier: fn.version, Payload: Buffer.alloc(7 * 1024 * 1024, 0x20) }),
        ),
        'RequestTooLargeException',
      );
      await invokeOk(ctx.client, fn.name, {}, { Qualifier: fn.version }); // and the server is fine
    });

    it('DryRun -> 204, no payload, nothing runs', IT, async () => {
      const fn = await python();
      const out = await ctx.client.send(
        new InvokeCommand({ FunctionName: fn.name, Qualifier: fn.version, InvocationType: 'DryRun', Payload: Buffer.from('{}') }),
      );
      assert.equal(out.StatusCode, 204);
      assert.equal(out.$metadata.httpStatusCode, 204);
      assert.equal(out.FunctionError, undefined);
      assert.ok(!out.Payload || out.Payload.length === 0, 'no payload');
    });

    it('InvocationType Event is refused with a typed AWS error naming the problem', IT, async () => {
      const fn = await python();
      let err;
      try {
        await ctx.client.send(
          new InvokeCommand({ FunctionName: fn.name, Qualifier: fn.version, InvocationType: 'Event', Payload: Buffer.from('{"a":1}') }),
        );
      } catch (e) {
        err = e;
      }
      assert.ok(err, 'an Event invoke must not be reported as accepted while async invokes are unsupported');
      const status = err.$metadata?.httpStatusCode;
      assert.ok(status >= 400 && status < 600, `HTTP ${status}`);
      assert.ok(!['Error', 'UnknownError', 'TimeoutError'].includes(err.name), `untyped error ${err.name}: ${err.message}`);
      assert.match(err.message, /Event|asynchronous/i, 'the message says what is not supported');
    });

    it('a Pending version -> ResourceConflictException (409)', IT, async () => {
      // Module code that sleeps 3 s keeps the new version Pending for that long.
      const slow = pyZip(`import time\ntime.sleep(3)\n\n\ndef handler(event, context):\n    return 1\n`);
      const fn = await deploy({ name: uniqueName('inv-pending'), zip: slow, concurrency: 1, waitActive: false });
      const cfg = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: fn.name, Qualifier: fn.version }));
      assert.equal(cfg.State, 'Pending', 'the version is still initialising');
      const err = await expectError(
        ctx.client.send(new InvokeCommand({ FunctionName: fn.name, Qualifier: fn.version, Payload: Buffer.from('{}') })),
        'ResourceConflictException',
      );
      assert.match(err.message, /Pending/);
    });

    it('init failure (syntax error) -> version Failed (FunctionError.*); invoking it -> ResourceConflictException', IT, async () => {
      const broken = pyZip('def handler(event, context)\n    return 1\n');
      const fn = await deploy({ name: uniqueName('inv-syntax'), zip: broken, concurrency: 1, waitActive: false });
      const cfg = await waitFunctionSettled(ctx.client, fn.name, { qualifier: fn.version, timeout: 30_000 });
      assert.equal(cfg.State, 'Failed', `State (${cfg.StateReasonCode}: ${cfg.StateReason})`);
      assert.match(cfg.StateReasonCode ?? '', /^FunctionError\./, 'StateReasonCode');
      assert.equal(typeof cfg.StateReason, 'string');
      assert.match(cfg.StateReason, /Syntax/i, 'StateReason names the syntax error');
      const err = await expectError(
        ctx.client.send(new InvokeCommand({ FunctionName: fn.name, Qualifier: fn.version, Payload: Buffer.from('{}') })),
        'ResourceConflictException',
      );
      assert.match(err.message, /Failed/);
    });

    it('init failure (Node module throws) -> version Failed (FunctionError.*)', IT, async () => {
      const zip = makeZip([{ name: 'index.mjs', data: "throw new Error('init boom');\nexport const handler = async () => 1;\n" }]);
      const fn = await deploy({
        name: uniqueName('inv-nodeinit'),
        zip,
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        concurrency: 1,
        waitActive: false,
      });
      const cfg = await waitFunctionSettled(ctx.client, fn.name, { qualifier: fn.version, timeout: 30_000 });
      assert.equal(cfg.State, 'Failed', `State (${cfg.StateReasonCode}: ${cfg.StateReason})`);
      assert.match(cfg.StateReasonCode ?? '', /^FunctionError\./, 'StateReasonCode');
    });

    it('provided.al2023 without a bootstrap -> Failed, FunctionError.InvalidEntryPoint', IT, async () => {
      const zip = makeZip([{ name: 'README.txt', data: 'no bootstrap here\n', mode: 0o100644 }]);
      const fn = await deploy({ name: uniqueName('inv-noboot'), zip, runtime: 'provided.al2023', concurrency: 1, waitActive: false });
      const cfg = await waitFunctionSettled(ctx.client, fn.name, { qualifier: fn.version, timeout: 30_000 });
      assert.equal(cfg.State, 'Failed', `State (${cfg.StateReasonCode}: ${cfg.StateReason})`);
      assert.equal(cfg.StateReasonCode, 'FunctionError.InvalidEntryPoint');
    });

    it('missing function, version or alias -> ResourceNotFoundException (404)', IT, async () => {
      await expectError(
        ctx.client.send(new InvokeCommand({ FunctionName: uniqueName('inv-ghost'), Payload: Buffer.from('{}') })),
        'ResourceNotFoundException',
      );
      const fn = await python();
      await expectError(
        ctx.client.send(new InvokeCommand({ FunctionName: fn.name, Qualifier: '42', Payload: Buffer.from('{}') })),
        'ResourceNotFoundException',
      );
      await expectError(
        ctx.client.send(new InvokeCommand({ FunctionName: fn.name, Qualifier: 'no-such-alias', Payload: Buffer.from('{}') })),
        'ResourceNotFoundException',
      );
      await expectError(
        ctx.client.send(new InvokeCommand({ FunctionName: uniqueName('inv-ghost'), InvocationType: 'DryRun' })),
        'ResourceNotFoundException',
      );
    });
  });

  /** A Python function with versions 1 and 2 and $LATEST.PUBLISHED, all Active. */
  const aliasFunction = once(async () => {
    const fn = await deploy({ name: uniqueName('inv-alias'), zip: pyZip(), concurrency: 1 });
    await ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: fn.name, Description: 'second' }));
    await waitFunctionSettled(ctx.client, fn.name, { allowPending: true });
    const v2 = await ctx.client.send(new PublishVersionCommand({ FunctionName: fn.name }));
    assert.equal(v2.Version, '2');
    const lp = await ctx.client.send(new PublishVersionCommand({ FunctionName: fn.name, PublishTo: 'LATEST_PUBLISHED' }));
    assert.equal(lp.Version, '$LATEST.PUBLISHED');
    await waitVersionActive(ctx.client, fn.name, '2');
    await waitVersionActive(ctx.client, fn.name, '$LATEST.PUBLISHED');
    return fn;
  });
});
