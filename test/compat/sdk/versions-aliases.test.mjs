// Versions and aliases: PublishVersion (numbered and $LATEST.PUBLISHED), ListVersionsByFunction,
// CreateAlias / GetAlias / UpdateAlias / ListAliases / DeleteAlias.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  ListAliasesCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  VALIDATION_ERROR,
  collectPages,
  cpFunctionInput,
  createActiveCapacityProvider,
  expectError,
  functionArn,
  functionInput,
  sha256b64,
  strip,
  uniqueName,
  useServer,
  waitFunctionSettled,
} from '../lib/lambda.mjs';
import { pythonZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };

/** Create a plain function and publish versions 1..n, each with a different description. */
async function functionWithVersions(client, prefix, n) {
  const name = uniqueName(prefix);
  await client.send(new CreateFunctionCommand(functionInput(name, pythonZip(`return "${name}"`))));
  await waitFunctionSettled(client, name);
  for (let i = 1; i <= n; i++) {
    await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: `rev ${i}` }));
    await waitFunctionSettled(client, name);
    const v = await client.send(new PublishVersionCommand({ FunctionName: name, Description: `version ${i}` }));
    assert.equal(v.Version, String(i));
  }
  return name;
}

describe('versions and aliases', T, () => {
  const ctx = useServer();

  describe('PublishVersion', () => {
    it('numbers versions 1, 2, ... and snapshots code and configuration', async () => {
      const name = uniqueName('ver-pub');
      const zip = pythonZip('return "v"');
      await ctx.client.send(
        new CreateFunctionCommand(functionInput(name, zip, { Description: 'base', Environment: { Variables: { VV: '1' } } })),
      );
      const latest = await waitFunctionSettled(ctx.client, name);

      const v1 = await ctx.client.send(new PublishVersionCommand({ FunctionName: name, Description: 'first release' }));
      assert.equal(v1.$metadata.httpStatusCode, 201);
      assert.equal(v1.Version, '1');
      assert.equal(v1.FunctionArn, functionArn(name, '1'));
      assert.equal(v1.FunctionName, name);
      assert.equal(v1.Description, 'first release');
      assert.equal(v1.CodeSha256, sha256b64(zip));
      assert.equal(v1.CodeSize, zip.length);
      assert.equal(v1.MemorySize, latest.MemorySize);
      assert.deepEqual(v1.Environment?.Variables, { VV: '1' });
      assert.ok(['Pending', 'Active'].includes(v1.State), `State ${v1.State}`);
      const v1settled = await waitFunctionSettled(ctx.client, name, { qualifier: '1' });
      assert.equal(v1settled.State, 'Active');

      await ctx.client.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: name, Environment: { Variables: { VV: '2' } } }),
      );
      await waitFunctionSettled(ctx.client, name);
      const v2 = await ctx.client.send(new PublishVersionCommand({ FunctionName: name }));
      assert.equal(v2.Version, '2');
      assert.equal(v2.FunctionArn, functionArn(name, '2'));
      assert.deepEqual(v2.Environment?.Variables, { VV: '2' });

      // Versions are immutable snapshots.
      const again1 = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' }));
      assert.deepEqual(again1.Environment?.Variables, { VV: '1' });
      assert.equal(again1.Description, 'first release');
    });

    it('publishing an unchanged $LATEST returns the latest version instead of a new one', async () => {
      const name = uniqueName('ver-same');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip())));
      await waitFunctionSettled(ctx.client, name);
      const v1 = await ctx.client.send(new PublishVersionCommand({ FunctionName: name }));
      const again = await ctx.client.send(new PublishVersionCommand({ FunctionName: name }));
      assert.equal(v1.Version, '1');
      assert.equal(again.Version, '1');
      const versions = await collectPages(ctx.client, ListVersionsByFunctionCommand, { FunctionName: name }, 'Versions');
      assert.deepEqual(versions.items.map((v) => v.Version).sort(), ['$LATEST', '1'].sort());
    });

    it('RevisionId and CodeSha256 preconditions', async () => {
      const name = uniqueName('ver-pre');
      const zip = pythonZip('return "pre"');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, zip)));
      const settled = await waitFunctionSettled(ctx.client, name);
      await ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: 'moved on' }));
      await waitFunctionSettled(ctx.client, name);
      await expectError(
        ctx.client.send(new PublishVersionCommand({ FunctionName: name, RevisionId: settled.RevisionId })),
        'PreconditionFailedException',
      );
      await expectError(
        ctx.client.send(new PublishVersionCommand({ FunctionName: name, CodeSha256: sha256b64(Buffer.from('other')) })),
        'InvalidParameterValueException',
      );
      await expectError(
        ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' })),
        'ResourceNotFoundException',
      );
      const ok = await ctx.client.send(new PublishVersionCommand({ FunctionName: name, CodeSha256: sha256b64(zip) }));
      assert.equal(ok.Version, '1');
    });

    it('PublishTo LATEST_PUBLISHED creates and then republishes $LATEST.PUBLISHED', async () => {
      const cp = await createActiveCapacityProvider(ctx.client, uniqueName('ver-cp'));
      const name = uniqueName('ver-lp');
      const zip1 = pythonZip('return "lp1"');
      await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, zip1, cp.CapacityProviderArn)));
      await waitFunctionSettled(ctx.client, name, { allowPending: true });

      const lp = await ctx.client.send(new PublishVersionCommand({ FunctionName: name, PublishTo: 'LATEST_PUBLISHED' }));
      assert.equal(lp.$metadata.httpStatusCode, 201);
      assert.equal(lp.Version, '$LATEST.PUBLISHED');
      assert.equal(lp.FunctionArn, functionArn(name, '$LATEST.PUBLISHED'));
      assert.equal(lp.CodeSha256, sha256b64(zip1));
      assert.ok(['Pending', 'Active'].includes(lp.State), `State ${lp.State}`);

      const got = await ctx.client.send(
        new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '$LATEST.PUBLISHED' }),
      );
      assert.equal(got.Version, '$LATEST.PUBLISHED');
      assert.equal(got.CodeSha256, sha256b64(zip1));
      assert.ok(got.CapacityProviderConfig, 'the published version keeps its CapacityProviderConfig');

      const zip2 = pythonZip('return "lp2"');
      await ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip2 }));
      await waitFunctionSettled(ctx.client, name, { allowPending: true });
      const lp2 = await ctx.client.send(new PublishVersionCommand({ FunctionName: name, PublishTo: 'LATEST_PUBLISHED' }));
      assert.equal(lp2.Version, '$LATEST.PUBLISHED');
      assert.equal(lp2.CodeSha256, sha256b64(zip2));
      const got2 = await ctx.client.send(
        new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '$LATEST.PUBLISHED' }),
      );
      assert.equal(got2.CodeSha256, sha256b64(zip2), 'republishing replaces $LATEST.PUBLISHED');
      await expectError(
        ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' })),
        'ResourceNotFoundException',
      );
    });
  });

  describe('ListVersionsByFunction', () => {
    it('lists $LATEST and every numbered version, page by page', async () => {
      const name = await functionWithVersions(ctx.client, 'ver-list', 3);
      const { items, pages } = await collectPages(
        ctx.client,
        ListVersionsByFunctionCommand,
        { FunctionName: name, MaxItems: 1 },
        'Versions',
      );
      for (const p of pages) assert.ok(p.Versions.length <= 1);
      assert.deepEqual(items.map((v) => v.Version).sort(), ['$LATEST', '1', '2', '3'].sort());
      for (const v of items) {
        assert.equal(v.FunctionName, name);
        assert.equal(v.FunctionArn, functionArn(name, v.Version));
        assert.equal(typeof v.CodeSha256, 'string');
      }
      assert.equal(items.find((v) => v.Version === '2').Description, 'version 2');

      const one = await ctx.client.send(new ListVersionsByFunctionCommand({ FunctionName: name }));
      assert.equal(one.Versions.length, 4);
      assert.equal(one.NextMarker, undefined);
    });
  });

  describe('aliases', () => {
    let name;
    before(async () => {
      name = await functionWithVersions(ctx.client, 'ver-alias', 2);
    });

    it('CreateAlias with RoutingConfig, then GetAlias and alias-qualified reads', async () => {
      const out = await ctx.client.send(
        new CreateAliasCommand({
          FunctionName: name,
          Name: 'live',
          FunctionVersion: '1',
          Description: 'production traffic',
          RoutingConfig: { AdditionalVersionWeights: { 2: 0.1 } },
        }),
      );
      assert.equal(out.$metadata.httpStatusCode, 201);
      assert.equal(out.AliasArn, functionArn(name, 'live'));
      assert.equal(out.Name, 'live');
      assert.equal(out.FunctionVersion, '1');
      assert.equal(out.Description, 'production traffic');
      assert.deepEqual(out.RoutingConfig, { AdditionalVersionWeights: { 2: 0.1 } });
      assert.equal(typeof out.RevisionId, 'string');

      const got = await ctx.client.send(new GetAliasCommand({ FunctionName: name, Name: 'live' }));
      assert.equal(got.$metadata.httpStatusCode, 200);
      assert.deepEqual(strip(got), strip(out));

      const viaArn = await ctx.client.send(new GetAliasCommand({ FunctionName: functionArn(name), Name: 'live' }));
      assert.deepEqual(strip(viaArn), strip(out));

      const cfg = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: 'live' }));
      assert.equal(cfg.Version, '1');
      assert.equal(cfg.FunctionArn, functionArn(name, 'live'));
      assert.equal(cfg.Description, 'version 1');
    });

    it('duplicate alias -> ResourceConflictException (409)', async () => {
      await ctx.client.send(new CreateAliasCommand({ FunctionName: name, Name: 'dup', FunctionVersion: '1' }));
      await expectError(
        ctx.client.send(new CreateAliasCommand({ FunctionName: name, Name: 'dup', FunctionVersion: '2' })),
        'ResourceConflictException',
      );
      const got = await ctx.client.send(new GetAliasCommand({ FunctionName: name, Name: 'dup' }));
      assert.equal(got.FunctionVersion, '1');
    });

    it('CreateAlias errors', async () => {
      await expectError(
        ctx.client.send(new CreateAliasCommand({ FunctionName: name, Name: 'to-nowhere', FunctionVersion: '99' })),
        'ResourceNotFoundException',
        { what: 'alias to a version that does not exist' },
      );
      await expectError(
        ctx.client.send(
          new CreateAliasCommand({
            FunctionName: name,
            Name: 'weights-to-nowhere',
            FunctionVersion: '1',
            RoutingConfig: { AdditionalVersionWeights: { 99: 0.5 } },
          }),
        ),
        'ResourceNotFoundException',
        { what: 'routing weight to a version that does not exist' },
      );
      await expectError(
        ctx.client.send(
          new CreateAliasCommand({
            FunctionName: name,
            Name: 'same-twice',
            FunctionVersion: '1',
            RoutingConfig: { AdditionalVersionWeights: { 1: 0.5 } },
          }),
        ),
        'InvalidParameterValueException',
        { what: 'routing weight to the primary version' },
      );
      await expectError(
        ctx.client.send(
          new CreateAliasCommand({
            FunctionName: name,
            Name: 'too-heavy',
            FunctionVersion: '1',
            RoutingConfig: { AdditionalVersionWeights: { 2: 1.5 } },
          }),
        ),
        VALIDATION_ERROR,
        { what: 'weight above 1.0' },
      );
      await expectError(
        ctx.client.send(new CreateAliasCommand({ FunctionName: name, Name: '12345', FunctionVersion: '1' })),
        VALIDATION_ERROR,
        { what: 'all-digit alias name' },
      );
      await expectError(
        ctx.client.send(new CreateAliasCommand({ FunctionName: uniqueName('ghost'), Name: 'x', FunctionVersion: '1' })),
        'ResourceNotFoundException',
        { what: 'alias on a missing function' },
      );
      for (const n of ['to-nowhere', 'weights-to-nowhere', 'same-twice', 'too-heavy']) {
        await expectError(ctx.client.send(new GetAliasCommand({ FunctionName: name, Name: n })), 'ResourceNotFoundException');
      }
    });

    it('UpdateAlias moves the alias; RevisionId changes and is enforced', async () => {
      const created = await ctx.client.send(
        new CreateAliasCommand({
          FunctionName: name,
          Name: 'moving',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: { 2: 0.25 } },
        }),
      );
      const up = await ctx.client.send(
        new UpdateAliasCommand({
          FunctionName: name,
          Name: 'moving',
          FunctionVersion: '2',
          Description: 'now on 2',
          RoutingConfig: { AdditionalVersionWeights: {} },
          RevisionId: created.RevisionId,
        }),
      );
      assert.equal(up.$metadata.httpStatusCode, 200);
      assert.equal(up.AliasArn, functionArn(name, 'moving'));
      assert.equal(up.FunctionVersion, '2');
      assert.equal(up.Description, 'now on 2');
      const weights = up.RoutingConfig?.AdditionalVersionWeights ?? {};
      assert.deepEqual(weights, {}, 'routing weights were cleared');
      assert.notEqual(up.RevisionId, created.RevisionId);

      await expectError(
        ctx.client.send(
          new UpdateAliasCommand({ FunctionName: name, Name: 'moving', FunctionVersion: '1', RevisionId: created.RevisionId }),
        ),
        'PreconditionFailedException',
      );
      const got = await ctx.client.send(new GetAliasCommand({ FunctionName: name, Name: 'moving' }));
      assert.equal(got.FunctionVersion, '2');

      await expectError(
        ctx.client.send(new UpdateAliasCommand({ FunctionName: name, Name: 'no-such-alias', FunctionVersion: '1' })),
        'ResourceNotFoundException',
      );
      await expectError(
        ctx.client.send(new UpdateAliasCommand({ FunctionName: name, Name: 'moving', FunctionVersion: '77' })),
        'ResourceNotFoundException',
      );
    });

    it('ListAliases lists all aliases, pages, and filters by FunctionVersion', async () => {
      const fn = await functionWithVersions(ctx.client, 'ver-lalias', 2);
      await ctx.client.send(new CreateAliasCommand({ FunctionName: fn, Name: 'a-one', FunctionVersion: '1' }));
      await ctx.client.send(new CreateAliasCommand({ FunctionName: fn, Name: 'b-two', FunctionVersion: '2' }));
      await ctx.client.send(new CreateAliasCommand({ FunctionName: fn, Name: 'c-two', FunctionVersion: '2' }));

      const all = await collectPages(ctx.client, ListAliasesCommand, { FunctionName: fn, MaxItems: 1 }, 'Aliases');
      for (const p of all.pages) assert.ok(p.Aliases.length <= 1);
      assert.deepEqual(all.items.map((a) => a.Name).sort(), ['a-one', 'b-two', 'c-two']);
      for (const a of all.items) {
        assert.equal(a.AliasArn, functionArn(fn, a.Name));
        assert.equal(typeof a.RevisionId, 'string');
      }

      const two = await collectPages(ctx.client, ListAliasesCommand, { FunctionName: fn, FunctionVersion: '2' }, 'Aliases');
      assert.deepEqual(two.items.map((a) => a.Name).sort(), ['b-two', 'c-two']);
      const one = await collectPages(ctx.client, ListAliasesCommand, { FunctionName: fn, FunctionVersion: '1' }, 'Aliases');
      assert.deepEqual(one.items.map((a) => a.Name), ['a-one']);
    });

    it('a version behind an alias cannot be deleted (409); DeleteAlias (204) frees it', async () => {
      const fn = await functionWithVersions(ctx.client, 'ver-dalias', 1);
      await ctx.client.send(new CreateAliasCommand({ FunctionName: fn, Name: 'pin', FunctionVersion: '1' }));
      await expectError(
        ctx.client.send(new DeleteFunctionCommand({ FunctionName: fn, Qualifier: '1' })),
        'ResourceConflictException',
      );
      const del = await ctx.client.send(new DeleteAliasCommand({ FunctionName: fn, Name: 'pin' }));
      assert.equal(del.$metadata.httpStatusCode, 204);
      await expectError(ctx.client.send(new GetAliasCommand({ FunctionName: fn, Name: 'pin' })), 'ResourceNotFoundException');
      await expectError(
        ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: 'pin' })),
        'ResourceNotFoundException',
      );
      const list = await ctx.client.send(new ListAliasesCommand({ FunctionName: fn }));
      assert.deepEqual(list.Aliases, []);
      const delv = await ctx.client.send(new DeleteFunctionCommand({ FunctionName: fn, Qualifier: '1' }));
      assert.equal(delv.$metadata.httpStatusCode, 204);
    });

    it('deleting the function removes its aliases', async () => {
      const fn = await functionWithVersions(ctx.client, 'ver-fnalias', 1);
      await ctx.client.send(new CreateAliasCommand({ FunctionName: fn, Name: 'gone-soon', FunctionVersion: '1' }));
      await ctx.client.send(new DeleteFunctionCommand({ FunctionName: fn }));
      await expectError(ctx.client.send(new GetAliasCommand({ FunctionName: fn, Name: 'gone-soon' })), 'ResourceNotFoundException');
      // Recreating the function does not resurrect the alias.
      await ctx.client.send(new CreateFunctionCommand(functionInput(fn, pythonZip())));
      const list = await ctx.client.send(new ListAliasesCommand({ FunctionName: fn }));
      assert.deepEqual(list.Aliases, []);
    });
  });
});
