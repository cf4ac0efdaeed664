// Drain, never cut: a $LATEST.PUBLISHED rollover and a scale-in from 3 EEs to 1 while 20
// invocations of 10 s each are in flight. Every one succeeds: an EE leaves the routing table
// first, refuses new invocations, finishes what it has, and only then stops.
//
// Run: node --test --test-concurrency=1 test/integration/drain.test.mjs
// (needs test/compat/node_modules: `npm ci` in test/compat; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../compat/lib/server.mjs';
import {
  createActiveCapacityProvider,
  makeClient,
  sdk,
  sleep,
  uniqueName,
  waitFunctionSettled,
} from '../compat/lib/lambda.mjs';
import {
  deployFunction,
  tryInvoke,
  waitEnvironmentCount,
  waitVersionActive,
} from '../compat/lib/dataplane.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { PublishVersionCommand, PutFunctionScalingConfigCommand, UpdateFunctionConfigurationCommand } = sdk;

const IN_FLIGHT = 20;
const SLEEP_S = 10;

const HANDLER = `import os
import time


def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"tag": os.environ.get("TAG"), "stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")}
`;

const zip = () => makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]);

function summarise(results) {
  return results
    .filter((r) => !r.ok || r.functionError)
    .map((r) => (r.ok ? `${r.functionError}: ${r.text.slice(0, 160)}` : `${r.name} (HTTP ${r.status}): ${r.message}`));
}

describe('drain: no invocation fails when EEs are replaced or removed', { timeout: 240_000 }, () => {
  let server;
  let client;
  let cpArn;

  before(async () => {
    server = await startServer();
    client = makeClient(server.endpoint, { requestTimeout: 90_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('drain-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 32, ScalingMode: 'Auto' },
    });
    cpArn = cp.CapacityProviderArn;
  });

  after(async () => {
    client?.destroy();
    if (server) await server.stop();
  });

  it(`a $LATEST.PUBLISHED rollover with ${IN_FLIGHT} invocations of ${SLEEP_S} s in flight`, async () => {
    const fn = await deployFunction(client, {
      name: uniqueName('drain-roll'),
      cpArn,
      zip: zip(),
      timeout: 60,
      concurrency: 8,
      environment: { TAG: 'a' },
      publishTo: 'LATEST_PUBLISHED',
      minEEs: 3,
      maxEEs: 3, // a fixed fleet: the EEs replaced are the rollover's, not the scaler's
    });
    assert.equal(fn.version, '$LATEST.PUBLISHED');
    await waitEnvironmentCount(server.port, fn.name, fn.version, 3);
    const started = Date.now();
    const inFlight = Array.from({ length: IN_FLIGHT }, () => tryInvoke(client, fn.name, { sleep: SLEEP_S }));
    await sleep(1500);
    await client.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: fn.name, Environment: { Variables: { TAG: 'b' } } }),
    );
    await waitFunctionSettled(client, fn.name, { allowPending: true });
    await client.send(new PublishVersionCommand({ FunctionName: fn.name, PublishTo: 'LATEST_PUBLISHED' }));
    await waitVersionActive(client, fn.name, '$LATEST.PUBLISHED', 30_000);

    const results = await Promise.all(inFlight);
    const elapsed = Date.now() - started;
    assert.deepEqual(summarise(results), [], 'every in-flight invocation succeeds');
    assert.ok(results.every((r) => r.json?.tag === 'a'), 'in-flight invocations ran on the old deployment');
    console.log(`[figure] rollover: ${results.length}/${IN_FLIGHT} succeeded, batch ${elapsed} ms`);

    // The new deployment serves, and the old EEs are gone once drained.
    const fresh = await tryInvoke(client, fn.name, {});
    assert.ok(fresh.ok && !fresh.functionError, `a new invoke succeeds: ${fresh.message ?? fresh.text}`);
    assert.equal(fresh.json.tag, 'b');
    await waitEnvironmentCount(server.port, fn.name, fn.version, 3, 30_000);
  });

  it(`a scale-in from 3 EEs to 1 with ${IN_FLIGHT} invocations of ${SLEEP_S} s in flight`, async () => {
    const fn = await deployFunction(client, {
      name: uniqueName('drain-scale'),
      cpArn,
      zip: zip(),
      timeout: 60,
      // Room for new invocations on the EE that stays (the busiest one) while the others drain.
      concurrency: 16,
      minEEs: 3,
    });
    await waitEnvironmentCount(server.port, fn.name, fn.version, 3);
    const started = Date.now();
    const inFlight = Array.from({ length: IN_FLIGHT }, () =>
      tryInvoke(client, fn.name, { sleep: SLEEP_S }, { Qualifier: fn.version }),
    );
    await sleep(1500);
    await client.send(
      new PutFunctionScalingConfigCommand({
        FunctionName: fn.name,
        Qualifier: fn.version,
        FunctionScalingConfig: { MinExecutionEnvironments: 1, MaxExecutionEnvironments: 1 },
      }),
    );
    // New invocations keep being served by the EE that stays while the others drain.
    await sleep(1000);
    const during = await tryInvoke(client, fn.name, {}, { Qualifier: fn.version });
    assert.ok(during.ok && !during.functionError, `an invoke during the drain succeeds: ${during.message ?? during.text}`);

    const results = await Promise.all(inFlight);
    const elapsed = Date.now() - started;
    assert.deepEqual(summarise(results), [], 'every in-flight invocation succeeds');
    console.log(`[figure] scale-in: ${results.length}/${IN_FLIGHT} succeeded, batch ${elapsed} ms`);
    await waitEnvironmentCount(server.port, fn.name, fn.version, 1, 30_000);
  });
});
