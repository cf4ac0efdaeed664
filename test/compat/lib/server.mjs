// Starts a hearth server for one test file: a free loopback port, a fresh data dir,
// and a /healthz readiness wait. Server output goes to <dataDir>/hearth.log.
//
// Environment:
//   HEARTH_BIN        path of the hearth binary (default: <repo>/build/bin/hearth)
//   HEARTH_KEEP_DATA  if set, the data dir is kept after stop() (for post-mortems)
//   HEARTH_ARGS       extra arguments appended to `hearth up`, split on whitespace

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const HEARTH_BIN = process.env.HEARTH_BIN || path.join(REPO_ROOT, 'build', 'bin', 'hearth');

// `hearth up` arguments running Lambda's runtimes on this host's interpreters where it lacks
// their versions (--interpreter python3.13=/usr/bin/python3, ...).
export const RUNTIME_SUBSTITUTES = execFileSync(path.join(REPO_ROOT, 'scripts', 'lib', 'runtime-substitutes'), {
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);

const HEALTH_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** A loopback TCP port that was free a moment ago (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Last `lines` lines of a file, or a note when it cannot be read. */
export function tailFile(file, lines = 60) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch (e) {
    return `(cannot read ${file}: ${e.message})`;
  }
}

/**
 * Whether `pid` is the init of a sandbox (a fork of its agent, so with the agent's command
 * line): it has a pid of its own in a nested pid namespace.
 */
function inNestedPidNamespace(pid) {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'));
    return line !== undefined && line.trim().split(/\s+/).length > 2;
  } catch {
    return false;
  }
}

/**
 * Pids of the instance agents a server on `port` launched (`hearth agent --server
 * http://127.0.0.1:<port> ...`), found with pgrep on their command line. Synchronous.
 */
export function agentPids(port) {
  try {
    const out = execFileSync('pgrep', ['-f', `hearth agent --server http://127\\.0\\.0\\.1:${port}( |$)`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .map((l) => Number.parseInt(l, 10))
      .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid && !inNestedPidNamespace(pid));
  } catch (e) {
    if (e.status === 1) return []; // pgrep: nothing matched
    throw e;
  }
}

/** Direct children of `pid` (e.g. the execution environments of an agent). Synchronous. */
export function childPids(pid) {
  try {
    const out = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split('\n')
      .map((l) => Number.parseInt(l, 10))
      .filter((p) => Number.isInteger(p) && p > 0);
  } catch (e) {
    if (e.status === 1) return [];
    throw e;
  }
}

/** SIGKILL each agent of the server on `port` (by pid); returns the pids signalled. */
export function killAgents(port) {
  const pids = agentPids(port);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return pids;
}

// Children still running when the test process exits are killed hard, and so are the agents
// their servers launched (each agent takes its execution environments with it).
const live = new Set();
const ports = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const port of ports) {
    try {
      killAgents(port);
    } catch {
      /* pgrep unavailable */
    }
  }
});

/**
 * Start hearth.
 * @param {{args?: string[], substitutes?: boolean, wrapper?: string[]}} [opts] extra CLI
 *   arguments (e.g. ['--region', 'eu-west-1']); substitutes: false starts it without
 *   RUNTIME_SUBSTITUTES; wrapper: a command that execs its arguments (the server's pid stays
 *   its own), e.g. ['unshare', '--mount', ...]
 * @returns {Promise<{endpoint: string, port: number, dataDir: string, logFile: string,
 *   stop: () => Promise<void>, restart: () => Promise<void>, logTail: (n?: number) => string,
 *   isRunning: () => boolean, pid: number|undefined, agentPids: () => number[],
 *   halt: () => Promise<object>, start: () => Promise<void>}>}
 */
export async function startServer(opts = {}) {
  if (!fs.existsSync(HEARTH_BIN)) {
    throw new Error(`hearth binary not found at ${HEARTH_BIN} (build it, or set HEARTH_BIN)`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-compat-'));
  const logFile = path.join(dataDir, 'hearth.log');
  const extra = [
    ...(opts.substitutes === false ? [] : RUNTIME_SUBSTITUTES),
    ...(opts.args || []),
    ...(process.env.HEARTH_ARGS || '').split(/\s+/).filter(Boolean),
  ];

  let child = null;
  let port = 0;
  let expectExit = false;

  const endpointOf = (p) => `http://127.0.0.1:${p}`;

  function spawnOnce(p) {
    const fd = fs.openSync(logFile, 'a');
    fs.writeSync(fd, `\n==== hearth up --listen 127.0.0.1:${p} (${new Date().toISOString()}) ====\n`);
    const command = [...(opts.wrapper || []), HEARTH_BIN, 'up', '--listen', `127.0.0.1:${p}`, '--data-dir', dataDir, ...extra];
    const c = spawn(command[0], command.slice(1), {
      cwd: REPO_ROOT,
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    c.exited = new Promise((resolve) => {
      c.on('exit', (code, signal) => {
        live.delete(c);
        c.exitInfo = { code, signal };
        if (!expectExit) {
          process.stderr.write(
            `\n[hearth] server exited unexpectedly (code=${code}, signal=${signal}); log tail (${logFile}):\n` +
              `${tailFile(logFile)}\n`,
          );
        }
        resolve(c.exitInfo);
      });
      c.on('error', (err) => {
        live.delete(c);
        c.exitInfo = { code: null, signal: null, error: err };
        resolve(c.exitInfo);
      });
    });
    live.add(c);
    return c;
  }

  async function waitHealthy(c, p) {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    let last = '';
    while (Date.now() < deadline) {
      if (c.exitInfo) return { ok: false, why: `exited before becoming healthy (${JSON.stringify(c.exitInfo)})` };
      try {
        const res = await fetch(`${endpointOf(p)}/healthz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return { ok: true };
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = e.cause?.code || e.message;
      }
      await sleep(100);
    }
    return { ok: false, why: `/healthz not 200 within ${HEALTH_TIMEOUT_MS} ms (last: ${last})` };
  }

  async function stopProcess() {
    if (!child || child.exitInfo) return child?.exitInfo;
    expectExit = true;
    child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
    });
    const r = await Promise.race([child.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      process.stderr.write(`[hearth] no exit ${STOP_TIMEOUT_MS} ms after SIGTERM; sending SIGKILL\n${tailFile(logFile)}\n`);
      child.kill('SIGKILL');
      await child.exited;
      throw new Error('hearth did not exit after SIGTERM');
    }
    const { code, signal } = child.exitInfo;
    if (!(code === 0 || signal === 'SIGTERM')) {
      process.stderr.write(`[hearth] unclean exit after SIGTERM (code=${code}, signal=${signal}):\n${tailFile(logFile)}\n`);
    }
    return child.exitInfo;
  }

  async function launch(fixedPort) {
    // A port found free can be taken before the server binds it; retry a fresh one
    // (only on the first start: a restart must come back on the same port).
    const attempts = fixedPort ? 1 : 3;
    let why = '';
    for (let i = 0; i < attempts; i++) {
      const p = fixedPort || (await freePort());
      expectExit = false;
      const c = spawnOnce(p);
      const h = await waitHealthy(c, p);
      if (h.ok) {
        child = c;
        port = p;
        ports.add(p);
        return;
      }
      why = h.why;
      expectExit = true;
      if (!c.exitInfo) {
        c.kill('SIGKILL');
        await c.exited;
      }
    }
    const msg = `hearth failed to start: ${why}\n--- log tail (${logFile}) ---\n${tailFile(logFile)}`;
    process.stderr.write(msg + '\n');
    throw new Error(msg);
  }

  /** Agents outlive their server (a restarted one adopts them): a finished test stops them. */
  function reapAgents() {
    return port ? killAgents(port) : [];
  }

  /** SIGKILL the server (no drain at all) and wait for it to exit. */
  async function killProcess() {
    if (!child || child.exitInfo) return child?.exitInfo;
    expectExit = true;
    child.kill('SIGKILL');
    return child.exited;
  }

  await launch(0);

  const server = {
    get endpoint() {
      return endpointOf(port);
    },
    get port() {
      return port;
    },
    dataDir,
    logFile,
    logTail: (n) => tailFile(logFile, n),
    isRunning: () => !!child && !child.exitInfo,
    /** Pid of the running server process (undefined when stopped). */
    get pid() {
      return child && !child.exitInfo ? child.pid : undefined;
    },
    /** Pids of the instance agents this server launched (see agentPids). */
    agentPids: () => agentPids(port),
    /** Stop with SIGTERM (waits for exit) and start again on the same data dir and port. */
    async restart() {
      await stopProcess();
      await launch(port);
    },
    /**
     * Stop with SIGTERM and wait for the server to exit; keeps the data dir and does not touch
     * the agents (they keep running for the next start to adopt). Returns { code, signal }.
     */
    async halt() {
      return stopProcess();
    },
    /** Like halt(), with SIGKILL: the server gets no chance to drain. */
    async kill() {
      return killProcess();
    },
    /** Start again after halt(), on the same data dir and port. */
    async start() {
      if (child && !child.exitInfo) throw new Error('hearth is already running');
      await launch(port);
    },
    /**
     * Stop with SIGTERM, stop the agents (SIGKILL) and remove the data dir (unless
     * HEARTH_KEEP_DATA is set).
     */
    async stop() {
      try {
        await stopProcess();
      } finally {
        reapAgents();
        if (process.env.HEARTH_KEEP_DATA) {
          process.stderr.write(`[hearth] data dir kept: ${dataDir}\n`);
        } else {
          fs.rmSync(dataDir, { recursive: true, force: true });
        }
      }
    },
  };
  return server;
}
