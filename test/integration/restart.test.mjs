// Restart: a published function keeps working across a server restart. SIGTERM stops the server
// and its instance agents (with their execution environments); starting it again on the same data
// dir and port brings the fleet back, and invocations work again without republishing.
//
// Run: node --test --test-concurrency=1 test/integration/restart.test.mjs
// (needs test/compat/node_modules: `npm ci` in test/compat; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../compat/lib/server.mjs';
import {
  createActiveCapacityProvider,
  makeClient,
  sleep,
  uniqueName,
  waitFunctionSettled,
} from '../compat/lib/lambda.mjs';
import {
  deployFunction,
  environmentProcesses,
  invokeOk,
  tryInvoke,
  versionState,
  waitEnvironmentCount,
} from '../compat/lib/dataplane.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const AGENTS_EXIT_MS = 5_000; // agents (and their environments) are gone this long after the server
const RECOVER_MS = 10_000; // invocations work again this long after the restarted server is healthy

const HANDLER = `import os


def handler(event, context):
    return {"echo": event, "version": context.function_version,
            "stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")}
`;

/** Whether a process exists and is not a zombie (Linux: /proc/<pid>/stat). */
function isAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('restart: stop the server with SIGTERM and start it again', { timeout: 180_000 }, () => {
  let server;
  let client;
  let fn;

  before(async () => {
    server = await startServer();
    client = makeClient(server.endpoint, { requestTimeout: 10_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('rs-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 16, ScalingMode: 'Auto' },
    });
    fn = await deployFunction(client, {
      name: uniqueName('rs-fn'),
      cpArn: cp.CapacityProviderArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 2,
    });
  });

  after(async () => {
    client?.destroy();
    if (server) await server.stop(); // also SIGKILLs agents left behind
  });

  it('agents exit with the server; after the restart the version is Active and invocable', async () => {
    const port = server.port;
    const first = await invokeOk(client, fn.name, { n: 1 }, { Qualifier: fn.version });
    assert.deepEqual(first.json.echo, { n: 1 });
    assert.equal(first.executedVersion, '1');

    const ees = await waitEnvironmentCount(port, fn.name, fn.version, 3);
    const agents = server.agentPids();
    assert.equal(agents.length, 3, `three agents before the restart (${agents.join(', ')})`);
    const streamsBefore = new Set(ees.map((e) => e.stream));

    // --- stop ------------------------------------------------------------------------------
    const tStop = performance.now();
    const exit = await server.halt();
    const serverExitMs = performance.now() - tStop;
    assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `clean exit after SIGTERM: ${JSON.stringify(exit)}`);
    // Agents (found by command line, and by the pids seen before) and their environments.
    const running = () => [...new Set([...server.agentPids(), ...agents.filter(isAlive)])];
    const strays = () => ees.map((e) => e.pid).filter(isAlive);
    while ((running().length > 0 || strays().length > 0) && performance.now() - tStop < serverExitMs + AGENTS_EXIT_MS) {
      await sleep(50);
    }
    const agentsGoneMs = performance.now() - tStop;
    assert.deepEqual(running(), [], `agents of port ${port} still running ${AGENTS_EXIT_MS} ms after the server exited`);
    assert.deepEqual(strays(), [], 'the execution environments exited with their agents');

    // --- start again -----------------------------------------------------------------------
    client.destroy();
    const tStart = performance.now();
    await server.start(); // same data dir and port; waits for /healthz
    assert.equal(server.port, port, 'same port');
    const healthyMs = performance.now() - tStart;
    client = makeClient(server.endpoint, { requestTimeout: 10_000 });
    // The version stays Active across the restart: nothing to republish.
    assert.equal(await versionState(client, fn.name, fn.version), 'Active', 'State right after the restart');

    // Without republishing: poll until an invocation succeeds.
    const seen = [];
    let ok;
    while (!ok && performance.now() - tStart < healthyMs + RECOVER_MS) {
      const r = await tryInvoke(client, fn.name, { n: 2 }, { Qualifier: fn.version });
      if (r.ok && !r.functionError) ok = r;
      else {
        const what = r.ok ? `FunctionError ${r.functionError}` : `${r.name} (HTTP ${r.status})`;
        if (seen.at(-1)?.what !== what) seen.push({ what, at: Math.round(performance.now() - tStart) });
        await sleep(100);
      }
    }
    const recoveredMs = performance.now() - tStart;
    console.log(
      `[measured] server exit ${serverExitMs.toFixed(0)} ms after SIGTERM, agents gone after ${agentsGoneMs.toFixed(0)} ms; ` +
        `restarted server healthy after ${healthyMs.toFixed(0)} ms, first successful invoke ${recoveredMs.toFixed(0)} ms ` +
        `after the start; answers before that: ${JSON.stringify(seen)}`,
    );
    assert.ok(ok, `no successful invoke within ${RECOVER_MS} ms of the restart; answers: ${JSON.stringify(seen)}`);
    assert.deepEqual(ok.json.echo, { n: 2 });
    assert.equal(ok.executedVersion, '1');
    // Whatever was answered while the fleet came back must have been a clean AWS error.
    for (const s of seen) {
      assert.match(s.what, /^(TooManyRequestsException \(HTTP 429\)|ResourceConflictException \(HTTP 409\))$/, 'answer while recovering');
    }

    const cfg = await waitFunctionSettled(client, fn.name, { qualifier: fn.version, allowPending: true });
    assert.equal(cfg.State, 'Active', `version 1 after the restart: ${cfg.State} (${cfg.StateReasonCode}: ${cfg.StateReason})`);
    assert.equal(cfg.Version, '1');

    // The fleet is rebuilt: three new environments on three new agents.
    const after = await waitEnvironmentCount(server.port, fn.name, fn.version, 3, 10_000);
    assert.equal(new Set(after.map((e) => e.agentPid)).size, 3, 'one environment per agent');
    assert.ok(after.every((e) => !agents.includes(e.agentPid)), 'new agent processes');
    assert.ok(after.every((e) => !streamsBefore.has(e.stream)), 'new execution environments');
    const more = await Promise.all(
      Array.from({ length: 6 }, (_, i) => invokeOk(client, fn.name, { i }, { Qualifier: fn.version })),
    );
    assert.ok(more.every((r) => r.executedVersion === '1'));
    assert.equal(environmentProcesses(server.port, fn.name, fn.version).length, 3);
  });
});
