// The autoscaler against a real server: load doubles twice, from 6 to 24 callers, on a handler
// that burns 3 ms of CPU and sleeps 200 ms (PerExecutionEnvironmentMaxConcurrency 4, the sandbox
// on). EEs must be added before any throttling sets in, the activity log must say why, and
// GET /metrics must pass promtool.
//
// Run: node --test --test-concurrency=1 test/integration/scaling.test.mjs
// (needs root, test/compat/node_modules and promtool; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { deployFunction, environmentProcesses, tryInvoke, waitEnvironmentCount, waitVersionActive } from '../compat/lib/dataplane.mjs';
import { createActiveCapacityProvider, eventually, makeClient, sdk, sleep, uniqueName } from '../compat/lib/lambda.mjs';
import { startServer } from '../compat/lib/server.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HANDLER = Buffer.from(`import time
def handler(event, context):
    end = time.process_time() + 0.003
    while time.process_time() < end:
        pass
    time.sleep(0.2)
    return {"ok": True}
`);

// Callers over time (ms from the start): two doublings, each spread over 10 s.
const PHASES = [
  { at: 0, callers: 6 },
  { at: 12_000, callers: 6, rampTo: 12, over: 10_000 },
  { at: 30_000, callers: 12, rampTo: 24, over: 10_000 },
  { at: 48_000, callers: 0 },
];

function callersAt(t) {
  let callers = 0;
  for (const p of PHASES) {
    if (t < p.at) break;
    callers = p.rampTo === undefined ? p.callers : p.callers + Math.min(1, (t - p.at) / p.over) * (p.rampTo - p.callers);
  }
  return Math.round(callers);
}

async function getJson(endpoint, path) {
  const res = await fetch(`${endpoint}${path}`);
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
}

describe('scaling: capacity ahead of demand', { timeout: 400_000 }, () => {
  let server;
  let client;
  let fn;
  let cpArn;

  before(async () => {
    server = await startServer();
    client = makeClient(server.endpoint, { requestTimeout: 60_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('sc-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 64, ScalingMode: 'Auto' },
    });
    cpArn = cp.CapacityProviderArn;
    fn = await deployFunction(client, {
      name: uniqueName('sc-fn'),
      cpArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 4,
      timeout: 10,
    });
  });

  after(async () => {
    client?.destroy();
    if (server) await server.stop();
  });

  it('adds EEs before throttling as load doubles twice', async () => {
    const url = `${server.endpoint}/2015-03-31/functions/${fn.name}/invocations?Qualifier=${encodeURIComponent(fn.version)}`;
    const t0 = performance.now();
    const end = PHASES.at(-1).at;
    let ok = 0;
    let failed = 0;
    const throttledAt = [];
    async function caller(index) {
      for (;;) {
        const t = performance.now() - t0;
        if (t >= end) return;
        if (index >= callersAt(t)) {
          await sleep(50);
          continue;
        }
        const res = await fetch(url, { method: 'POST', body: '{}' });
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else if (res.status === 429) {
          throttledAt.push(performance.now() - t0);
          await sleep(20);
        } else failed++;
      }
    }
    // The fleet twice a second: Ready EEs of the version.
    const timeline = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await getJson(server.endpoint, '/_hearth/v1/metrics');
        const v = (m.Versions ?? []).find((x) => x.FunctionName === fn.name && x.Version === fn.version);
        if (v) timeline.push({ t: performance.now() - t0, ready: v.ReadyExecutionEnvironments, desired: v.DesiredExecutionEnvironments });
        await sleep(500);
      }
    })();
    const activityBefore = (await getJson(server.endpoint, '/_hearth/v1/activity?after=0&limit=2000')).Next;
    await Promise.all(Array.from({ length: 24 }, (_, i) => caller(i)));
    sampling = false;
    await sampler;

    const activity = (await getJson(server.endpoint, `/_hearth/v1/activity?after=${activityBefore}&limit=2000`)).Entries;
    const scaleOuts = activity.filter((e) => e.Kind === 'ScaleOut' && e.FunctionName === fn.name);
    const firstScaleOut = scaleOuts.length ? Date.parse(scaleOuts[0].Time) : undefined;
    const readyMax = Math.max(...timeline.map((s) => s.ready));
    const total = ok + throttledAt.length + failed;
    console.log(
      `[figure] ${total} requests: ${ok} ok, ${throttledAt.length} throttled (${((100 * throttledAt.length) / total).toFixed(2)}%), ` +
        `${failed} failed; ready EEs ${timeline[0]?.ready} → max ${readyMax}; ${scaleOuts.length} scale-outs: ` +
        scaleOuts.map((e) => `${e.From}→${e.To}`).join(' '),
    );
    console.log(`[figure] timeline ${timeline.map((s) => `${(s.t / 1000).toFixed(1)}s:${s.ready}/${s.desired}`).join(' ')}`);

    assert.equal(failed, 0, 'no request fails');
    assert.ok(scaleOuts.length > 0, 'the scaler scaled out');
    assert.match(scaleOuts[0].Reason, /^scale out: /);
    assert.ok('burst_load' in scaleOuts[0].Inputs, 'the decision records its inputs');
    assert.ok(readyMax >= 8, `24 callers of 200 ms at 4 per EE need at least 6 EEs at 100%, 12 at the target; saw ${readyMax}`);
    if (throttledAt.length > 0) {
      const firstThrottleWall = performance.timeOrigin + t0 + throttledAt[0];
      assert.ok(firstScaleOut < firstThrottleWall, 'EEs were added before throttling set in');
    }
    assert.ok(throttledAt.length <= 0.01 * total, `throttles stay under 1%: ${throttledAt.length} of ${total}`);
  });

  it('serves /metrics in the Prometheus text format', async () => {
    const res = await fetch(`${server.endpoint}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, new RegExp(`hearth_invocations_total\\{function="${fn.name}",version="[^"]+"\\} [1-9]`));
    assert.match(text, /hearth_execution_environment_concurrency_limit\{/);
    assert.match(text, /hearth_cost_dollars_total\{capacity_provider="[^"]+",component="instances"\} /);
    // promtool exits non-zero on a parse error; lint findings (naming advice) are printed only.
    let out = '';
    try {
      out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      const problems = `${err.stdout ?? ''}${err.stderr ?? ''}`;
      assert.doesNotMatch(problems, /error while linting|text format parsing error|parse/i, problems);
      out = problems;
    }
    if (out.trim()) console.log(`[figure] promtool: ${out.trim().split('\n').length} lint notes`);
  });

  it('reports cost per capacity provider and function', async () => {
    const cost = await getJson(server.endpoint, '/_hearth/v1/cost');
    assert.equal(cost.Currency, 'USD');
    const f = cost.Functions.find((x) => x.FunctionName === fn.name);
    assert.ok(f && f.Requests > 0 && f.InstanceCost > 0, JSON.stringify(cost));
    assert.ok(cost.Total > 0);
    const p = cost.CapacityProviders[0];
    assert.ok(Math.abs(p.ManagementFee - 0.15 * p.InstanceCost) < 1e-12);
  });

  it('deactivates at Min = Max = 0, drains, and reactivates on a non-zero config', async () => {
    const f = await deployFunction(client, {
      name: uniqueName('sc-deact'),
      cpArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 4,
    });
    await waitEnvironmentCount(server.port, f.name, f.version, 3);
    // An invocation in flight while the version deactivates still completes.
    const inFlight = tryInvoke(client, f.name, {}, { Qualifier: f.version });
    await sleep(50);
    const put = await client.send(new sdk.PutFunctionScalingConfigCommand({
      FunctionName: f.name, Qualifier: f.version,
      FunctionScalingConfig: { MinExecutionEnvironments: 0, MaxExecutionEnvironments: 0 },
    }));
    assert.equal(put.FunctionState, 'Deactivating');
    const done = await inFlight;
    assert.ok(done.ok && !done.functionError, `the in-flight invocation completes: ${done.message ?? ''}`);
    await eventually(async () => {
      const c = await client.send(new sdk.GetFunctionConfigurationCommand({ FunctionName: f.name, Qualifier: f.version }));
      return c.State === 'Deactivated';
    }, { timeout: 30_000, what: 'Deactivated' });
    assert.equal(environmentProcesses(server.port, f.name, f.version).length, 0, 'no EE is left');
    const refused = await tryInvoke(client, f.name, {}, { Qualifier: f.version });
    assert.equal(refused.name, 'ResourceConflictException', `${refused.name}: ${refused.message}`);
    assert.match(refused.message, /Deactivated/);

    const again = await client.send(new sdk.PutFunctionScalingConfigCommand({
      FunctionName: f.name, Qualifier: f.version,
      FunctionScalingConfig: { MinExecutionEnvironments: 2, MaxExecutionEnvironments: 4 },
    }));
    assert.equal(again.FunctionState, 'Pending');
    await waitVersionActive(client, f.name, f.version);
    const served = await tryInvoke(client, f.name, {}, { Qualifier: f.version });
    assert.ok(served.ok && !served.functionError, 'it serves again');
    await waitEnvironmentCount(server.port, f.name, f.version, 2);
  });

  it('reports reaching MaxVCpuCount in the activity log and the state reason', async () => {
    const small = await createActiveCapacityProvider(client, uniqueName('sc-small'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 12, ScalingMode: 'Auto' },
    });
    const f = await deployFunction(client, {
      name: uniqueName('sc-cap'),
      cpArn: small.CapacityProviderArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 1,
    });
    const url = `${server.endpoint}/2015-03-31/functions/${f.name}/invocations?Qualifier=${encodeURIComponent(f.version)}`;
    let loading = true;
    // 16 callers of 200 ms at 1 per EE want 32 EEs; 12 vCPUs hold 12.
    const callers = Array.from({ length: 16 }, async () => {
      while (loading) {
        const res = await fetch(url, { method: 'POST', body: '{}' });
        await res.arrayBuffer();
        if (res.status !== 200) await sleep(20);
      }
    });
    let entry;
    try {
      await eventually(async () => {
        const a = await getJson(server.endpoint, '/_hearth/v1/activity?limit=2000');
        entry = a.Entries.find((e) => e.Kind === 'LimitReached' && e.FunctionName === f.name);
        return entry !== undefined;
      }, { timeout: 30_000, what: 'a LimitReached entry' });
      const c = await client.send(new sdk.GetFunctionConfigurationCommand({ FunctionName: f.name, Qualifier: f.version }));
      assert.equal(c.State, 'Active');
      assert.equal(c.StateReasonCode, 'CapacityProviderScalingLimitExceeded');
      assert.match(c.StateReason, /MaxVCpuCount of 12/);
    } finally {
      loading = false;
      await Promise.all(callers);
    }
    assert.match(entry.Reason, /MaxVCpuCount of 12/);
    const m = await getJson(server.endpoint, '/_hearth/v1/metrics');
    const p = m.CapacityProviders.find((x) => x.CapacityProviderName === small.CapacityProviderArn.split(':').pop());
    assert.ok(p.VCpus <= 12, `the provider stays within MaxVCpuCount: ${p.VCpus}`);
  });
});
