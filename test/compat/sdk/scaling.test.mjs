// Function scaling: PutFunctionScalingConfig / GetFunctionScalingConfig, and
// ListFunctionVersionsByCapacityProvider.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionScalingConfigCommand,
  ListFunctionVersionsByCapacityProviderCommand,
  PublishVersionCommand,
  PutFunctionScalingConfigCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  FUNCTION_STATES,
  VALIDATION_ERROR,
  capacityProviderArn,
  collectPages,
  cpFunctionInput,
  createActiveCapacityProvider,
  eventually,
  expectError,
  functionArn,
  functionInput,
  uniqueName,
  useServer,
  waitFunctionGone,
  waitFunctionSettled,
} from '../lib/lambda.mjs';
import { pythonZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };

/** Publish the next numbered version of a capacity-provider function (after a small config change). */
async function publishNext(client, name, tag) {
  await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: tag }));
  await waitFunctionSettled(client, name, { allowPending: true });
  return client.send(new PublishVersionCommand({ FunctionName: name }));
}

function sameScaling(a, b) {
  return !!a && a.MinExecutionEnvironments === b.MinExecutionEnvironments && a.MaxExecutionEnvironments === b.MaxExecutionEnvironments;
}

describe('function scaling config', T, () => {
  const ctx = useServer();
  let cpArn;
  let fn; // a capacity-provider function with versions 1 and 2

  before(async () => {
    const cp = await createActiveCapacityProvider(ctx.client, uniqueName('sc-cp'));
    cpArn = cp.CapacityProviderArn;
    fn = uniqueName('sc-fn');
    const v1 = await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(fn, pythonZip(), cpArn, { Publish: true })));
    assert.equal(v1.Version, '1');
    const v2 = await publishNext(ctx.client, fn, 'second');
    assert.equal(v2.Version, '2');
  });

  it('PutFunctionScalingConfig (202) returns FunctionState; Get returns what was requested', async () => {
    const want = { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 10 };
    const put = await ctx.client.send(
      new PutFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '1', FunctionScalingConfig: want }),
    );
    assert.equal(put.$metadata.httpStatusCode, 202);
    assert.ok(FUNCTION_STATES.includes(put.FunctionState), `FunctionState ${put.FunctionState}`);

    const got = await ctx.client.send(new GetFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '1' }));
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.ok([functionArn(fn, '1'), functionArn(fn)].includes(got.FunctionArn), `FunctionArn ${got.FunctionArn}`);
    const { RequestedFunctionScalingConfig: requested, AppliedFunctionScalingConfig: applied } = got;
    assert.ok(requested || applied, 'Requested or Applied config expected');
    // Requested (while settling) or Applied (once settled) must be exactly what was put.
    assert.ok(
      sameScaling(requested, want) || sameScaling(applied, want),
      `neither Requested ${JSON.stringify(requested)} nor Applied ${JSON.stringify(applied)} equals ${JSON.stringify(want)}`,
    );
    if (requested) assert.deepEqual(requested, want);

    // Version 2 is independent of version 1.
    const other = await ctx.client.send(new GetFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '2' }));
    assert.ok(!sameScaling(other.RequestedFunctionScalingConfig, want), 'config leaked to version 2');
  });

  it('a later Put replaces the earlier one; the function ARN form is accepted', async () => {
    const want = { MinExecutionEnvironments: 4, MaxExecutionEnvironments: 4 };
    await ctx.client.send(
      new PutFunctionScalingConfigCommand({
        FunctionName: fn,
        Qualifier: '2',
        FunctionScalingConfig: { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 6 },
      }),
    );
    await ctx.client.send(
      new PutFunctionScalingConfigCommand({ FunctionName: functionArn(fn), Qualifier: '2', FunctionScalingConfig: want }),
    );
    const got = await eventually(
      async () => {
        const g = await ctx.client.send(new GetFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '2' }));
        return sameScaling(g.RequestedFunctionScalingConfig, want) || sameScaling(g.AppliedFunctionScalingConfig, want) ? g : null;
      },
      { what: 'scaling config 4/4 on version 2' },
    );
    assert.ok(got);
  });

  it('min = max = 0 is accepted (deactivates the version)', async () => {
    const name = uniqueName('sc-zero');
    await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, pythonZip(), cpArn, { Publish: true })));
    const put = await ctx.client.send(
      new PutFunctionScalingConfigCommand({
        FunctionName: name,
        Qualifier: '1',
        FunctionScalingConfig: { MinExecutionEnvironments: 0, MaxExecutionEnvironments: 0 },
      }),
    );
    assert.ok(FUNCTION_STATES.includes(put.FunctionState), `FunctionState ${put.FunctionState}`);
  });

  it('$LATEST.PUBLISHED accepts a scaling config', async () => {
    const name = uniqueName('sc-lp');
    const out = await ctx.client.send(
      new CreateFunctionCommand(cpFunctionInput(name, pythonZip(), cpArn, { Publish: true, PublishTo: 'LATEST_PUBLISHED' })),
    );
    assert.equal(out.Version, '$LATEST.PUBLISHED');
    const want = { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 5 };
    const put = await ctx.client.send(
      new PutFunctionScalingConfigCommand({ FunctionName: name, Qualifier: '$LATEST.PUBLISHED', FunctionScalingConfig: want }),
    );
    assert.equal(put.$metadata.httpStatusCode, 202);
    const got = await ctx.client.send(
      new GetFunctionScalingConfigCommand({ FunctionName: name, Qualifier: '$LATEST.PUBLISHED' }),
    );
    assert.ok(sameScaling(got.RequestedFunctionScalingConfig, want) || sameScaling(got.AppliedFunctionScalingConfig, want));
  });

  describe('invalid scaling configs -> InvalidParameterValueException, nothing stored', () => {
    const cases = [
      ['min greater than max', { MinExecutionEnvironments: 5, MaxExecutionEnvironments: 2 }, 'InvalidParameterValueException'],
      ['max above 15000', { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 15001 }, VALIDATION_ERROR],
      ['min above 15000', { MinExecutionEnvironments: 15001, MaxExecutionEnvironments: 15001 }, VALIDATION_ERROR],
      ['negative min', { MinExecutionEnvironments: -1, MaxExecutionEnvironments: 3 }, VALIDATION_ERROR],
      ['min 0 with max > 0', { MinExecutionEnvironments: 0, MaxExecutionEnvironments: 5 }, 'InvalidParameterValueException'],
    ];
    for (const [what, config, code] of cases) {
      it(what, async () => {
        await expectError(
          ctx.client.send(new PutFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '2', FunctionScalingConfig: config })),
          code,
          { what },
        );
        const after = await ctx.client.send(new GetFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '2' }));
        assert.ok(!sameScaling(after.RequestedFunctionScalingConfig, config), 'a refused config was stored');
        assert.ok(!sameScaling(after.AppliedFunctionScalingConfig, config), 'a refused config was applied');
      });
    }
  });

  it('qualifier and target errors', async () => {
    const cfg = { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 3 };
    // Only published versions ($LATEST.PUBLISHED or a number) carry a scaling config.
    await expectError(
      ctx.client.send(new PutFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '$LATEST', FunctionScalingConfig: cfg })),
      VALIDATION_ERROR,
      { what: 'Qualifier $LATEST' },
    );
    await expectError(
      ctx.client.send(new GetFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '$LATEST' })),
      VALIDATION_ERROR,
      { what: 'Get with Qualifier $LATEST' },
    );
    await expectError(
      ctx.client.send(new PutFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '99', FunctionScalingConfig: cfg })),
      'ResourceNotFoundException',
      { what: 'a version that does not exist' },
    );
    await expectError(
      ctx.client.send(new GetFunctionScalingConfigCommand({ FunctionName: fn, Qualifier: '99' })),
      'ResourceNotFoundException',
    );
    const ghost = uniqueName('sc-ghost');
    await expectError(
      ctx.client.send(new PutFunctionScalingConfigCommand({ FunctionName: ghost, Qualifier: '1', FunctionScalingConfig: cfg })),
      'ResourceNotFoundException',
    );
    await expectError(
      ctx.client.send(new GetFunctionScalingConfigCommand({ FunctionName: ghost, Qualifier: '1' })),
      'ResourceNotFoundException',
    );

    // A plain (non-capacity-provider) function has no scaling config.
    const plain = uniqueName('sc-plain');
    await ctx.client.send(new CreateFunctionCommand(functionInput(plain, pythonZip(), { Publish: true })));
    await expectError(
      ctx.client.send(new PutFunctionScalingConfigCommand({ FunctionName: plain, Qualifier: '1', FunctionScalingConfig: cfg })),
      ['InvalidParameterValueException', 'ResourceConflictException'],
      { what: 'scaling config on a function without a capacity provider' },
    );
  });

  describe('ListFunctionVersionsByCapacityProvider', () => {
    it('lists exactly the published versions on the provider, page by page', async () => {
      const cpName = uniqueName('sc-listcp');
      const cp = await createActiveCapacityProvider(ctx.client, cpName);
      const f1 = uniqueName('sc-l1');
      const f2 = uniqueName('sc-l2');
      await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(f1, pythonZip('return 1'), cp.CapacityProviderArn, { Publish: true })));
      const f1v2 = await publishNext(ctx.client, f1, 'f1 v2');
      assert.equal(f1v2.Version, '2');
      await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(f2, pythonZip('return 2'), cp.CapacityProviderArn, { Publish: true })));
      // An unpublished function on the same provider contributes nothing.
      await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(uniqueName('sc-l3'), pythonZip(), cp.CapacityProviderArn)));

      const expected = [functionArn(f1, '1'), functionArn(f1, '2'), functionArn(f2, '1')].sort();
      const { items, pages } = await collectPages(
        ctx.client,
        ListFunctionVersionsByCapacityProviderCommand,
        { CapacityProviderName: cpName, MaxItems: 1 },
        'FunctionVersions',
      );
      for (const p of pages) {
        assert.ok(p.FunctionVersions.length <= 1);
        assert.equal(p.CapacityProviderArn, capacityProviderArn(cpName));
      }
      assert.deepEqual(items.map((v) => v.FunctionArn).sort(), expected);
      for (const v of items) assert.ok(['Pending', 'Active'].includes(v.State), `${v.FunctionArn} State ${v.State}`);

      // By ARN, one page.
      const byArn = await ctx.client.send(
        new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: cp.CapacityProviderArn }),
      );
      assert.equal(byArn.$metadata.httpStatusCode, 200);
      assert.equal(byArn.CapacityProviderArn, cp.CapacityProviderArn);
      assert.deepEqual(byArn.FunctionVersions.map((v) => v.FunctionArn).sort(), expected);

      // Deleting a version removes it from the listing.
      const del = await ctx.client.send(new DeleteFunctionCommand({ FunctionName: f1, Qualifier: '1' }));
      assert.equal(del.$metadata.httpStatusCode, 202);
      await waitFunctionGone(ctx.client, f1, '1');
      const after = await collectPages(
        ctx.client,
        ListFunctionVersionsByCapacityProviderCommand,
        { CapacityProviderName: cpName },
        'FunctionVersions',
      );
      assert.deepEqual(after.items.map((v) => v.FunctionArn).sort(), [functionArn(f1, '2'), functionArn(f2, '1')].sort());
    });

    it('an empty provider lists nothing; unknown provider -> 404; MaxItems over 50 refused', async () => {
      const cpName = uniqueName('sc-empty');
      await createActiveCapacityProvider(ctx.client, cpName);
      const out = await ctx.client.send(new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: cpName }));
      assert.deepEqual(out.FunctionVersions, []);
      assert.equal(out.CapacityProviderArn, capacityProviderArn(cpName));
      assert.equal(out.NextMarker, undefined);
      await expectError(
        ctx.client.send(new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: uniqueName('sc-none') })),
        'ResourceNotFoundException',
      );
      await expectError(
        ctx.client.send(new ListFunctionVersionsByCapacityProviderCommand({ CapacityProviderName: cpName, MaxItems: 51 })),
        VALIDATION_ERROR,
      );
    });
  });
});
