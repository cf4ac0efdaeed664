// Hostile functions against the sandbox, on a real server with the sandbox on (its default).
// One Python function (functions/probe.py) probes its own sandbox; a neighbour function on the
// same capacity provider must keep serving, and a process of the host must survive, whatever
// the probe does. Probes that kill, fork or allocate act only once they have proved they run
// inside a sandbox, so this suite cannot harm the machine it runs on.
//
// Run: node --test --test-concurrency=1 test/integration/isolation.test.mjs
// (needs root and test/compat/node_modules; HEARTH_BIN overrides the binary).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deployFunction, invoke, invokeOk } from '../compat/lib/dataplane.mjs';
import { createActiveCapacityProvider, eventually, makeClient, uniqueName } from '../compat/lib/lambda.mjs';
import { startServer } from '../compat/lib/server.mjs';
import { makeZip } from '../compat/lib/zip.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROBE = fs.readFileSync(path.join(HERE, 'functions', 'probe.py'));

/** Every file below `dir` (bounded), for finding code directories on the host. */
function walk(dir, depth = 4) {
  const out = [];
  if (depth < 0) return out;
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory() && !e.isSymbolicLink()) out.push(...walk(p, depth - 1));
  }
  return out;
}

describe('isolation: hostile functions in their sandboxes', { timeout: 240_000 }, () => {
  let server;
  let client;
  let probe;
  let neighbour;
  let sentinel;
  const probeOf = () => `${probe.name}:${probe.version}`;
  const neighbourOf = () => `${neighbour.name}:${neighbour.version}`;
  const run = async (event) => invoke(client, probeOf(), event);
  const runOk = async (event) => (await invokeOk(client, probeOf(), event)).json;

  before(async () => {
    server = await startServer();
    client = makeClient(server.endpoint, { requestTimeout: 60_000 });
    const cp = await createActiveCapacityProvider(client, uniqueName('iso-cp'), {
      CapacityProviderScalingConfig: { MaxVCpuCount: 32, ScalingMode: 'Auto' },
    });
    const zip = makeZip([{ name: 'lambda_function.py', data: PROBE, mode: 0o100644 }]);
    probe = await deployFunction(client, { name: uniqueName('iso-probe'), cpArn: cp.CapacityProviderArn, zip, minEEs: 1, timeout: 60, concurrency: 4 });
    neighbour = await deployFunction(client, {
      name: uniqueName('iso-neighbour'),
      cpArn: cp.CapacityProviderArn,
      zip: makeZip([{ name: 'lambda_function.py', data: Buffer.from(`${PROBE}\n# neighbour\n`), mode: 0o100644 }]),
      minEEs: 1,
      timeout: 60,
      concurrency: 4,
    });
    // A process of the host that nothing may kill.
    sentinel = spawn('sleep', ['600'], { stdio: 'ignore' });
  });

  after(async () => {
    sentinel?.kill('SIGKILL');
    await server?.stop();
  });

  const neighbourServes = async () => {
    const r = await invokeOk(client, neighbourOf(), { probe: 'identity' });
    assert.equal(r.json.sandboxed, true);
  };
  const hostSurvives = () => {
    assert.equal(sentinel.exitCode, null, 'the host process still runs');
    assert.equal(sentinel.signalCode, null, 'the host process was not signalled');
  };

  it('sees its code at /var/task, not the server data or another function code', async () => {
    const id = await runOk({ probe: 'identity' });
    assert.equal(id.cwd, '/var/task');
    assert.equal(id.task_root, '/var/task');
    assert.deepEqual(id.code, ['lambda_function.py']);
    // The neighbour's code and the server's data, at their host paths.
    const files = walk(server.dataDir);
    const neighbourCode = files.find((p) => p.endsWith('lambda_function.py') && fs.readFileSync(p, 'utf8').includes('# neighbour'));
    assert.ok(neighbourCode, 'the neighbour code is on the host');
    const targets = [neighbourCode, path.dirname(neighbourCode), server.dataDir, path.join(server.dataDir, 'hearth.log'), '/etc/shadow', '/root'];
    const seen = await runOk({ probe: 'read', paths: targets });
    for (const target of targets) assert.equal(seen[target], 'ENOENT', `${target}: ${seen[target]}`);
  });

  it('sees only its own processes', async () => {
    const id = await runOk({ probe: 'identity' });
    assert.ok(id.processes <= 8, `sees ${id.processes} processes`);
    assert.equal(id.hostname, 'sandbox');
  });

  it('cannot write outside /tmp', async () => {
    const paths = ['/var/task/x', '/usr/x', '/etc/x', '/x', '/var/runtime/x', '/dev/x', '/proc/sys/kernel/hostname', '/tmp/x'];
    const out = await runOk({ probe: 'write', paths });
    for (const p of paths.slice(0, -1)) assert.match(out[p], /^(EROFS|EACCES|ENOENT|EPERM)$/, `${p}: ${out[p]}`);
    assert.equal(out['/tmp/x'], 'written');
  });

  it('cannot mount, set the hostname, ptrace or unshare', async () => {
    const out = await runOk({ probe: 'privileged' });
    assert.equal(out.mount, 'EPERM');
    assert.equal(out.sethostname, 'EPERM');
    assert.equal(out.ptrace, 'EPERM');
    assert.equal(out.unshare, 'EPERM');
    assert.equal(out.hostname, 'sandbox');
  });

  it('runs unprivileged: no capabilities, no_new_privs and seccomp', async () => {
    const id = await runOk({ probe: 'identity' });
    assert.equal(id.uid, 993);
    assert.equal(id.euid, 993);
    assert.equal(id.CapEff, '0000000000000000');
    assert.equal(id.CapPrm, '0000000000000000');
    assert.equal(id.CapBnd, '0000000000000000');
    assert.equal(id.NoNewPrivs, '1');
    assert.equal(id.Seccomp, '2');
  });

  it('cannot reach the agent, nor another EE Runtime API, from inside', async () => {
    const agentAddress = walk(path.join(server.dataDir, 'instances'), 1).find((p) => p.endsWith('/address'));
    assert.ok(agentAddress, 'an agent address file');
    const [, agentPort] = fs.readFileSync(agentAddress, 'utf8').trim().split(':');
    const targets = [`127.0.0.1:${agentPort}`, `169.254.1.1:${agentPort}`, `127.0.0.1:${server.port}`, `169.254.1.1:${server.port}`, '127.0.0.1:9002'];
    const out = await runOk({ probe: 'connect', targets });
    for (const [target, result] of Object.entries(out)) assert.notEqual(result, 'connected', target);
  });

  it('can reach a server on its instance network (egress)', async () => {
    // The probe closes as soon as it has connected: a reset of the greeting is not an error here.
    const instanceServer = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end('hello from the instance\n');
    });
    await new Promise((resolve) => instanceServer.listen(0, '0.0.0.0', resolve));
    try {
      const port = instanceServer.address().port;
      const out = await runOk({ probe: 'connect', targets: [`169.254.1.1:${port}`] });
      assert.equal(out[`169.254.1.1:${port}`], 'connected');
    } finally {
      instanceServer.close();
    }
  });

  it('keeps four busy processes within one vCPU', async () => {
    const out = await runOk({ probe: 'cpu', processes: 4, seconds: 2 });
    const vcpus = out.cpu / out.wall;
    assert.ok(vcpus <= 1.2, `four busy processes used ${vcpus.toFixed(2)} vCPUs`);
    assert.ok(vcpus >= 0.5, `and still ran (${vcpus.toFixed(2)} vCPUs)`);
  });

  it('runs into its pids limit with a fork bomb while the neighbour keeps serving', async () => {
    const bomb = run({ probe: 'forkbomb' });
    await neighbourServes();
    const r = await bomb;
    assert.equal(r.functionError, undefined, r.text);
    assert.equal(r.json.error, 'EAGAIN', r.text);
    assert.ok(r.json.forked < 1024, `forked ${r.json.forked}`);
    await neighbourServes();
    hostSurvives();
  });

  it('can kill everything it sees without harming its neighbour or the host', async () => {
    const r = await run({ probe: 'killall' });
    assert.equal(r.functionError, 'Unhandled', r.text);
    assert.match(r.text, /Runtime\.ExitError/);
    await neighbourServes();
    hostSurvives();
    // Its EE is replaced and serves again.
    await eventually(async () => (await run({ probe: 'identity' })).functionError === undefined, { timeout: 30_000, what: 'a fresh EE' });
  });

  it('returns Runtime.OutOfMemory when it blows its memory, then gets a fresh EE', async () => {
    const r = await run({ probe: 'oom', mb: 3072 });
    assert.equal(r.functionError, 'Unhandled', r.text);
    assert.equal(r.json.errorType, 'Runtime.OutOfMemory', r.text);
    await neighbourServes();
    await eventually(async () => (await run({ probe: 'identity' })).functionError === undefined, { timeout: 30_000, what: 'a fresh EE' });
  });
});
