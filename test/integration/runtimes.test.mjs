// Runtime identifiers resolve to version-checked runtime roots, on a real server with the
// sandbox on: a runtime whose version this host lacks fails to publish and says how to supply
// it; an operator mapping runs it on another version and is logged as a substitution; a root
// file system directory (standing in for an unpacked base image) becomes the EE's system.
//
// Run: node --test --test-concurrency=1 test/integration/runtimes.test.mjs
// (needs root, unshare(1) and test/compat/node_modules; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deployFunction, invokeOk } from '../compat/lib/dataplane.mjs';
import { createActiveCapacityProvider, makeClient, uniqueName, waitFunctionSettled } from '../compat/lib/lambda.mjs';
import { RUNTIME_SUBSTITUTES, startServer } from '../compat/lib/server.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REPORT = Buffer.from(`import os, sys
def handler(event, context):
    try:
        with open("/etc/os-release") as f:
            os_release = f.read()
    except OSError as e:
        os_release = type(e).__name__
    return {"version": "%d.%d" % sys.version_info[:2], "executable": sys.executable,
            "os_release": os_release}
`);
const zip = makeZip([{ name: 'lambda_function.py', data: REPORT, mode: 0o100644 }]);
const HOST_PYTHON = fs.realpathSync('/usr/bin/python3'); // /usr/bin/python3.11 on Debian 12
const HOST_VERSION = execFileSync(HOST_PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
  encoding: 'utf8',
}).trim();
// Whether this host lacks Python 3.13 (Debian 12 does): the substitutes then map it.
const LACKS_PYTHON_313 = RUNTIME_SUBSTITUTES.some((arg) => arg.startsWith('python3.13='));

/** The server's log and its agents' logs, together. */
function agentLogs(server) {
  const instances = path.join(server.dataDir, 'instances');
  const agents = fs.readdirSync(instances).map((id) => path.join(instances, id, 'agent.log'));
  return [server.logFile, ...agents.filter((f) => fs.existsSync(f))].map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

async function withServer(opts, body) {
  const server = await startServer(opts);
  try {
    const client = makeClient(server.endpoint, { requestTimeout: 60_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('rt-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 16, ScalingMode: 'Auto' },
    });
    await body({ server, client, cpArn: cp.CapacityProviderArn });
  } finally {
    await server.stop();
  }
}

describe('runtimes: version-checked runtime roots', { timeout: 240_000 }, () => {
  it('a version whose runtime this host lacks fails to publish, naming the flag that supplies it', { skip: !LACKS_PYTHON_313 && 'this host has Python 3.13' }, async () => {
    await withServer({ substitutes: false }, async ({ client, cpArn }) => {
      const fn = await deployFunction(client, { name: uniqueName('rt-missing'), cpArn, zip, minEEs: 1, waitActive: false });
      const cfg = await waitFunctionSettled(client, fn.name, { qualifier: fn.version, timeout: 30_000 });
      assert.equal(cfg.State, 'Failed');
      assert.equal(cfg.StateReasonCode, 'InvalidRuntime');
      assert.match(cfg.StateReason, /needs Python 3\.13/);
      assert.match(cfg.StateReason, new RegExp(`${HOST_PYTHON.replace(/\./g, '\\.')}|/usr/bin/python3 is Python ${HOST_VERSION}`));
      assert.match(cfg.StateReason, /hearth up --interpreter python3\.13=PROGRAM/);
      assert.match(cfg.StateReason, /--runtime-root python3\.13=DIR/);
    });
  });

  it('an operator mapping runs the runtime on another version and logs the substitution', async () => {
    const args = ['--interpreter', `python3.13=${HOST_PYTHON}`];
    await withServer({ substitutes: false, args }, async ({ server, client, cpArn }) => {
      const fn = await deployFunction(client, { name: uniqueName('rt-mapped'), cpArn, zip, minEEs: 1 });
      const out = (await invokeOk(client, `${fn.name}:${fn.version}`, {})).json;
      assert.equal(out.version, HOST_VERSION);
      assert.equal(out.executable, HOST_PYTHON);
      const log = agentLogs(server);
      const substitution = `python3.13: ${HOST_PYTHON} (Python ${HOST_VERSION}`;
      assert.ok(log.includes(substitution), `the log names the substitution: ${substitution}`);
      if (LACKS_PYTHON_313) assert.match(log, /an operator substitution for Python 3\.13/);
    });
  });

  describe('a root file system directory', () => {
    // An image-like tree: its own /etc and /var/lang, and this host's /usr bound in (inside the
    // server's private mount namespace, so nothing of it outlives the test).
    let image;
    before(() => {
      image = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-image-'));
      fs.mkdirSync(path.join(image, 'usr'));
      for (const dir of ['bin', 'sbin', 'lib', 'lib64']) {
        if (fs.existsSync(`/${dir}`)) fs.symlinkSync(fs.readlinkSync(`/${dir}`), path.join(image, dir));
      }
      fs.mkdirSync(path.join(image, 'etc'));
      fs.writeFileSync(path.join(image, 'etc', 'os-release'), 'ID=hearth-test-image\n');
      fs.mkdirSync(path.join(image, 'var', 'lang', 'bin'), { recursive: true });
      fs.symlinkSync(HOST_PYTHON, path.join(image, 'var', 'lang', 'bin', 'python3.13'));
    });
    after(() => fs.rmSync(image, { recursive: true, force: true }));

    it('is shown as the EE system, its interpreter found and version-checked inside it', async () => {
      const wrapper = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount --bind /usr "${image}/usr" && exec "$0" "$@"`];
      await withServer({ substitutes: false, wrapper, args: ['--runtime-root', `python3.13=${image}`] }, async ({ server, client, cpArn }) => {
        const fn = await deployFunction(client, { name: uniqueName('rt-image'), cpArn, zip, minEEs: 1 });
        const out = (await invokeOk(client, `${fn.name}:${fn.version}`, {})).json;
        assert.equal(out.os_release, 'ID=hearth-test-image\n', 'the image /etc, not the host one');
        assert.equal(out.executable, '/var/lang/bin/python3.13');
        assert.equal(out.version, HOST_VERSION);
        const log = agentLogs(server);
        assert.ok(log.includes(`python3.13: /var/lang/bin/python3.13 in ${image} (Python ${HOST_VERSION}`), 'the log names the root');
      });
    });
  });
});
