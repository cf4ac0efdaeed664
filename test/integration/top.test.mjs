// `hearth top` in a real terminal (tmux): while a function is loaded, the EE count it shows
// grows as the scaler adds EEs.
//
// Run: node --test --test-concurrency=1 test/integration/top.test.mjs
// (needs root, tmux and test/compat/node_modules; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { deployFunction } from '../compat/lib/dataplane.mjs';
import { createActiveCapacityProvider, eventually, makeClient, sleep, uniqueName } from '../compat/lib/lambda.mjs';
import { HEARTH_BIN, startServer } from '../compat/lib/server.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HANDLER = Buffer.from(`import time
def handler(event, context):
    time.sleep(0.3)
    return {"ok": True}
`);
const SESSION = `hearth-top-${process.pid}`;

const tmux = (...args) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', SESSION);
/** The EE count of the frame on screen, or undefined before the first frame. */
function shownEnvironments() {
  const m = screen().match(/^(\d+) execution environments$/m);
  return m ? Number(m[1]) : undefined;
}

describe('hearth top in a terminal', { timeout: 180_000 }, () => {
  let server;
  let client;
  let fn;

  before(async () => {
    server = await startServer();
    client = makeClient(server.endpoint, { requestTimeout: 60_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('top-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 64, ScalingMode: 'Auto' },
    });
    fn = await deployFunction(client, {
      name: uniqueName('top-fn'),
      cpArn: cp.CapacityProviderArn,
      zip: makeZip([{ name: 'lambda_function.py', data: HANDLER, mode: 0o100644 }]),
      concurrency: 2,
      timeout: 10,
    });
    tmux('new-session', '-d', '-s', SESSION, '-x', '200', '-y', '60',
      `${HEARTH_BIN} top --function ${fn.name} --interval-ms 300 --endpoint ${server.endpoint}`);
  });

  after(async () => {
    try {
      tmux('kill-session', '-t', SESSION);
    } catch {}
    client?.destroy();
    if (server) await server.stop();
  });

  it('shows the EEs of a loaded function change as it scales', async () => {
    // The frame is a second's sample: it catches up with the Active version within a second.
    const threeReady = new RegExp(`${fn.name}\\s+\\S+\\s+3\\s`);
    await eventually(() => shownEnvironments() === 3 && threeReady.test(screen()), {
      timeout: 15_000,
      what: 'top shows the 3 minimum EEs, Ready',
    });
    const url = `${server.endpoint}/2015-03-31/functions/${fn.name}/invocations?Qualifier=${encodeURIComponent(fn.version)}`;
    let loading = true;
    const callers = Array.from({ length: 16 }, async () => {
      while (loading) {
        const res = await fetch(url, { method: 'POST', body: '{}' });
        await res.arrayBuffer();
        if (res.status !== 200) await sleep(20);
      }
    });
    try {
      // 16 callers of 300 ms at 2 per EE want 16 EEs at the 50% target.
      await eventually(() => (shownEnvironments() ?? 0) >= 8, { timeout: 30_000, what: 'top shows the EEs added' });
    } finally {
      loading = false;
      await Promise.all(callers);
    }
    const frame = screen();
    console.log(`[figure] hearth top under load:\n${frame.split('\n').filter((l) => l.trim()).slice(0, 30).join('\n')}`);
    assert.match(frame, /hearth top · http:\/\/127\.0\.0\.1:\d+ · \d{4}-\d\d-\d\dT/);
    assert.match(frame, /CAPACITY PROVIDER/);
    assert.match(frame, new RegExp(`ee-\\S+\\s+${fn.name}\\s`), 'EE rows of the function');
  });
});
