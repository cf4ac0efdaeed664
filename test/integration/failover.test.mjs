// Failover: kill -9 one instance agent while a steady load runs, and check that the clients see
// no hangs and no broken connections, that invocations succeed again within 2 s on every worker,
// and that the fleet is back to three environments (one per zone) within ~10 s.
//
// Run: node --test --test-concurrency=1 test/integration/failover.test.mjs
// (needs test/compat/node_modules: `npm ci` in test/compat; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../compat/lib/server.mjs';
import { createActiveCapacityProvider, makeClient, sleep, uniqueName } from '../compat/lib/lambda.mjs';
import {
  deployFunction,
  environmentProcesses,
  percentile,
  tryInvoke,
  waitEnvironmentCount,
} from '../compat/lib/dataplane.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const WORKERS = 6;
const LOAD_MS = 6_000;
const KILL_AT_MS = 1_500;
const REQUEST_TIMEOUT_MS = 10_000; // a single invoke (a 200 ms handler) must answer within this
const RECOVER_INVOKES_MS = 2_000; // every worker succeeds again within this of the kill
const RECOVER_FLEET_MS = 10_000; // three environments on three live agents within this of the kill

// Records each execution (invocation id and environment) in a file shared by all local
// environments, best effort, so the test can tell whether an invocation ran more than once.
const HANDLER = `import os
import time


def handler(event, context):
    record = event.get("record")
    if record:
        try:
            with open(record, "a") as fh:
                fh.write("%s %s\\n" % (event["id"], os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")))
        except OSError:
            pass
    time.sleep(event.get("sleep", 0))
    return {"stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")}
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

/** A failed invoke is clean when it is an AWS error answer (HTTP status + typed name), not a broken socket. */
function isCleanAwsError(r) {
  return (
    typeof r.status === 'number' &&
    r.status >= 400 &&
    r.status < 600 &&
    !['Error', 'TimeoutError', 'AbortError', 'UnknownError'].includes(r.name) &&
    r.ms < REQUEST_TIMEOUT_MS
  );
}

describe('failover: kill -9 of an agent under load', { timeout: 240_000 }, () => {
  let server;
  let client;
  let fn;
  let recordDir;
  let recordFile;
  const sent = new Map(); // invocation id -> { start, end, ok } of the load phase

  before(async () => {
    recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-failover-'));
    recordFile = path.join(recordDir, 'executions');
    // The handler records each execution in a host directory, which only an EE without a
    // sandbox can write: this test is about failover, not isolation.
    server = await startServer({ args: ['--insecure-no-sandbox'] });
    client = makeClient(server.endpoint, { requestTimeout: REQUEST_TIMEOUT_MS });
    const cp = await createActiveCapacityProvider(client, uniqueName('fo-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 32, ScalingMode: 'Auto' },
    });
    assert.equal(cp.VpcConfig.SubnetIds.length, 3, 'three subnets, one zone each');
    fn = await deployFunction(client, {
      name: uniqueName('fo-fn'),
      cpArn: cp.CapacityProviderArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 4,
      minEEs: 3,
      maxEEs: 3, // a fixed fleet: this test is about failover, not scaling
      timeout: 5,
    });
  });

  after(async () => {
    client?.destroy();
    if (server) await server.stop(); // SIGTERM, then SIGKILL for any agent still running
    if (recordDir) fs.rmSync(recordDir, { recursive: true, force: true });
  });

  it('every invocation completes, failures are clean, service and fleet recover', async () => {
    const port = server.port;
    const envs = await waitEnvironmentCount(port, fn.name, fn.version, 3);
    const agentsBefore = server.agentPids();
    assert.equal(agentsBefore.length, 3, `three agents (one per zone), found ${agentsBefore.join(', ')}`);
    assert.equal(new Set(envs.map((e) => e.agentPid)).size, 3, 'one environment per agent');
    const streamsBefore = new Set(envs.map((e) => e.stream));

    // Warm-up: every environment answers.
    const warm = await Promise.all(Array.from({ length: 6 }, () => tryInvoke(client, fn.name, {}, { Qualifier: fn.version })));
    assert.ok(warm.every((r) => r.ok && !r.functionError), 'warm-up invokes succeed');

    const t0 = performance.now();
    const loadEnd = t0 + LOAD_MS;
    let killAt = Infinity;
    let victim;
    let victimEnvironment;

    async function worker(w) {
      const recs = [];
      for (let n = 0; performance.now() < loadEnd; n++) {
        const id = `w${w}-${n}`;
        const start = performance.now();
        const r = await tryInvoke(client, fn.name, { sleep: 0.2, id, record: recordFile }, { Qualifier: fn.version });
        const end = performance.now();
        sent.set(id, { start, end, ok: r.ok && !r.functionError });
        recs.push({
          w,
          start,
          end,
          ok: r.ok && !r.functionError,
          functionError: r.ok ? r.functionError : undefined,
          name: r.ok ? undefined : r.name,
          status: r.ok ? r.status : r.status,
          message: r.ok ? (r.functionError ? r.text.slice(0, 200) : undefined) : r.message,
          clean: r.ok || isCleanAwsError(r),
          ms: end - start,
          stream: r.ok ? r.json?.stream : undefined,
        });
        if (!r.ok) await sleep(20); // errors answer fast: do not spin
      }
      return recs;
    }

    async function killer() {
      await sleep(KILL_AT_MS);
      // The agent hosting one of this function's environments (every agent hosts one).
      const current = environmentProcesses(port, fn.name, fn.version);
      victim = current[0]?.agentPid;
      victimEnvironment = current[0]?.pid;
      assert.ok(victim, 'an agent to kill');
      killAt = performance.now();
      process.kill(victim, 'SIGKILL');
    }

    // Watches the fleet from the kill on: three live agents (none of them the victim) running one
    // environment of the function each.
    let fleetBackAt;
    let lastFleet = '';
    async function fleetWatch() {
      while (killAt === Infinity) await sleep(20);
      while (performance.now() - killAt < RECOVER_FLEET_MS + 2_000) {
        const agents = server.agentPids();
        const ees = environmentProcesses(port, fn.name, fn.version);
        lastFleet = `agents ${agents.join(',')}; environments ${ees.map((e) => `${e.pid}@${e.agentPid}`).join(',')}`;
        if (
          agents.length === 3 &&
          !agents.includes(victim) &&
          ees.length === 3 &&
          new Set(ees.map((e) => e.agentPid)).size === 3 &&
          ees.every((e) => agents.includes(e.agentPid))
        ) {
          fleetBackAt = performance.now();
          return ees;
        }
        await sleep(50);
      }
      return null;
    }

    const [results, , eesAfter] = await Promise.all([
      Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w))),
      killer(),
      fleetWatch(),
    ]);
    const recs = results.flat();

    // --- figures ---------------------------------------------------------------------------
    const failures = recs.filter((r) => !r.ok);
    const byKind = {};
    for (const r of failures) {
      const kind = r.functionError ? `FunctionError:${r.functionError}` : `${r.name} (HTTP ${r.status})`;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
    }
    const recovery = results.map((list) => {
      const first = list.find((r) => r.ok && r.start >= killAt);
      return first ? first.end - killAt : Infinity;
    });
    const afterKill = recs.filter((r) => r.start >= killAt);
    const fleetMs = fleetBackAt !== undefined ? fleetBackAt - killAt : Infinity;
    console.log(
      `[measured] ${recs.length} invocations by ${WORKERS} workers over ${LOAD_MS} ms; killed agent ${victim} at ` +
        `${(killAt - t0).toFixed(0)} ms; failures ${failures.length} ${JSON.stringify(byKind)}`,
    );
    console.log(
      `[measured] first success after the kill per worker (ms): ${recovery.map((x) => x.toFixed(0)).join(', ')}; ` +
        `latency p50 ${percentile(recs.map((r) => r.ms), 50).toFixed(0)} ms, max ${Math.max(...recs.map((r) => r.ms)).toFixed(0)} ms; ` +
        `invocations after the kill ${afterKill.length} (${afterKill.filter((r) => r.ok).length} ok)`,
    );
    console.log(`[measured] fleet back to 3 environments on 3 live agents ${fleetMs.toFixed(0)} ms after the kill`);

    // --- assertions --------------------------------------------------------------------------
    assert.ok(Number.isFinite(killAt), 'the agent was killed during the load');
    assert.ok(recs.length > WORKERS * 5, `the load ran (${recs.length} invocations)`);
    const unclean = failures.filter((r) => !r.clean);
    assert.deepEqual(
      unclean.map((r) => `${r.name} (HTTP ${r.status}) after ${r.ms.toFixed(0)} ms: ${r.message}`),
      [],
      'failures must be AWS error answers or function errors, never broken connections or hangs',
    );
    assert.ok(
      recs.every((r) => r.ms < REQUEST_TIMEOUT_MS),
      `an invocation took ${Math.max(...recs.map((r) => r.ms)).toFixed(0)} ms`,
    );
    for (let w = 0; w < WORKERS; w++) {
      assert.ok(
        recovery[w] < RECOVER_INVOKES_MS,
        `worker ${w}: first success ${recovery[w].toFixed(0)} ms after the kill (limit ${RECOVER_INVOKES_MS})`,
      );
    }
    assert.ok(!isAlive(victimEnvironment), `the killed agent's environment (pid ${victimEnvironment}) is gone too`);
    assert.ok(eesAfter, `fleet not back to 3 environments within ${RECOVER_FLEET_MS} ms of the kill; last: ${lastFleet}`);
    assert.ok(fleetMs < RECOVER_FLEET_MS, `fleet back after ${fleetMs.toFixed(0)} ms (limit ${RECOVER_FLEET_MS})`);

    // Continued service on all three environments, the replacement included: 12 concurrent
    // invokes fill 3 x 4 slots, so every environment takes some.
    const streamsAfter = new Set(eesAfter.map((e) => e.stream));
    const fresh = [...streamsAfter].filter((s) => !streamsBefore.has(s));
    assert.equal(fresh.length, 1, `one new environment replaces the lost one (before ${[...streamsBefore]}, after ${[...streamsAfter]})`);
    // When did the replacement first serve? Look at the load first, then send more if needed.
    const firstByFresh = recs.filter((r) => r.ok && r.stream === fresh[0]).sort((a, b) => a.end - b.end)[0];
    let servedAt = firstByFresh?.end;
    const served = new Set(recs.filter((r) => r.ok).map((r) => r.stream));
    for (let round = 0; round < 10 && !served.has(fresh[0]); round++) {
      const batch = await Promise.all(
        Array.from({ length: 12 }, () => tryInvoke(client, fn.name, { sleep: 0.1 }, { Qualifier: fn.version })),
      );
      const bad = batch.filter((r) => !r.ok || r.functionError);
      assert.deepEqual(
        bad.map((r) => `${r.name ?? r.functionError}: ${r.message ?? r.text}`),
        [],
        'invocations after recovery succeed',
      );
      for (const r of batch) served.add(r.json.stream);
      servedAt = performance.now();
    }
    console.log(
      `[measured] replacement environment first served an invocation ${(servedAt - killAt).toFixed(0)} ms after the kill` +
        (firstByFresh ? ' (during the load)' : ' (after the load)'),
    );
    assert.ok(served.has(fresh[0]), `the replacement environment ${fresh[0]} serves invocations`);
  });

  // Lambda runs a synchronous invocation at most once: only a request that never reached the
  // agent (connect refused) may go to another environment; one lost mid-flight fails cleanly
  // (200 + X-Amz-Function-Error with Runtime.ExitError).
  it(
    'no invocation of the load ran more than once',
    {},
    () => {
      let text;
      try {
        text = fs.readFileSync(recordFile, 'utf8');
      } catch {
        text = '';
      }
      const runs = new Map();
      for (const line of text.split('\n').filter(Boolean)) {
        const [id, stream] = line.split(' ');
        if (!sent.has(id)) continue; // warm-up and post-recovery invokes carry no id
        runs.set(id, [...(runs.get(id) ?? []), stream]);
      }
      assert.ok(runs.size > 0, 'the handler could not record its executions (no shared /tmp?)');
      const twice = [...runs].filter(([, streams]) => streams.length > 1);
      console.log(`[measured] ${runs.size} recorded executions; invocations run more than once: ${twice.length}`);
      assert.deepEqual(
        twice.map(([id, streams]) => `${id}: ${streams.join(' then ')}`),
        [],
        'invocations executed more than once',
      );
    },
  );
});
