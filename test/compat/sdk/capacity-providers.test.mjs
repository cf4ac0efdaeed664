// Capacity providers: Create/Get/List/Update/DeleteCapacityProvider (the 2025-11-30 ops).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateCapacityProviderCommand,
  CreateFunctionCommand,
  DeleteCapacityProviderCommand,
  DeleteFunctionCommand,
  GetCapacityProviderCommand,
  GetFunctionCommand,
  ListCapacityProvidersCommand,
  UpdateCapacityProviderCommand,
} from '@aws-sdk/client-lambda';
import {
  CP_STATES,
  OPERATOR_ROLE,
  VALIDATION_ERROR,
  VPC,
  assertTimestamp,
  capacityProviderArn,
  collectPages,
  cpFunctionInput,
  cpInput,
  createActiveCapacityProvider,
  eventually,
  expectError,
  strip,
  uniqueName,
  useServer,
  waitCapacityProviderActive,
} from '../lib/lambda.mjs';
import { pythonZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };

/** Shape every CapacityProvider object must have. */
function assertCapacityProviderShape(cp, name) {
  assert.ok(cp && typeof cp === 'object', 'CapacityProvider object expected');
  assert.equal(cp.CapacityProviderArn, capacityProviderArn(name));
  assert.ok(CP_STATES.includes(cp.State), `State ${cp.State} should be one of ${CP_STATES}`);
  assert.deepEqual(cp.VpcConfig, VPC);
  assert.deepEqual(cp.PermissionsConfig, { CapacityProviderOperatorRoleArn: OPERATOR_ROLE });
  if (cp.LastModified !== undefined) assertTimestamp(cp.LastModified, 'LastModified');
}

async function expectGone(client, name) {
  await eventually(
    async () => {
      try {
        await client.send(new GetCapacityProviderCommand({ CapacityProviderName: name }));
        return false;
      } catch (e) {
        if (e.name === 'ResourceNotFoundException') return true;
        throw e;
      }
    },
    { what: `capacity provider ${name} to disappear` },
  );
  await expectError(client.send(new GetCapacityProviderCommand({ CapacityProviderName: name })), 'ResourceNotFoundException');
}

describe('capacity providers', T, () => {
  const ctx = useServer();

  it('CreateCapacityProvider returns the new provider (202) with every field echoed', async () => {
    const name = uniqueName('cp-full');
    const out = await ctx.client.send(
      new CreateCapacityProviderCommand(
        cpInput(name, {
          InstanceRequirements: { Architectures: ['x86_64'] },
          CapacityProviderScalingConfig: { MaxVCpuCount: 64, ScalingMode: 'Auto' },
          Tags: { team: 'compat', env: 'test' },
        }),
      ),
    );
    assert.equal(out.$metadata.httpStatusCode, 202);
    const cp = out.CapacityProvider;
    assertCapacityProviderShape(cp, name);
    assert.ok(['Pending', 'Active'].includes(cp.State), `new provider State ${cp.State}`);
    assert.deepEqual(cp.InstanceRequirements?.Architectures, ['x86_64']);
    assert.equal(cp.CapacityProviderScalingConfig?.MaxVCpuCount, 64);
    assert.equal(cp.CapacityProviderScalingConfig?.ScalingMode, 'Auto');
  });

  it('GetCapacityProvider by name and by ARN; the provider becomes Active', async () => {
    const name = uniqueName('cp-get');
    await ctx.client.send(
      new CreateCapacityProviderCommand(
        cpInput(name, { CapacityProviderScalingConfig: { MaxVCpuCount: 32, ScalingMode: 'Auto' } }),
      ),
    );
    const active = await waitCapacityProviderActive(ctx.client, name);
    assertCapacityProviderShape(active, name);
    assert.equal(active.State, 'Active');

    const byName = await ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: name }));
    assert.equal(byName.$metadata.httpStatusCode, 200);
    const byArn = await ctx.client.send(
      new GetCapacityProviderCommand({ CapacityProviderName: capacityProviderArn(name) }),
    );
    assert.deepEqual(strip(byArn), strip(byName));
    assert.equal(byName.CapacityProvider.CapacityProviderScalingConfig?.MaxVCpuCount, 32);
  });

  it('a minimal provider gets documented defaults (MaxVCpuCount 400, Auto, x86_64) when they are reported', async () => {
    const name = uniqueName('cp-min');
    const out = await ctx.client.send(new CreateCapacityProviderCommand(cpInput(name)));
    assertCapacityProviderShape(out.CapacityProvider, name);
    const cp = await waitCapacityProviderActive(ctx.client, name);
    const sc = cp.CapacityProviderScalingConfig;
    if (sc !== undefined) {
      assert.equal(sc.MaxVCpuCount, 400, 'default MaxVCpuCount');
      assert.equal(sc.ScalingMode, 'Auto', 'default ScalingMode');
    }
    if (cp.InstanceRequirements?.Architectures !== undefined) {
      assert.deepEqual(cp.InstanceRequirements.Architectures, ['x86_64'], 'default architecture');
    }
  });

  it('duplicate CreateCapacityProvider -> ResourceConflictException (409)', async () => {
    const name = uniqueName('cp-dup');
    await ctx.client.send(new CreateCapacityProviderCommand(cpInput(name)));
    await expectError(ctx.client.send(new CreateCapacityProviderCommand(cpInput(name))), 'ResourceConflictException');
    // The original is untouched.
    const got = await ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: name }));
    assertCapacityProviderShape(got.CapacityProvider, name);
  });

  it('GetCapacityProvider of an unknown name or ARN -> ResourceNotFoundException (404)', async () => {
    const name = uniqueName('cp-none');
    await expectError(ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: name })), 'ResourceNotFoundException');
    await expectError(
      ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: capacityProviderArn(name) })),
      'ResourceNotFoundException',
    );
  });

  it('ListCapacityProviders pages with MaxItems/Marker and returns every provider exactly once', async () => {
    const prefix = uniqueName('cp-page');
    const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (const n of names) await ctx.client.send(new CreateCapacityProviderCommand(cpInput(n)));

    const { items, pages } = await collectPages(ctx.client, ListCapacityProvidersCommand, { MaxItems: 1 }, 'CapacityProviders');
    for (const p of pages) assert.ok(p.CapacityProviders.length <= 1, 'page larger than MaxItems');
    assert.ok(pages.length >= 3, 'three providers with MaxItems 1 need at least three pages');
    const arns = items.map((cp) => cp.CapacityProviderArn);
    assert.equal(new Set(arns).size, arns.length, 'a provider appeared on two pages');
    for (const n of names) assert.ok(arns.includes(capacityProviderArn(n)), `${n} missing from the listing`);
    for (const cp of items) {
      assert.ok(CP_STATES.includes(cp.State));
      assert.ok(cp.VpcConfig && cp.PermissionsConfig, 'listed providers carry VpcConfig and PermissionsConfig');
    }

    // A larger page returns the same set.
    const all = await collectPages(ctx.client, ListCapacityProvidersCommand, { MaxItems: 50 }, 'CapacityProviders');
    assert.deepEqual(all.items.map((cp) => cp.CapacityProviderArn).sort(), [...arns].sort());
  });

  it('ListCapacityProviders filters by State', async () => {
    const name = uniqueName('cp-state');
    await createActiveCapacityProvider(ctx.client, name);
    const active = await collectPages(ctx.client, ListCapacityProvidersCommand, { State: 'Active' }, 'CapacityProviders');
    assert.ok(active.items.length >= 1);
    for (const cp of active.items) assert.equal(cp.State, 'Active', 'State filter leaked another state');
    assert.ok(active.items.some((cp) => cp.CapacityProviderArn === capacityProviderArn(name)));

    const failed = await collectPages(ctx.client, ListCapacityProvidersCommand, { State: 'Failed' }, 'CapacityProviders');
    for (const cp of failed.items) assert.equal(cp.State, 'Failed');
    assert.ok(!failed.items.some((cp) => cp.CapacityProviderArn === capacityProviderArn(name)));
  });

  it('ListCapacityProviders rejects MaxItems outside 1..50', async () => {
    await expectError(ctx.client.send(new ListCapacityProvidersCommand({ MaxItems: 51 })), VALIDATION_ERROR);
    await expectError(ctx.client.send(new ListCapacityProvidersCommand({ MaxItems: 0 })), VALIDATION_ERROR);
  });

  it('UpdateCapacityProvider changes the scaling config only', async () => {
    const name = uniqueName('cp-upd');
    const before = await createActiveCapacityProvider(ctx.client, name, {
      InstanceRequirements: { Architectures: ['x86_64'] },
      CapacityProviderScalingConfig: { MaxVCpuCount: 64, ScalingMode: 'Auto' },
    });

    const up1 = await ctx.client.send(
      new UpdateCapacityProviderCommand({
        CapacityProviderName: name,
        CapacityProviderScalingConfig: { MaxVCpuCount: 128, ScalingMode: 'Auto' },
      }),
    );
    assert.equal(up1.$metadata.httpStatusCode, 202);
    assertCapacityProviderShape(up1.CapacityProvider, name);
    assert.equal(up1.CapacityProvider.CapacityProviderScalingConfig.MaxVCpuCount, 128);

    const policies = [{ PredefinedMetricType: 'LambdaCapacityProviderAverageCPUUtilization', TargetValue: 50 }];
    const up2 = await ctx.client.send(
      new UpdateCapacityProviderCommand({
        CapacityProviderName: capacityProviderArn(name), // by ARN this time
        CapacityProviderScalingConfig: { MaxVCpuCount: 256, ScalingMode: 'Manual', ScalingPolicies: policies },
      }),
    );
    const sc = up2.CapacityProvider.CapacityProviderScalingConfig;
    assert.equal(sc.MaxVCpuCount, 256);
    assert.equal(sc.ScalingMode, 'Manual');
    assert.deepEqual(sc.ScalingPolicies, policies);

    const got = (await ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: name }))).CapacityProvider;
    assert.deepEqual(got.CapacityProviderScalingConfig, sc, 'Get reflects the update');
    assert.deepEqual(got.VpcConfig, before.VpcConfig, 'VpcConfig is immutable');
    assert.deepEqual(got.PermissionsConfig, before.PermissionsConfig);
    assert.deepEqual(got.InstanceRequirements, before.InstanceRequirements);
    if (before.LastModified && got.LastModified) {
      assert.ok(
        Date.parse(got.LastModified.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) >=
          Date.parse(before.LastModified.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')),
        'LastModified does not go backwards',
      );
    }
  });

  it('UpdateCapacityProvider errors: unknown provider (404), MaxVCpuCount out of range', async () => {
    await expectError(
      ctx.client.send(
        new UpdateCapacityProviderCommand({
          CapacityProviderName: uniqueName('cp-nope'),
          CapacityProviderScalingConfig: { MaxVCpuCount: 64 },
        }),
      ),
      'ResourceNotFoundException',
    );
    const name = uniqueName('cp-updbad');
    await createActiveCapacityProvider(ctx.client, name, { CapacityProviderScalingConfig: { MaxVCpuCount: 64 } });
    await expectError(
      ctx.client.send(
        new UpdateCapacityProviderCommand({ CapacityProviderName: name, CapacityProviderScalingConfig: { MaxVCpuCount: 1 } }),
      ),
      VALIDATION_ERROR,
    );
    const got = (await ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: name }))).CapacityProvider;
    assert.equal(got.CapacityProviderScalingConfig?.MaxVCpuCount, 64, 'a refused update changes nothing');
  });

  it('DeleteCapacityProvider returns the provider (202); afterwards Get -> 404', async () => {
    const name = uniqueName('cp-del');
    await createActiveCapacityProvider(ctx.client, name);
    const out = await ctx.client.send(new DeleteCapacityProviderCommand({ CapacityProviderName: name }));
    assert.equal(out.$metadata.httpStatusCode, 202);
    assertCapacityProviderShape(out.CapacityProvider, name);
    await expectGone(ctx.client, name);
    await expectError(
      ctx.client.send(new DeleteCapacityProviderCommand({ CapacityProviderName: name })),
      'ResourceNotFoundException',
    );
    // The name can be reused once the old provider is gone.
    const again = await ctx.client.send(new CreateCapacityProviderCommand(cpInput(name)));
    assertCapacityProviderShape(again.CapacityProvider, name);
  });

  it('DeleteCapacityProvider by ARN', async () => {
    const name = uniqueName('cp-delarn');
    await createActiveCapacityProvider(ctx.client, name);
    const out = await ctx.client.send(new DeleteCapacityProviderCommand({ CapacityProviderName: capacityProviderArn(name) }));
    assert.equal(out.CapacityProvider.CapacityProviderArn, capacityProviderArn(name));
    await expectGone(ctx.client, name);
  });

  it('DeleteCapacityProvider is refused (409) while a function version uses it', async () => {
    const cpName = uniqueName('cp-inuse');
    const cp = await createActiveCapacityProvider(ctx.client, cpName);
    const fn = uniqueName('fn-inuse');
    const created = await ctx.client.send(
      new CreateFunctionCommand(cpFunctionInput(fn, pythonZip(), cp.CapacityProviderArn, { Publish: true })),
    );
    assert.equal(created.FunctionName, fn);

    await expectError(
      ctx.client.send(new DeleteCapacityProviderCommand({ CapacityProviderName: cpName })),
      'ResourceConflictException',
    );
    const still = await ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: cpName }));
    assert.equal(still.CapacityProvider.State, 'Active', 'a refused delete leaves the provider Active');

    await ctx.client.send(new DeleteFunctionCommand({ FunctionName: fn }));
    await expectError(ctx.client.send(new GetFunctionCommand({ FunctionName: fn })), 'ResourceNotFoundException');
    // Version teardown may be asynchronous: the delete must succeed once it has finished.
    await eventually(
      async () => {
        try {
          await ctx.client.send(new DeleteCapacityProviderCommand({ CapacityProviderName: cpName }));
          return true;
        } catch (e) {
          if (e.name === 'ResourceConflictException') return false;
          throw e;
        }
      },
      { what: 'DeleteCapacityProvider to succeed after the function is gone' },
    );
    await expectGone(ctx.client, cpName);
  });

  describe('CreateCapacityProvider validation', () => {
    const cases = [
      ['MaxVCpuCount 1 (below 2)', (n) => cpInput(n, { CapacityProviderScalingConfig: { MaxVCpuCount: 1 } })],
      ['MaxVCpuCount 15001 (above 15000)', (n) => cpInput(n, { CapacityProviderScalingConfig: { MaxVCpuCount: 15001 } })],
      [
        'missing VpcConfig',
        (n) => {
          const i = cpInput(n);
          delete i.VpcConfig;
          return i;
        },
      ],
      [
        'missing PermissionsConfig',
        (n) => {
          const i = cpInput(n);
          delete i.PermissionsConfig;
          return i;
        },
      ],
      [
        '17 subnets (max 16)',
        (n) => cpInput(n, { VpcConfig: { SubnetIds: Array.from({ length: 17 }, (_, i) => `subnet-${i}`), SecurityGroupIds: ['sg-1'] } }),
      ],
      ['no subnets', (n) => cpInput(n, { VpcConfig: { SubnetIds: [], SecurityGroupIds: ['sg-1'] } })],
      [
        '6 security groups (max 5)',
        (n) => cpInput(n, { VpcConfig: { SubnetIds: ['subnet-a'], SecurityGroupIds: ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5', 'sg-6'] } }),
      ],
      ['two architectures', (n) => cpInput(n, { InstanceRequirements: { Architectures: ['x86_64', 'arm64'] } })],
      ['unknown ScalingMode', (n) => cpInput(n, { CapacityProviderScalingConfig: { MaxVCpuCount: 8, ScalingMode: 'Sometimes' } })],
    ];
    for (const [what, build] of cases) {
      it(`${what} -> ${VALIDATION_ERROR}, nothing created`, async () => {
        const name = uniqueName('cp-bad');
        await expectError(ctx.client.send(new CreateCapacityProviderCommand(build(name))), VALIDATION_ERROR, { what });
        await expectError(
          ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: name })),
          'ResourceNotFoundException',
        );
      });
    }

    it(`bad name pattern -> ${VALIDATION_ERROR}`, async () => {
      for (const bad of ['bad name!', 'slash/name', 'x'.repeat(141)]) {
        await expectError(ctx.client.send(new CreateCapacityProviderCommand(cpInput(bad))), VALIDATION_ERROR, { what: bad });
      }
    });
  });
});
