// Invoke before the data plane exists: only the parts that need no execution environment.
// DryRun validates the request and answers 204; real invocations are refused for now.
// (When Invoke lands, replace the "Event is refused" case with real invocation tests.)

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CreateFunctionCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import {
  cpFunctionInput,
  createActiveCapacityProvider,
  expectError,
  uniqueName,
  useServer,
} from '../lib/lambda.mjs';
import { pythonZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };

describe('invoke (control-plane checks only)', T, () => {
  const ctx = useServer();
  let fn;

  before(async () => {
    const cp = await createActiveCapacityProvider(ctx.client, uniqueName('inv-cp'));
    fn = uniqueName('inv-fn');
    const out = await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(fn, pythonZip(), cp.CapacityProviderArn, { Publish: true })));
    assert.equal(out.Version, '1');
  });

  it('DryRun on a published version -> 204', async () => {
    const out = await ctx.client.send(
      new InvokeCommand({ FunctionName: fn, Qualifier: '1', InvocationType: 'DryRun', Payload: Buffer.from('{}') }),
    );
    assert.equal(out.StatusCode, 204);
    assert.equal(out.$metadata.httpStatusCode, 204);
    assert.equal(out.FunctionError, undefined);
  });

  it('DryRun on a missing function -> ResourceNotFoundException (404)', async () => {
    await expectError(
      ctx.client.send(new InvokeCommand({ FunctionName: uniqueName('inv-ghost'), InvocationType: 'DryRun' })),
      'ResourceNotFoundException',
    );
    await expectError(
      ctx.client.send(new InvokeCommand({ FunctionName: fn, Qualifier: '42', InvocationType: 'DryRun' })),
      'ResourceNotFoundException',
    );
  });

  it('InvocationType Event is refused with a typed AWS error (no data plane yet)', async () => {
    let err;
    try {
      await ctx.client.send(
        new InvokeCommand({ FunctionName: fn, Qualifier: '1', InvocationType: 'Event', Payload: Buffer.from('{"a":1}') }),
      );
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'an Event invoke must not succeed before the data plane exists');
    const status = err.$metadata?.httpStatusCode;
    assert.ok(status >= 400 && status < 600, `HTTP ${status}`);
    assert.ok(!['Error', 'UnknownError', 'TimeoutError'].includes(err.name), `untyped error ${err.name}: ${err.message}`);
    assert.ok(err.message && err.message !== 'UnknownError', 'the error carries a message');
  });
});
