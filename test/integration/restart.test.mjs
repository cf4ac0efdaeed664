// Restart: the data plane outlives the server. Local agents keep running when the server stops
// (SIGTERM or kill -9); the restarted server adopts them and their execution environments, so
// the same EEs serve again at once, with no 429 to a function whose EEs are idle, and no log line
// an agent buffered is lost.
//
// Run: node --test --test-concurrency=1 test/integration/restart.test.mjs
// (needs test/compat/node_modules: `npm ci` in test/compat; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../compat/lib/server.mjs';
import { createActiveCapacityProvider, makeClient, sleep, uniqueName } from '../compat/lib/lambda.mjs';
import {
  deployFunction,
  environmentProcesses,
  tryInvoke,
  versionState,
  waitEnvironmentCount,
} from '../compat/lib/dataplane.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SERVE_AGAIN_MS = 1_000; // the same EEs serve within this of /healthz answering
const WORKERS = 3;
const LOG_LINES = 2_000;

const HANDLER = `import os


def handler(event, context):
    if "marker" in event:
        print(event["marker"])
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

/** Every stored log line of a function, through Hearth's log endpoint. */
async function allLogLines(endpoint, name) {
  const lines = [];
  let cursor = 0;
  for (;;) {
    const res = await fetch(`${endpoint}/_hearth/v1/logs/${name}?cursor=${cursor}&limit=10000`);
    assert.equal(res.status, 200);
    const page = await res.json();
    if (page.lines.length === 0) return lines;
    lines.push(...page.lines);
    cursor = page.cursor;
  }
}

describe('restart: the data plane outlives the server', { timeout: 240_000 }, () => {
  let server;
  let client;
  let fn;

  before(async () => {
    server = await startServer();
    client = makeClient(server.endpoint, { requestTimeout: 10_000, connectionTimeout: 1_000 });
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
    if (server) await server.stop(); // also stops the agents
  });

  for (const how of ['SIGTERM', 'kill -9']) {
    it(`after a ${how} and a restart under steady load, the same EEs serve again at once`, async () => {
      const port = server.port;
      const before = await waitEnvironmentCount(port, fn.name, fn.version, 3);
      const agents = server.agentPids();
      assert.equal(agents.length, 3, `three agents (${agents.join(', ')})`);

      const records = [];
      let stop = false;
      async function worker(w) {
        for (let n = 0; !stop; n++) {
          const start = performance.now();
          const r = await tryInvoke(client, fn.name, { w, n }, { Qualifier: fn.version });
          const ok = r.ok && !r.functionError;
          records.push({ start, end: performance.now(), ok, what: ok ? 'ok' : r.ok ? r.functionError : `${r.name} (HTTP ${r.status})` });
          if (!ok) await sleep(20);
        }
      }
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
      await sleep(500);

      const exit = how === 'SIGTERM' ? await server.halt() : await server.kill();
      assert.ok(exit, 'the server exited');
      await sleep(300);
      assert.deepEqual(agents.filter((pid) => !isAlive(pid)), [], 'the agents outlived the server');
      assert.deepEqual(before.map((e) => e.pid).filter((pid) => !isAlive(pid)), [], 'and so did their EEs');

      const tStart = performance.now();
      await server.start(); // same data dir and port; waits for /healthz
      const tHealthy = performance.now();
      assert.equal(server.port, port, 'same port');
      await sleep(2_000);
      stop = true;
      await Promise.all(workers);

      const afterHealthy = records.filter((r) => r.start >= tHealthy);
      const failures = afterHealthy.filter((r) => !r.ok);
      const firstOk = Math.min(...afterHealthy.filter((r) => r.ok).map((r) => r.end));
      console.log(
        `[measured] ${how}: restarted server healthy ${(tHealthy - tStart).toFixed(0)} ms after its start; ` +
          `first success ${(firstOk - tHealthy).toFixed(0)} ms after healthy; ${afterHealthy.length} invokes after ` +
          `healthy, ${failures.length} failed`,
      );
      assert.ok(afterHealthy.length > 10, 'invocations ran after the restart');
      assert.deepEqual(failures.map((r) => r.what), [], 'no invocation after /healthz fails (no 429)');
      assert.ok(firstOk - tHealthy < SERVE_AGAIN_MS, `served ${(firstOk - tHealthy).toFixed(0)} ms after healthy`);
      assert.equal(await versionState(client, fn.name, fn.version), 'Active');

      const after = environmentProcesses(server.port, fn.name, fn.version);
      assert.deepEqual(after.map((e) => e.pid).sort(), before.map((e) => e.pid).sort(), 'the same EE processes');
      assert.deepEqual(after.map((e) => e.stream).sort(), before.map((e) => e.stream).sort(), 'the same EEs');
      assert.deepEqual(server.agentPids().sort(), agents.sort(), 'the same agents');
    });
  }

  it(`no log line is lost across a kill -9 (${LOG_LINES} lines)`, async () => {
    const markers = new Set();
    const per = LOG_LINES / 4;
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < per; i++) {
          const marker = `marker-${w}-${i}-${fn.name}`;
          const r = await tryInvoke(client, fn.name, { marker }, { Qualifier: fn.version });
          assert.ok(r.ok && !r.functionError, `invoke ${marker}: ${r.message ?? r.text}`);
          markers.add(marker);
        }
      }),
    );
    await server.kill(); // at once: lines still buffered in the agents must survive
    await server.start();
    let missing = [];
    const deadline = performance.now() + 15_000;
    do {
      const lines = await allLogLines(server.endpoint, fn.name);
      const seen = new Set();
      for (const line of lines) {
        const m = /marker-\d+-\d+-[\w-]+/.exec(line);
        if (m) seen.add(m[0]);
      }
      missing = [...markers].filter((m) => !seen.has(m));
      if (missing.length > 0) await sleep(200);
    } while (missing.length > 0 && performance.now() < deadline);
    console.log(`[measured] log lines missing after kill -9 and restart: ${missing.length} of ${markers.size}`);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${markers.size} lines lost`);
  });
});

describe('restart: agents that lost their server, and a server that lost an agent', { timeout: 120_000 }, () => {
  let server;
  let client;
  let fn;

  before(async () => {
    server = await startServer({ args: ['--agent-orphan-timeout-ms', '1500'] });
    client = makeClient(server.endpoint, { requestTimeout: 10_000, connectionTimeout: 1_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('rs2-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 16, ScalingMode: 'Auto' },
    });
    fn = await deployFunction(client, {
      name: uniqueName('rs2-fn'),
      cpArn: cp.CapacityProviderArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 2,
    });
  });

  after(async () => {
    client?.destroy();
    if (server) await server.stop();
  });

  it('an agent found gone at the restart has its EEs placed again', async () => {
    const before = await waitEnvironmentCount(server.port, fn.name, fn.version, 3);
    await server.halt();
    const victim = before[0].agentPid;
    process.kill(victim, 'SIGKILL');
    await server.start();
    const after = await waitEnvironmentCount(server.port, fn.name, fn.version, 3, 15_000);
    assert.ok(after.every((e) => e.agentPid !== victim), 'the lost agent is not counted');
    const kept = before.filter((e) => e.agentPid !== victim).map((e) => e.pid);
    assert.deepEqual(kept.filter((pid) => !after.some((e) => e.pid === pid)), [], 'the others were adopted');
    const r = await tryInvoke(client, fn.name, {}, { Qualifier: fn.version });
    assert.ok(r.ok && !r.functionError, `invocable: ${r.message ?? r.text}`);
  });

  it('agents whose server does not come back stop themselves after the orphan timeout', async () => {
    const agents = server.agentPids();
    assert.equal(agents.length, 3);
    await server.halt();
    const t0 = performance.now();
    while (agents.some(isAlive) && performance.now() - t0 < 10_000) await sleep(100);
    const goneMs = performance.now() - t0;
    console.log(`[measured] agents stopped ${goneMs.toFixed(0)} ms after the server (orphan timeout 1500 ms)`);
    assert.deepEqual(agents.filter(isAlive), [], 'every agent stopped by itself');
    assert.ok(goneMs >= 1_000, `not before the timeout (${goneMs.toFixed(0)} ms)`);
    await server.start(); // for after(): nothing left to adopt
  });
});

