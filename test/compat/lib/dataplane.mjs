// Helpers for tests that run functions: deploy a capacity-provider function and wait for its
// version to become Active, invoke it and decode the answer, and run batches of invokes.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  PublishVersionCommand,
  PutFunctionScalingConfigCommand,
} from '@aws-sdk/client-lambda';
import { cpFunctionInput, eventually, waitFunctionSettled } from './lambda.mjs';
import { agentPids, childPids } from './server.mjs';

/** How long a published version may take to leave Pending (generous: the machine may be busy). */
export const ACTIVE_TIMEOUT_MS = 30_000;

/**
 * Create a capacity-provider function, publish it and (unless `waitActive` is false) wait until
 * the published version is Active. Throws with the state reason if it ends up anything else.
 *
 * @param {import('@aws-sdk/client-lambda').LambdaClient} client
 * @param {{name: string, cpArn: string, zip: Buffer, runtime?: string, handler?: string,
 *   timeout?: number, concurrency?: number, minEEs?: number, maxEEs?: number,
 *   environment?: Record<string,string>, publishTo?: 'LATEST_PUBLISHED', waitActive?: boolean,
 *   extra?: object}} spec
 * @returns {Promise<{name: string, version: string, config: object}>}
 */
export async function deployFunction(client, spec) {
  const {
    name,
    cpArn,
    zip,
    runtime = 'python3.13',
    handler = 'lambda_function.handler',
    timeout = 10,
    concurrency = 2,
    minEEs,
    maxEEs,
    environment,
    publishTo,
    waitActive = true,
    extra = {},
  } = spec;
  await client.send(
    new CreateFunctionCommand(
      cpFunctionInput(
        name,
        zip,
        cpArn,
        {
          Runtime: runtime,
          Handler: handler,
          Timeout: timeout,
          ...(environment ? { Environment: { Variables: environment } } : {}),
          ...extra,
        },
        { PerExecutionEnvironmentMaxConcurrency: concurrency },
      ),
    ),
  );
  await waitFunctionSettled(client, name, { allowPending: true });
  const pub = await client.send(new PublishVersionCommand({ FunctionName: name, ...(publishTo ? { PublishTo: publishTo } : {}) }));
  const version = pub.Version;
  if (minEEs !== undefined || maxEEs !== undefined) {
    await client.send(
      new PutFunctionScalingConfigCommand({
        FunctionName: name,
        Qualifier: version,
        FunctionScalingConfig: {
          ...(minEEs !== undefined ? { MinExecutionEnvironments: minEEs } : {}),
          ...(maxEEs !== undefined ? { MaxExecutionEnvironments: maxEEs } : {}),
        },
      }),
    );
  }
  if (!waitActive) return { name, version, config: pub };
  const config = await waitVersionActive(client, name, version);
  return { name, version, config };
}

/** Wait until a version leaves Pending; assert that it is Active. Returns the configuration. */
export async function waitVersionActive(client, name, version, timeout = ACTIVE_TIMEOUT_MS) {
  const config = await waitFunctionSettled(client, name, { qualifier: version, timeout });
  assert.equal(
    config.State,
    'Active',
    `${name}:${version} should become Active, is ${config.State} (${config.StateReasonCode}: ${config.StateReason})`,
  );
  return config;
}

/** State of a version, straight from GetFunctionConfiguration. */
export async function versionState(client, name, version) {
  const cfg = await client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: version }));
  return cfg.State;
}

/**
 * Invoke and decode. `payload` is JSON-encoded unless it is a Buffer or string. Extra InvokeCommand
 * members go in `input` (Qualifier, LogType, ClientContext, InvocationType, ...).
 * @returns {Promise<{out: object, status: number, text: string, json: any, functionError?: string,
 *   executedVersion?: string, requestId?: string, logs?: string, ms: number}>}
 */
export async function invoke(client, functionName, payload = {}, input = {}) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const t0 = performance.now();
  const out = await client.send(new InvokeCommand({ FunctionName: functionName, Payload: body, ...input }));
  const ms = performance.now() - t0;
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return {
    out,
    status: out.StatusCode,
    text,
    json,
    functionError: out.FunctionError,
    executedVersion: out.ExecutedVersion,
    requestId: out.$metadata?.requestId,
    logs: out.LogResult ? Buffer.from(out.LogResult, 'base64').toString('utf8') : undefined,
    ms,
  };
}

/** Invoke and assert a clean success (200, no FunctionError); returns the decoded result. */
export async function invokeOk(client, functionName, payload = {}, input = {}) {
  const r = await invoke(client, functionName, payload, input);
  assert.equal(r.status, 200, `StatusCode of ${functionName}`);
  assert.equal(r.functionError, undefined, `${functionName} failed: ${r.text.slice(0, 500)}`);
  return r;
}

/**
 * Invoke without throwing: { ok: true, ...result } or { ok: false, err, name, status, ms }.
 * `ms` runs from just before the request is handed to the SDK until it settles.
 */
export async function tryInvoke(client, functionName, payload = {}, input = {}) {
  const t0 = performance.now();
  try {
    const r = await invoke(client, functionName, payload, input);
    return { ok: true, ...r, ms: performance.now() - t0 };
  } catch (err) {
    return {
      ok: false,
      err,
      name: err.name,
      status: err.$metadata?.httpStatusCode,
      message: err.message,
      ms: performance.now() - t0,
    };
  }
}

/** Parse the JSON lines of a decoded X-Amz-Log-Result (lines that are not JSON are kept as { raw }). */
export function parseLogLines(text) {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return { raw: l };
      }
    });
}

/** Percentile (0..100) of an array of numbers (nearest-rank). */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** The environment of a process as an object (empty when it is gone or unreadable). Linux only. */
function processEnv(pid) {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    const env = {};
    for (const entry of raw.split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  } catch {
    return {};
  }
}

/** Whether `pid` is the init process of an EE's sandbox. */
function isSandboxInit(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'hearth-init';
  } catch {
    return false;
  }
}

/**
 * Running execution environments of a function version on the agents of the server on `port`:
 * the agents' child processes (one runtime process per EE, below its sandbox's init) whose environment names that function
 * and version. Returns [{ pid, agentPid, stream }] where `stream` is the EE's
 * AWS_LAMBDA_LOG_STREAM_NAME (`<instance id>/[<version>]<environment id>`). Linux only (reads /proc).
 */
export function environmentProcesses(port, functionName, version) {
  const out = [];
  for (const agentPid of agentPids(port)) {
    // A sandboxed EE is the agent's child `hearth-init` with the runtime process below it.
    const runtimes = childPids(agentPid).flatMap((pid) => (isSandboxInit(pid) ? childPids(pid) : [pid]));
    for (const pid of runtimes) {
      const env = processEnv(pid);
      if (env.AWS_LAMBDA_FUNCTION_NAME === functionName && (version === undefined || env.AWS_LAMBDA_FUNCTION_VERSION === version)) {
        out.push({ pid, agentPid, stream: env.AWS_LAMBDA_LOG_STREAM_NAME });
      }
    }
  }
  return out;
}

/** Wait until exactly `count` environments of a version run (see environmentProcesses). */
export async function waitEnvironmentCount(port, functionName, version, count, timeout = 15_000) {
  let last = [];
  try {
    return await eventually(
      () => {
        last = environmentProcesses(port, functionName, version);
        return last.length === count ? last : null;
      },
      { timeout, what: `${count} execution environment process(es) of ${functionName}:${version}` },
    );
  } catch (e) {
    e.message += ` (last seen: ${last.length}: ${JSON.stringify(last)})`;
    throw e;
  }
}
