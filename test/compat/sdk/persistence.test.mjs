// Restart persistence: build up state, restart the server on the same data dir (SIGTERM, then
// start again), and read everything back identically.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateCapacityProviderCommand,
  CreateFunctionCommand,
  DeleteCapacityProviderCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetCapacityProviderCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionScalingConfigCommand,
  ListAliasesCommand,
  ListCapacityProvidersCommand,
  ListFunctionVersionsByCapacityProviderCommand,
  ListFunctionsCommand,
  ListTagsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  PutFunctionScalingConfigCommand,
  TagResourceCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  assertHealthy,
  capacityProviderArn,
  collectPages,
  cpFunctionInput,
  cpInput,
  createActiveCapacityProvider,
  eventually,
  expectError,
  expectNoFunction,
  functionArn,
  functionInput,
  strip,
  uniqueName,
  useServer,
  waitFunctionGone,
  waitFunctionSettled,
} from '../lib/lambda.mjs';
import { pythonZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };

// Fields that may legitimately differ across a restart: lifecycle state moves on by itself
// (Pending -> Active), and pre-signed code URLs are minted per request.
const STATE_FIELDS = [
  'State',
  'StateReason',
  'StateReasonCode',
  'LastUpdateStatus',
  'LastUpdateStatusReason',
  'LastUpdateStatusReasonCode',
];

function without(obj, keys) {
  const copy = { ...obj };
  for (const k of keys) delete copy[k];
  return copy;
}

/** Compare two FunctionConfigurations; RevisionId/LastModified may only move if State moved. */
function assertSameConfig(label, a, b) {
  assert.ok(a && b, `${label}: missing configuration`);
  const stateMoved = a.State !== b.State;
  const volatile = stateMoved ? [...STATE_FIELDS, 'RevisionId', 'LastModified'] : STATE_FIELDS;
  assert.deepEqual(without(b, volatile), without(a, volatile), `${label} differs after restart`);
  if (stateMoved) {
    // State may only advance, never regress to Pending or fail.
    assert.notEqual(b.State, 'Pending', `${label}: State went back to Pending`);
    assert.notEqual(b.State, 'Failed', `${label}: State became Failed after restart`);
  }
}

function effectiveScaling(s) {
  return s.RequestedFunctionScalingConfig ?? s.AppliedFunctionScalingConfig;
}

describe('restart persistence', T, () => {
  const ctx = useServer();

  const ids = {};

  async function build() {
    const c = ctx.client;
    // A capacity provider with a function, two versions, an alias, tags and a scaling config.
    ids.cp = uniqueName('p-cp');
    const cp = await createActiveCapacityProvider(c, ids.cp, {
      InstanceRequirements: { Architectures: ['x86_64'] },
      CapacityProviderScalingConfig: { MaxVCpuCount: 96, ScalingMode: 'Auto' },
      Tags: { persist: 'cp' },
    });
    ids.cpArn = cp.CapacityProviderArn;

    ids.fn = uniqueName('p-fn');
    await c.send(
      new CreateFunctionCommand(
        cpFunctionInput(ids.fn, pythonZip('return "persist"'), ids.cpArn, {
          Description: 'persisted function',
          Environment: { Variables: { KEY: 'value', OTHER: 'x y z' } },
          Tags: { persist: 'fn' },
          Timeout: 42,
        }),
      ),
    );
    await waitFunctionSettled(c, ids.fn, { allowPending: true });
    const v1 = await c.send(new PublishVersionCommand({ FunctionName: ids.fn, Description: 'v1' }));
    assert.equal(v1.Version, '1');
    await c.send(new UpdateFunctionConfigurationCommand({ FunctionName: ids.fn, Environment: { Variables: { KEY: 'v2' } } }));
    await waitFunctionSettled(c, ids.fn, { allowPending: true });
    const v2 = await c.send(new PublishVersionCommand({ FunctionName: ids.fn, Description: 'v2' }));
    assert.equal(v2.Version, '2');
    await c.send(
      new CreateAliasCommand({
        FunctionName: ids.fn,
        Name: 'live',
        FunctionVersion: '1',
        Description: 'persisted alias',
        RoutingConfig: { AdditionalVersionWeights: { 2: 0.5 } },
      }),
    );
    await c.send(
      new PutFunctionScalingConfigCommand({
        FunctionName: ids.fn,
        Qualifier: '1',
        FunctionScalingConfig: { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 7 },
      }),
    );
    await c.send(new TagResourceCommand({ Resource: functionArn(ids.fn), Tags: { added: 'later' } }));
    await c.send(new TagResourceCommand({ Resource: ids.cpArn, Tags: { added: 'cp-later' } }));

    // A plain function with a version and an alias.
    ids.plain = uniqueName('p-plain');
    await c.send(new CreateFunctionCommand(functionInput(ids.plain, pythonZip('return "plain"'), { Publish: true, MemorySize: 384 })));
    await waitFunctionSettled(c, ids.plain);
    await waitFunctionSettled(c, ids.plain, { qualifier: '1' });
    await c.send(new CreateAliasCommand({ FunctionName: ids.plain, Name: 'stable', FunctionVersion: '1' }));

    // Things that were deleted must stay deleted.
    ids.deletedFn = uniqueName('p-gone');
    await c.send(new CreateFunctionCommand(functionInput(ids.deletedFn, pythonZip())));
    await c.send(new DeleteFunctionCommand({ FunctionName: ids.deletedFn }));
    await waitFunctionGone(c, ids.deletedFn);
    ids.deletedCp = uniqueName('p-gonecp');
    await c.send(new CreateCapacityProviderCommand(cpInput(ids.deletedCp)));
    await c.send(new DeleteCapacityProviderCommand({ CapacityProviderName: ids.deletedCp }));
    await eventually(
      async () => {
        try {
          await c.send(new GetCapacityProviderCommand({ CapacityProviderName: ids.deletedCp }));
          return false;
        } catch (e) {
          if (e.name === 'ResourceNotFoundException') return true;
          throw e;
        }
      },
      { what: 'deleted capacity provider to disappear' },
    );
  }

  async function snapshot() {
    const c = ctx.client;
    const s = {};
    s.cp = (await c.send(new GetCapacityProviderCommand({ CapacityProviderName: ids.cp }))).CapacityProvider;
    s.cpTags = (await c.send(new ListTagsCommand({ Resource: ids.cpArn }))).Tags;
    s.cpListed = (await collectPages(c, ListCapacityProvidersCommand, {}, 'CapacityProviders')).items
      .filter((p) => p.CapacityProviderArn === ids.cpArn)
      .map((p) => without(p, ['State']));

    const fn = await c.send(new GetFunctionCommand({ FunctionName: ids.fn }));
    s.fn = fn.Configuration;
    s.fnTags = fn.Tags;
    s.fnCode = without(fn.Code ?? {}, ['Location']);
    s.fnV1 = strip(await c.send(new GetFunctionConfigurationCommand({ FunctionName: ids.fn, Qualifier: '1' })));
    s.fnV2 = strip(await c.send(new GetFunctionConfigurationCommand({ FunctionName: ids.fn, Qualifier: '2' })));
    s.fnLive = strip(await c.send(new GetFunctionConfigurationCommand({ FunctionName: ids.fn, Qualifier: 'live' })));
    s.alias = strip(await c.send(new GetAliasCommand({ FunctionName: ids.fn, Name: 'live' })));
    s.aliases = (await collectPages(c, ListAliasesCommand, { FunctionName: ids.fn }, 'Aliases')).items;
    s.versions = (await collectPages(c, ListVersionsByFunctionCommand, { FunctionName: ids.fn }, 'Versions')).items;
    s.scaling = strip(await c.send(new GetFunctionScalingConfigCommand({ FunctionName: ids.fn, Qualifier: '1' })));
    s.listTagsFn = (await c.send(new ListTagsCommand({ Resource: functionArn(ids.fn) }))).Tags;
    s.cpVersions = (
      await collectPages(c, ListFunctionVersionsByCapacityProviderCommand, { CapacityProviderName: ids.cp }, 'FunctionVersions')
    ).items;

    const plain = await c.send(new GetFunctionCommand({ FunctionName: ids.plain }));
    s.plain = plain.Configuration;
    s.plainV1 = strip(await c.send(new GetFunctionConfigurationCommand({ FunctionName: ids.plain, Qualifier: '1' })));
    s.plainAlias = strip(await c.send(new GetAliasCommand({ FunctionName: ids.plain, Name: 'stable' })));
    s.listed = (await collectPages(c, ListFunctionsCommand, { FunctionVersion: 'ALL' }, 'Functions')).items
      .filter((f) => [ids.fn, ids.plain].includes(f.FunctionName))
      .sort((a, b) => (a.FunctionArn < b.FunctionArn ? -1 : 1));
    return s;
  }

  function compare(a, b) {
    // Capacity provider: identical apart from State (already Active before the restart).
    assert.deepEqual(without(b.cp, ['State']), without(a.cp, ['State']), 'CapacityProvider differs after restart');
    assert.equal(b.cp.State, 'Active', 'capacity provider is Active after restart');
    assert.deepEqual(b.cpTags, a.cpTags);
    assert.deepEqual(b.cpListed, a.cpListed);

    assertSameConfig('function $LATEST', a.fn, b.fn);
    assert.deepEqual(b.fnTags, a.fnTags);
    assert.deepEqual(b.fnCode, a.fnCode);
    assertSameConfig('version 1', a.fnV1, b.fnV1);
    assertSameConfig('version 2', a.fnV2, b.fnV2);
    assertSameConfig('alias live', a.fnLive, b.fnLive);
    assert.deepEqual(b.alias, a.alias, 'alias differs after restart');
    assert.deepEqual(b.aliases, a.aliases);
    assert.equal(b.versions.length, a.versions.length);
    for (let i = 0; i < a.versions.length; i++) {
      assertSameConfig(`listed version ${a.versions[i].Version}`, a.versions[i], b.versions[i]);
    }
    assert.equal(b.scaling.FunctionArn, a.scaling.FunctionArn);
    assert.deepEqual(effectiveScaling(b.scaling), effectiveScaling(a.scaling), 'scaling config differs after restart');
    assert.deepEqual(b.listTagsFn, a.listTagsFn);
    assert.deepEqual(
      b.cpVersions.map((v) => v.FunctionArn).sort(),
      a.cpVersions.map((v) => v.FunctionArn).sort(),
      'function versions on the capacity provider differ after restart',
    );

    assertSameConfig('plain $LATEST', a.plain, b.plain);
    assertSameConfig('plain version 1', a.plainV1, b.plainV1);
    assert.deepEqual(b.plainAlias, a.plainAlias);
    assert.equal(b.listed.length, a.listed.length);
    for (let i = 0; i < a.listed.length; i++) assertSameConfig(`ListFunctions item ${i}`, a.listed[i], b.listed[i]);
  }

  it('capacity provider, functions, versions, aliases, tags and scaling config survive restarts', async () => {
    await build();
    const before = await snapshot();

    // Sanity on what was captured, so the comparison below compares something real.
    assert.equal(before.cp.CapacityProviderScalingConfig?.MaxVCpuCount, 96);
    assert.deepEqual(before.cpTags, { persist: 'cp', added: 'cp-later' });
    assert.deepEqual(before.fnTags, { persist: 'fn', added: 'later' });
    assert.equal(before.fn.Timeout, 42);
    assert.deepEqual(before.fnV1.Environment?.Variables, { KEY: 'value', OTHER: 'x y z' });
    assert.deepEqual(before.fnV2.Environment?.Variables, { KEY: 'v2' });
    assert.equal(before.fnLive.Version, '1');
    assert.deepEqual(before.alias.RoutingConfig, { AdditionalVersionWeights: { 2: 0.5 } });
    assert.deepEqual(before.versions.map((v) => v.Version).sort(), ['$LATEST', '1', '2'].sort());
    assert.deepEqual(effectiveScaling(before.scaling), { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 7 });
    assert.equal(before.cpVersions.length, 2);
    assert.equal(before.plain.MemorySize, 384);
    assert.equal(before.listed.length, 5, 'ListFunctions ALL: fn $LATEST, 1, 2 and plain $LATEST, 1');

    await ctx.server.restart();
    ctx.renewClient();
    await assertHealthy(ctx.endpoint);
    const after = await snapshot();
    compare(before, after);

    // Deleted things stay deleted.
    await expectNoFunction(ctx.client, ids.deletedFn);
    await expectError(
      ctx.client.send(new GetCapacityProviderCommand({ CapacityProviderName: ids.deletedCp })),
      'ResourceNotFoundException',
    );
    await expectError(ctx.client.send(new ListTagsCommand({ Resource: capacityProviderArn(ids.deletedCp) })), 'ResourceNotFoundException');

    // A second restart with no changes in between is equally lossless.
    await ctx.server.restart();
    ctx.renewClient();
    compare(before, await snapshot());
  });

  it('after a restart the server keeps working on the persisted state', async () => {
    assert.ok(ids.fn, 'depends on the state built by the previous test');
    const c = ctx.client;
    // Uniqueness is still enforced.
    await expectError(c.send(new CreateCapacityProviderCommand(cpInput(ids.cp))), 'ResourceConflictException');
    await expectError(
      c.send(new CreateFunctionCommand(functionInput(ids.plain, pythonZip()))),
      'ResourceConflictException',
    );
    await expectError(
      c.send(new CreateAliasCommand({ FunctionName: ids.fn, Name: 'live', FunctionVersion: '2' })),
      'ResourceConflictException',
    );
    // The in-use check still protects the provider.
    await expectError(c.send(new DeleteCapacityProviderCommand({ CapacityProviderName: ids.cp })), 'ResourceConflictException');

    // Version numbering continues where it stopped.
    await waitFunctionSettled(c, ids.fn, { allowPending: true });
    await c.send(new UpdateFunctionConfigurationCommand({ FunctionName: ids.fn, Description: 'after restart' }));
    await waitFunctionSettled(c, ids.fn, { allowPending: true });
    const v3 = await c.send(new PublishVersionCommand({ FunctionName: ids.fn }));
    assert.equal(v3.Version, '3');
    const updated = await c.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: ids.plain, Description: 'after restart' }),
    );
    assert.equal(updated.Description, 'after restart');
    await waitFunctionSettled(c, ids.plain);
    const pv = await c.send(new PublishVersionCommand({ FunctionName: ids.plain }));
    assert.equal(pv.Version, '2');

    // New resources can be created next to the old ones.
    const fresh = uniqueName('p-fresh');
    const out = await c.send(new CreateFunctionCommand(functionInput(fresh, pythonZip())));
    assert.equal(out.FunctionName, fresh);
  });
});
