// Functions: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
// UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction — on plain functions and on
// functions bound to a capacity provider.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  ACCOUNT,
  FUNCTION_STATES,
  HANDLER,
  ROLE,
  RUNTIME,
  UPDATE_STATUSES,
  VALIDATION_ERROR,
  assertTimestamp,
  capacityProviderArn,
  collectPages,
  cpFunctionInput,
  createActiveCapacityProvider,
  expectError,
  expectNoFunction,
  functionArn,
  functionInput,
  sha256b64,
  strip,
  uniqueName,
  useServer,
  waitFunctionGone,
  waitFunctionSettled,
} from '../lib/lambda.mjs';
import { corruptZip, pythonZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };

/** Fields every FunctionConfiguration has, whatever the function. */
function assertConfigShape(cfg, name) {
  assert.equal(cfg.FunctionName, name);
  assert.match(cfg.FunctionArn, new RegExp(`^${functionArn(name).replace(/[$.]/g, '\\$&')}(:[^:]+)?$`));
  assert.equal(cfg.Runtime, RUNTIME);
  assert.equal(cfg.Role, ROLE);
  assert.equal(cfg.Handler, HANDLER);
  assert.equal(cfg.PackageType, 'Zip');
  assert.equal(typeof cfg.CodeSha256, 'string');
  assert.equal(typeof cfg.CodeSize, 'number');
  assert.equal(typeof cfg.Version, 'string');
  assert.equal(typeof cfg.RevisionId, 'string');
  assert.ok(cfg.RevisionId.length > 0);
  assertTimestamp(cfg.LastModified, 'LastModified');
  assert.ok(FUNCTION_STATES.includes(cfg.State), `State ${cfg.State}`);
  if (cfg.LastUpdateStatus !== undefined) assert.ok(UPDATE_STATUSES.includes(cfg.LastUpdateStatus), `LastUpdateStatus ${cfg.LastUpdateStatus}`);
}

describe('functions', T, () => {
  const ctx = useServer();
  let cpArn;

  before(async () => {
    const cp = await createActiveCapacityProvider(ctx.client, uniqueName('fn-cp'), {
      InstanceRequirements: { Architectures: ['x86_64'] },
      CapacityProviderScalingConfig: { MaxVCpuCount: 64, ScalingMode: 'Auto' },
    });
    cpArn = cp.CapacityProviderArn;
  });

  describe('CreateFunction', () => {
    it('with every common option returns the full configuration (201)', async () => {
      const name = uniqueName('fn-full');
      const zip = pythonZip();
      const out = await ctx.client.send(
        new CreateFunctionCommand(
          functionInput(name, zip, {
            Description: 'compat: full create',
            Timeout: 30,
            MemorySize: 256,
            Environment: { Variables: { AA: '1', BB: 'two words' } },
            Architectures: ['x86_64'],
            Tags: { team: 'compat' },
            EphemeralStorage: { Size: 1024 },
            LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'DEBUG', SystemLogLevel: 'WARN' },
          }),
        ),
      );
      assert.equal(out.$metadata.httpStatusCode, 201);
      assertConfigShape(out, name);
      assert.equal(out.FunctionArn, functionArn(name));
      assert.equal(out.Version, '$LATEST');
      assert.equal(out.CodeSha256, sha256b64(zip));
      assert.equal(out.CodeSize, zip.length);
      assert.equal(out.Description, 'compat: full create');
      assert.equal(out.Timeout, 30);
      assert.equal(out.MemorySize, 256);
      assert.deepEqual(out.Environment?.Variables, { AA: '1', BB: 'two words' });
      assert.deepEqual(out.Architectures, ['x86_64']);
      assert.deepEqual(out.EphemeralStorage, { Size: 1024 });
      assert.deepEqual(out.TracingConfig, { Mode: 'PassThrough' });
      assert.equal(out.LoggingConfig?.LogFormat, 'JSON');
      assert.equal(out.LoggingConfig?.ApplicationLogLevel, 'DEBUG');
      assert.equal(out.LoggingConfig?.SystemLogLevel, 'WARN');
      assert.equal(out.LoggingConfig?.LogGroup, `/aws/lambda/${name}`);
      assert.equal(out.CapacityProviderConfig, undefined);
      assert.ok(['Pending', 'Active'].includes(out.State), `State ${out.State}`);

      const settled = await waitFunctionSettled(ctx.client, name);
      assert.equal(settled.State, 'Active');
      assert.equal(settled.LastUpdateStatus, 'Successful');
      assert.equal(settled.CodeSha256, out.CodeSha256);
    });

    it('fills in the documented defaults', async () => {
      const name = uniqueName('fn-defaults');
      const out = await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip())));
      assertConfigShape(out, name);
      assert.equal(out.MemorySize, 128);
      assert.equal(out.Timeout, 3);
      assert.equal(out.PackageType, 'Zip');
      assert.deepEqual(out.Architectures, ['x86_64']);
      assert.deepEqual(out.EphemeralStorage, { Size: 512 });
      assert.deepEqual(out.TracingConfig, { Mode: 'PassThrough' });
      assert.ok(out.Description === '' || out.Description === undefined, `Description ${JSON.stringify(out.Description)}`);
      assert.equal(out.LoggingConfig?.LogFormat, 'Text');
      assert.equal(out.LoggingConfig?.LogGroup, `/aws/lambda/${name}`);
      assert.equal(out.Version, '$LATEST');
    });

    it('on a capacity provider echoes CapacityProviderConfig', async () => {
      const name = uniqueName('fn-cp');
      const zip = pythonZip();
      const input = cpFunctionInput(name, zip, cpArn, {
        Description: 'on a capacity provider',
        Timeout: 60,
        Environment: { Variables: { MODE: 'lmi' } },
        Architectures: ['x86_64'],
        Tags: { kind: 'lmi' },
        EphemeralStorage: { Size: 512 },
        LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'INFO' },
      });
      const out = await ctx.client.send(new CreateFunctionCommand(input));
      assert.equal(out.$metadata.httpStatusCode, 201);
      assertConfigShape(out, name);
      assert.equal(out.FunctionArn, functionArn(name));
      assert.equal(out.Version, '$LATEST');
      assert.equal(out.MemorySize, 2048);
      assert.equal(out.Timeout, 60);
      assert.equal(out.CodeSha256, sha256b64(zip));
      assert.equal(out.CodeSize, zip.length);
      assert.deepEqual(out.CapacityProviderConfig, input.CapacityProviderConfig);
      assert.equal(out.LoggingConfig?.LogFormat, 'JSON');
      // $LATEST of a capacity-provider function is never invoked; AWS reports ActiveNonInvocable.
      assert.ok(['Pending', 'Active', 'ActiveNonInvocable'].includes(out.State), `State ${out.State}`);

      const got = await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
      assert.deepEqual(got.Configuration.CapacityProviderConfig, input.CapacityProviderConfig);
      assert.deepEqual(got.Tags, { kind: 'lmi' });
    });

    it('on a capacity provider defaults LoggingConfig to JSON', async () => {
      const name = uniqueName('fn-cplog');
      const out = await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, pythonZip(), cpArn)));
      assert.equal(out.LoggingConfig?.LogFormat, 'JSON', 'Lambda Managed Instances functions always log JSON');
      assert.equal(out.LoggingConfig?.LogGroup, `/aws/lambda/${name}`);
    });

    it('with Publish returns version 1', async () => {
      const name = uniqueName('fn-pub');
      const zip = pythonZip('return 1');
      const out = await ctx.client.send(new CreateFunctionCommand(functionInput(name, zip, { Publish: true })));
      assert.equal(out.$metadata.httpStatusCode, 201);
      assertConfigShape(out, name);
      assert.equal(out.Version, '1');
      // AWS answers with the unqualified ARN here; a qualified one is tolerated.
      assert.ok([functionArn(name), functionArn(name, '1')].includes(out.FunctionArn), out.FunctionArn);
      const v1 = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' }));
      assert.equal(v1.Version, '1');
      assert.equal(v1.FunctionArn, functionArn(name, '1'));
      assert.equal(v1.CodeSha256, sha256b64(zip));
    });

    it('on a capacity provider with Publish creates a published version (Pending or Active)', async () => {
      const name = uniqueName('fn-cppub');
      const zip = pythonZip('return 2');
      const out = await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, zip, cpArn, { Publish: true })));
      assert.equal(out.Version, '1');
      assert.ok(['Pending', 'Active'].includes(out.State), `published version State ${out.State}`);
      const v1 = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' }));
      assert.equal(v1.FunctionArn, functionArn(name, '1'));
      assert.ok(['Pending', 'Active'].includes(v1.State), `version 1 State ${v1.State}`);
      assert.equal(v1.CodeSha256, sha256b64(zip));
      assert.deepEqual(v1.CapacityProviderConfig, out.CapacityProviderConfig);
    });

    it('on a capacity provider with PublishTo LATEST_PUBLISHED creates $LATEST.PUBLISHED', async () => {
      const name = uniqueName('fn-cplp');
      const zip = pythonZip('return 3');
      const out = await ctx.client.send(
        new CreateFunctionCommand(cpFunctionInput(name, zip, cpArn, { Publish: true, PublishTo: 'LATEST_PUBLISHED' })),
      );
      assert.equal(out.Version, '$LATEST.PUBLISHED');
      const lp = await ctx.client.send(
        new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '$LATEST.PUBLISHED' }),
      );
      assert.equal(lp.Version, '$LATEST.PUBLISHED');
      assert.equal(lp.FunctionArn, functionArn(name, '$LATEST.PUBLISHED'));
      assert.equal(lp.CodeSha256, sha256b64(zip));
      assert.ok(['Pending', 'Active'].includes(lp.State), `$LATEST.PUBLISHED State ${lp.State}`);
      // No numbered version was created.
      await expectError(
        ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' })),
        'ResourceNotFoundException',
      );
    });
  });

  describe('CreateFunction errors (nothing is created)', () => {
    it('duplicate name -> ResourceConflictException (409)', async () => {
      const name = uniqueName('fn-dup');
      const first = await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip('return "a"'))));
      await expectError(
        ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip('return "b"')))),
        'ResourceConflictException',
      );
      const got = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      assert.equal(got.CodeSha256, first.CodeSha256, 'the existing function is untouched');
    });

    const invalid = [
      ['missing Role', (n, z) => { const i = functionInput(n, z); delete i.Role; return i; }, 'InvalidParameterValueException'],
      ['missing Runtime', (n, z) => { const i = functionInput(n, z); delete i.Runtime; return i; }, 'InvalidParameterValueException'],
      ['missing Code', (n, z) => { const i = functionInput(n, z); delete i.Code; return i; }, 'InvalidParameterValueException'],
      ['empty Code', (n, z) => functionInput(n, z, { Code: {} }), 'InvalidParameterValueException'],
      ['unknown Runtime', (n, z) => functionInput(n, z, { Runtime: 'cobol85' }), 'InvalidParameterValueException'],
      ['Role that is not a role ARN', (n, z) => functionInput(n, z, { Role: 'r1' }), VALIDATION_ERROR],
      ['MemorySize 64', (n, z) => functionInput(n, z, { MemorySize: 64 }), VALIDATION_ERROR],
      ['MemorySize 32769', (n, z) => functionInput(n, z, { MemorySize: 32769 }), VALIDATION_ERROR],
      ['Timeout 0', (n, z) => functionInput(n, z, { Timeout: 0 }), VALIDATION_ERROR],
      ['EphemeralStorage 100', (n, z) => functionInput(n, z, { EphemeralStorage: { Size: 100 } }), VALIDATION_ERROR],
      ['two Architectures', (n, z) => functionInput(n, z, { Architectures: ['x86_64', 'arm64'] }), VALIDATION_ERROR],
      ['unknown Architecture', (n, z) => functionInput(n, z, { Architectures: ['sparc'] }), VALIDATION_ERROR],
      ['Description over 256 chars', (n, z) => functionInput(n, z, { Description: 'd'.repeat(257) }), VALIDATION_ERROR],
      ['PublishTo with an unknown value', (n, z) => functionInput(n, z, { Publish: true, PublishTo: 'SOMEWHERE' }), VALIDATION_ERROR],
    ];
    for (const [what, build, code] of invalid) {
      it(`${what} -> ${code}`, async () => {
        const name = uniqueName('fn-bad');
        await expectError(ctx.client.send(new CreateFunctionCommand(build(name, pythonZip()))), code, { what });
        await expectNoFunction(ctx.client, name);
      });
    }

    it(`bad function names -> ${VALIDATION_ERROR}`, async () => {
      for (const bad of ['bad name!', 'has/slash', 'dots.are.bad', 'x'.repeat(65)]) {
        await expectError(
          ctx.client.send(new CreateFunctionCommand(functionInput(bad, pythonZip()))),
          VALIDATION_ERROR,
          { what: JSON.stringify(bad) },
        );
      }
    });

    const invalidCp = [
      ['MemorySize 1024 (below 2048)', (n, z, a) => cpFunctionInput(n, z, a, { MemorySize: 1024 })],
      ['ExecutionEnvironmentMemoryGiBPerVCpu 3 (only 2, 4, 8)', (n, z, a) => cpFunctionInput(n, z, a, { MemorySize: 6144 }, { ExecutionEnvironmentMemoryGiBPerVCpu: 3 })],
      ['ExecutionEnvironmentMemoryGiBPerVCpu 16 (above 8)', (n, z, a) => cpFunctionInput(n, z, a, { MemorySize: 16384 }, { ExecutionEnvironmentMemoryGiBPerVCpu: 16 })],
      ['PerExecutionEnvironmentMaxConcurrency 0', (n, z, a) => cpFunctionInput(n, z, a, {}, { PerExecutionEnvironmentMaxConcurrency: 0 })],
      ['PerExecutionEnvironmentMaxConcurrency 1601', (n, z, a) => cpFunctionInput(n, z, a, {}, { PerExecutionEnvironmentMaxConcurrency: 1601 })],
      ['CapacityProviderArn that is not an ARN', (n, z) => cpFunctionInput(n, z, 'not-an-arn')],
      ['missing CapacityProviderArn', (n, z, a) => cpFunctionInput(n, z, a, {}, { CapacityProviderArn: undefined })],
      ['arm64 function on an x86_64 provider', (n, z, a) => cpFunctionInput(n, z, a, { Architectures: ['arm64'] })],
      ['LogFormat Text (managed instances log JSON only)', (n, z, a) => cpFunctionInput(n, z, a, { LoggingConfig: { LogFormat: 'Text' } })],
    ];
    for (const [what, build] of invalidCp) {
      it(`capacity provider: ${what} -> InvalidParameterValueException`, async () => {
        const name = uniqueName('fn-badcp');
        await expectError(
          ctx.client.send(new CreateFunctionCommand(build(name, pythonZip(), cpArn))),
          'InvalidParameterValueException',
          { what },
        );
        await expectNoFunction(ctx.client, name);
      });
    }

    it('capacity provider: unknown CapacityProviderArn -> ResourceNotFoundException or InvalidParameterValueException', async () => {
      const name = uniqueName('fn-nocp');
      const err = await expectError(
        ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, pythonZip(), capacityProviderArn(uniqueName('ghost'))))),
        ['ResourceNotFoundException', 'InvalidParameterValueException'],
      );
      const status = err.$metadata.httpStatusCode;
      assert.ok(status >= 400 && status < 500, `4xx expected, got ${status}`);
      await expectNoFunction(ctx.client, name);
    });
  });

  describe('GetFunction / GetFunctionConfiguration', () => {
    let name;
    let zip;
    before(async () => {
      name = uniqueName('fn-get');
      zip = pythonZip('return "get"');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, zip, { Tags: { a: '1', b: '2' }, Description: 'get me' })));
      await waitFunctionSettled(ctx.client, name);
    });

    it('GetFunction returns Configuration, Code.Location and Tags', async () => {
      const out = await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      assertConfigShape(out.Configuration, name);
      assert.equal(out.Configuration.FunctionArn, functionArn(name));
      assert.equal(out.Configuration.Version, '$LATEST');
      assert.equal(out.Configuration.CodeSha256, sha256b64(zip));
      assert.equal(out.Configuration.CodeSize, zip.length);
      assert.equal(out.Configuration.Description, 'get me');
      assert.equal(typeof out.Code?.Location, 'string', 'Code.Location missing');
      assert.doesNotThrow(() => new URL(out.Code.Location), `Code.Location is a URL: ${out.Code.Location}`);
      if (out.Code.RepositoryType !== undefined) assert.equal(out.Code.RepositoryType, 'S3');
      assert.deepEqual(out.Tags, { a: '1', b: '2' });
    });

    it('GetFunction by ARN and by partial ARN returns the same function', async () => {
      const byName = await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
      const byArn = await ctx.client.send(new GetFunctionCommand({ FunctionName: functionArn(name) }));
      const byPartial = await ctx.client.send(new GetFunctionCommand({ FunctionName: `${ACCOUNT}:function:${name}` }));
      assert.deepEqual(byArn.Configuration, byName.Configuration);
      assert.deepEqual(byPartial.Configuration, byName.Configuration);
    });

    it('GetFunctionConfiguration equals GetFunction.Configuration; Qualifier $LATEST qualifies the ARN', async () => {
      const cfg = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      const fn = await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
      assert.deepEqual(strip(cfg), fn.Configuration);
      const latest = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '$LATEST' }));
      assert.equal(latest.FunctionArn, functionArn(name, '$LATEST'));
      assert.equal(latest.Version, '$LATEST');
      assert.equal(latest.CodeSha256, cfg.CodeSha256);
    });

    it('a qualified ARN whose qualifier contradicts Qualifier is refused', async () => {
      await expectError(
        ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: functionArn(name, '$LATEST'), Qualifier: '7' })),
        'InvalidParameterValueException',
      );
    });

    it('unknown function or version -> ResourceNotFoundException (404)', async () => {
      const ghost = uniqueName('fn-ghost');
      for (const send of [
        () => ctx.client.send(new GetFunctionCommand({ FunctionName: ghost })),
        () => ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: ghost })),
        () => ctx.client.send(new GetFunctionCommand({ FunctionName: functionArn(ghost) })),
        () => ctx.client.send(new GetFunctionCommand({ FunctionName: name, Qualifier: '99' })),
        () => ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: 'no-such-alias' })),
        () => ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: ghost, ZipFile: pythonZip() })),
        () => ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: ghost, Description: 'x' })),
        () => ctx.client.send(new DeleteFunctionCommand({ FunctionName: ghost })),
        () => ctx.client.send(new PublishVersionCommand({ FunctionName: ghost })),
        () => ctx.client.send(new ListVersionsByFunctionCommand({ FunctionName: ghost })),
        () => ctx.client.send(new ListAliasesCommand({ FunctionName: ghost })),
      ]) {
        const err = await expectError(send(), 'ResourceNotFoundException');
        assert.equal(err.$metadata.httpStatusCode, 404);
      }
    });
  });

  describe('ListFunctions', () => {
    it('pages with MaxItems/Marker and lists every function exactly once', async () => {
      const prefix = uniqueName('fn-list');
      const names = [1, 2, 3, 4, 5].map((i) => `${prefix}-${i}`);
      for (const n of names) await ctx.client.send(new CreateFunctionCommand(functionInput(n, pythonZip())));

      const { items, pages } = await collectPages(ctx.client, ListFunctionsCommand, { MaxItems: 2 }, 'Functions');
      for (const p of pages) assert.ok(p.Functions.length <= 2, `page of ${p.Functions.length} with MaxItems 2`);
      assert.ok(pages.length >= 3, 'five functions with MaxItems 2 need at least three pages');
      const listed = items.map((f) => f.FunctionName);
      assert.equal(new Set(listed).size, listed.length, 'a function was listed twice');
      for (const n of names) assert.ok(listed.includes(n), `${n} missing from ListFunctions`);
      for (const f of items) {
        assert.equal(f.Version, '$LATEST', 'without FunctionVersion=ALL only $LATEST is listed');
        assert.equal(typeof f.FunctionArn, 'string');
      }
      const mine = items.find((f) => f.FunctionName === names[0]);
      assert.equal(mine.Runtime, RUNTIME);
      assert.equal(mine.Handler, HANDLER);
    });

    it('FunctionVersion ALL also lists published versions', async () => {
      const name = uniqueName('fn-listall');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip(), { Publish: true })));
      const all = await collectPages(ctx.client, ListFunctionsCommand, { FunctionVersion: 'ALL', MaxItems: 50 }, 'Functions');
      const versions = all.items.filter((f) => f.FunctionName === name).map((f) => f.Version).sort();
      assert.deepEqual(versions, ['$LATEST', '1'].sort());
      const plain = await collectPages(ctx.client, ListFunctionsCommand, { MaxItems: 50 }, 'Functions');
      assert.deepEqual(plain.items.filter((f) => f.FunctionName === name).map((f) => f.Version), ['$LATEST']);
    });

    it(`rejects an unknown FunctionVersion filter and MaxItems 0 (${VALIDATION_ERROR})`, async () => {
      await expectError(ctx.client.send(new ListFunctionsCommand({ FunctionVersion: 'SOME' })), VALIDATION_ERROR);
      await expectError(ctx.client.send(new ListFunctionsCommand({ MaxItems: 0 })), VALIDATION_ERROR);
    });
  });

  describe('UpdateFunctionCode', () => {
    it('replaces the code: new CodeSha256/CodeSize/RevisionId', async () => {
      const name = uniqueName('fn-code');
      const zip1 = pythonZip('return "v1"');
      const created = await ctx.client.send(new CreateFunctionCommand(functionInput(name, zip1)));
      await waitFunctionSettled(ctx.client, name);
      const zip2 = pythonZip('return "v2 is a little longer"');
      const out = await ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip2 }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      assertConfigShape(out, name);
      assert.equal(out.Version, '$LATEST');
      assert.equal(out.CodeSha256, sha256b64(zip2));
      assert.notEqual(out.CodeSha256, created.CodeSha256);
      assert.equal(out.CodeSize, zip2.length);
      assert.notEqual(out.RevisionId, created.RevisionId);
      assert.ok(['InProgress', 'Successful'].includes(out.LastUpdateStatus), `LastUpdateStatus ${out.LastUpdateStatus}`);
      const settled = await waitFunctionSettled(ctx.client, name);
      assert.equal(settled.LastUpdateStatus, 'Successful');
      assert.equal(settled.CodeSha256, sha256b64(zip2));
    });

    it('with Publish returns the new version each time', async () => {
      const name = uniqueName('fn-codepub');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip('return 0'))));
      await waitFunctionSettled(ctx.client, name);
      const zipA = pythonZip('return "A"');
      const a = await ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zipA, Publish: true }));
      assert.equal(a.Version, '1');
      assert.equal(a.CodeSha256, sha256b64(zipA));
      await waitFunctionSettled(ctx.client, name);
      const zipB = pythonZip('return "B"');
      const b = await ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zipB, Publish: true }));
      assert.equal(b.Version, '2');
      assert.equal(b.FunctionArn, functionArn(name, '2'));
      const v1 = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' }));
      assert.equal(v1.CodeSha256, sha256b64(zipA), 'version 1 keeps its code');
      const latest = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      assert.equal(latest.CodeSha256, sha256b64(zipB));
    });

    it('a stale RevisionId -> PreconditionFailedException (412), code unchanged', async () => {
      const name = uniqueName('fn-coderev');
      const created = await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip('return "r"'))));
      await waitFunctionSettled(ctx.client, name);
      await ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: 'bump revision' }));
      await waitFunctionSettled(ctx.client, name);
      await expectError(
        ctx.client.send(
          new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: pythonZip('return "s"'), RevisionId: created.RevisionId }),
        ),
        'PreconditionFailedException',
      );
      const cfg = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      assert.equal(cfg.CodeSha256, created.CodeSha256);
    });

    it('a corrupt zip -> InvalidParameterValueException, the old code stays', async () => {
      const name = uniqueName('fn-codebad');
      const created = await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip('return "ok"'))));
      await waitFunctionSettled(ctx.client, name);
      await expectError(
        ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: corruptZip() })),
        'InvalidParameterValueException',
      );
      const cfg = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      assert.equal(cfg.CodeSha256, created.CodeSha256);
      assert.equal(cfg.CodeSize, created.CodeSize);
    });

    it('on a capacity-provider function with Publish yields a Pending/Active version', async () => {
      const name = uniqueName('fn-cpcode');
      await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, pythonZip('return 10'), cpArn)));
      await waitFunctionSettled(ctx.client, name, { allowPending: true });
      const zip = pythonZip('return 11');
      const out = await ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip, Publish: true }));
      assert.equal(out.Version, '1');
      assert.equal(out.CodeSha256, sha256b64(zip));
      assert.ok(['Pending', 'Active'].includes(out.State), `State ${out.State}`);
    });
  });

  describe('UpdateFunctionConfiguration', () => {
    it('changes memory, timeout, environment and description; RevisionId changes', async () => {
      const name = uniqueName('fn-conf');
      const created = await ctx.client.send(
        new CreateFunctionCommand(functionInput(name, pythonZip(), { Environment: { Variables: { OLD: 'yes' } } })),
      );
      await waitFunctionSettled(ctx.client, name);
      const out = await ctx.client.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: name,
          MemorySize: 512,
          Timeout: 20,
          Description: 'changed',
          Environment: { Variables: { NEW: 'value', NN: '2' } },
        }),
      );
      assert.equal(out.$metadata.httpStatusCode, 200);
      assertConfigShape(out, name);
      assert.equal(out.MemorySize, 512);
      assert.equal(out.Timeout, 20);
      assert.equal(out.Description, 'changed');
      assert.deepEqual(out.Environment?.Variables, { NEW: 'value', NN: '2' });
      assert.notEqual(out.RevisionId, created.RevisionId);
      assert.equal(out.CodeSha256, created.CodeSha256, 'configuration updates keep the code');

      const got = await waitFunctionSettled(ctx.client, name);
      assert.equal(got.MemorySize, 512);
      assert.equal(got.Description, 'changed');
      assert.deepEqual(got.Environment?.Variables, { NEW: 'value', NN: '2' });
      assert.equal(got.LastUpdateStatus, 'Successful');
    });

    it('a stale RevisionId -> PreconditionFailedException (412), nothing changes', async () => {
      const name = uniqueName('fn-confrev');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip())));
      const settled = await waitFunctionSettled(ctx.client, name);
      // The current RevisionId is accepted...
      const first = await ctx.client.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: 'one', RevisionId: settled.RevisionId }),
      );
      assert.notEqual(first.RevisionId, settled.RevisionId);
      await waitFunctionSettled(ctx.client, name);
      // ...the previous one no longer is.
      await expectError(
        ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: 'two', RevisionId: settled.RevisionId })),
        'PreconditionFailedException',
      );
      const got = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      assert.equal(got.Description, 'one');
    });

    it(`invalid values are refused and change nothing`, async () => {
      const name = uniqueName('fn-confbad');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip(), { MemorySize: 256 })));
      await waitFunctionSettled(ctx.client, name);
      await expectError(
        ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, MemorySize: 64 })),
        VALIDATION_ERROR,
      );
      await expectError(
        ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Runtime: 'cobol85' })),
        'InvalidParameterValueException',
      );
      // A plain function cannot be moved onto a capacity provider.
      await expectError(
        ctx.client.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: name,
            CapacityProviderConfig: { LambdaManagedInstancesCapacityProviderConfig: { CapacityProviderArn: cpArn } },
          }),
        ),
        'InvalidParameterValueException',
      );
      const got = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      assert.equal(got.MemorySize, 256);
      assert.equal(got.Runtime, RUNTIME);
      assert.equal(got.CapacityProviderConfig, undefined);
    });

    it('on a capacity-provider function: MemorySize below 2048 is refused, 4096 is accepted', async () => {
      const name = uniqueName('fn-cpconf');
      await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, pythonZip(), cpArn)));
      await waitFunctionSettled(ctx.client, name, { allowPending: true });
      await expectError(
        ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, MemorySize: 1024 })),
        'InvalidParameterValueException',
      );
      const out = await ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, MemorySize: 4096 }));
      assert.equal(out.MemorySize, 4096);
      assert.equal(out.CapacityProviderConfig?.LambdaManagedInstancesCapacityProviderConfig?.CapacityProviderArn, cpArn);
    });
  });

  describe('DeleteFunction', () => {
    it('deletes the whole function (204); afterwards everything is 404', async () => {
      const name = uniqueName('fn-del');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip(), { Publish: true })));
      const out = await ctx.client.send(new DeleteFunctionCommand({ FunctionName: name }));
      assert.equal(out.$metadata.httpStatusCode, 204);
      await expectNoFunction(ctx.client, name);
      await expectNoFunction(ctx.client, name, '1');
      await expectError(ctx.client.send(new ListVersionsByFunctionCommand({ FunctionName: name })), 'ResourceNotFoundException');
      await expectError(ctx.client.send(new DeleteFunctionCommand({ FunctionName: name })), 'ResourceNotFoundException');
      // The name is free again.
      const again = await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip())));
      assert.equal(again.FunctionName, name);
    });

    it('with Qualifier deletes just that version', async () => {
      const name = uniqueName('fn-delver');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip('return 1'), { Publish: true })));
      await waitFunctionSettled(ctx.client, name);
      await ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: pythonZip('return 2'), Publish: true }));
      await waitFunctionSettled(ctx.client, name);

      const out = await ctx.client.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '1' }));
      assert.equal(out.$metadata.httpStatusCode, 204);
      await expectNoFunction(ctx.client, name, '1');
      const v2 = await ctx.client.send(new GetFunctionCommand({ FunctionName: name, Qualifier: '2' }));
      assert.equal(v2.Configuration.Version, '2');
      const latest = await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
      assert.equal(latest.Configuration.Version, '$LATEST');
      const versions = await collectPages(ctx.client, ListVersionsByFunctionCommand, { FunctionName: name }, 'Versions');
      assert.deepEqual(versions.items.map((v) => v.Version).sort(), ['$LATEST', '2'].sort());
    });

    it('Qualifier $LATEST is refused (InvalidParameterValueException); unknown version -> 404', async () => {
      const name = uniqueName('fn-dellatest');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip())));
      await expectError(
        ctx.client.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '$LATEST' })),
        'InvalidParameterValueException',
      );
      await expectError(
        ctx.client.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '42' })),
        'ResourceNotFoundException',
      );
      const still = await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
      assert.equal(still.Configuration.FunctionName, name);
    });

    it('a capacity-provider function is deleted (202, as its teardown is asynchronous) and disappears', async () => {
      const name = uniqueName('fn-cpdel');
      await ctx.client.send(new CreateFunctionCommand(cpFunctionInput(name, pythonZip(), cpArn, { Publish: true })));
      const out = await ctx.client.send(new DeleteFunctionCommand({ FunctionName: name }));
      assert.equal(out.$metadata.httpStatusCode, 202);
      assert.equal(out.StatusCode, 202);
      await waitFunctionGone(ctx.client, name);
      await expectNoFunction(ctx.client, name, '1');
    });
  });
});
