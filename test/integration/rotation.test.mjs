// Instance rotation under load: with a short maximum lifetime, every instance is replaced (new
// EEs first, then the old ones drain, then the instance goes) and no request fails.
//
// Run: node --test --test-concurrency=1 test/integration/rotation.test.mjs
// (needs root and test/compat/node_modules; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployFunction } from '../compat/lib/dataplane.mjs';
import { createActiveCapacityProvider, eventually, makeClient, sleep, uniqueName } from '../compat/lib/lambda.mjs';
import { startServer } from '../compat/lib/server.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const LIFETIME_S = 20;
const HANDLER = Buffer.from(`import time
def handler(event, context):
    time.sleep(0.2)
    return {"ok": True}
`);

async function getJson(endpoint, path) {
  const res = await fetch(`${endpoint}${path}`);
  assert.equal(res.status, 200);
  return res.json();
}

describe('rotation: instances past their lifetime are replaced', { timeout: 180_000 }, () => {
  let server;
  let client;
  let fn;

  before(async () => {
    server = await startServer({ args: ['--instance-max-lifetime-seconds', String(LIFETIME_S)] });
    client = makeClient(server.endpoint, { requestTimeout: 60_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('rot-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 32, ScalingMode: 'Auto' },
    });
    fn = await deployFunction(client, {
      name: uniqueName('rot-fn'),
      cpArn: cp.CapacityProviderArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 4,
      minEEs: 3,
      maxEEs: 3,
      timeout: 5,
    });
  });

  after(async () => {
    client?.destroy();
    if (server) await server.stop();
  });

  it('replaces every instance without failing a request', async () => {
    await sleep(1500); // a sample after Active
    const first = (await getJson(server.endpoint, '/_hearth/v1/metrics')).Instances.map((i) => i.InstanceId);
    assert.equal(first.length, 3);
    const url = `${server.endpoint}/2015-03-31/functions/${fn.name}/invocations?Qualifier=${fn.version}`;
    let loading = true;
    const outcomes = { ok: 0, other: [] };
    const callers = Array.from({ length: 4 }, async () => {
      while (loading) {
        const res = await fetch(url, { method: 'POST', body: '{}' });
        const text = await res.text();
        if (res.status === 200 && !res.headers.get('x-amz-function-error')) outcomes.ok++;
        else outcomes.other.push(`${res.status} ${text.slice(0, 120)}`);
      }
    });
    try {
      await eventually(async () => {
        const a = await getJson(server.endpoint, '/_hearth/v1/activity?limit=2000');
        const rotated = new Set(
          a.Entries.filter((e) => e.Kind === 'TerminateInstance' && /^rotated/.test(e.Reason)).map((e) => e.Subject),
        );
        return first.every((id) => rotated.has(id));
      }, { timeout: 90_000, interval: 500, what: 'every first instance rotated' });
      await sleep(1000); // load on the replacements
    } finally {
      loading = false;
      await Promise.all(callers);
    }
    const now = (await getJson(server.endpoint, '/_hearth/v1/metrics')).Instances.map((i) => i.InstanceId);
    console.log(`[figure] rotation: ${outcomes.ok} ok, ${outcomes.other.length} not; instances ${first.join(',')} -> ${now.join(',')}`);
    assert.deepEqual(outcomes.other, [], 'no request fails during rotation');
    assert.ok(outcomes.ok > 100);
    assert.ok(now.every((id) => !first.includes(id)), 'only replacements remain');
  });
});
