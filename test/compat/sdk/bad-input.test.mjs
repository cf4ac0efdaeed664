// Hostile and malformed input: raw HTTP requests (no SDK) with broken bodies, oversized bodies,
// unknown routes; and hostile deployment packages through the SDK. After each refusal nothing
// may be half-written and the server must still be healthy.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateFunctionCommand, GetFunctionConfigurationCommand, UpdateFunctionCodeCommand } from '@aws-sdk/client-lambda';
import {
  HANDLER,
  ROLE,
  RUNTIME,
  assertHealthy,
  assertWireError,
  expectError,
  expectNoFunction,
  functionInput,
  rawRequest,
  sha256b64,
  uniqueName,
  useServer,
  waitFunctionSettled,
} from '../lib/lambda.mjs';
import {
  absolutePathZip,
  corruptZip,
  escapingSymlinkZip,
  makeZip,
  notAZip,
  pythonZip,
  truncatedZip,
  zipBomb,
  zipSlip,
} from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };
const JSON_HEADERS = { 'content-type': 'application/json' };
const BAD_BODY = ['InvalidRequestContentException', 'InvalidParameterValueException'];
const TOO_LARGE = ['RequestTooLargeException', 'RequestEntityTooLargeException'];

function createBody(name, extra = {}) {
  return JSON.stringify({
    FunctionName: name,
    Runtime: RUNTIME,
    Role: ROLE,
    Handler: HANDLER,
    Code: { ZipFile: pythonZip().toString('base64') },
    ...extra,
  });
}

describe('bad input', T, () => {
  const ctx = useServer();

  const post = (path, body, headers = JSON_HEADERS) => rawRequest(ctx.endpoint, { method: 'POST', path, body, headers });

  describe('raw requests', () => {
    it('a well-formed raw CreateFunction works (control for the cases below)', async () => {
      const name = uniqueName('raw-ok');
      const res = await post('/2015-03-31/functions', createBody(name));
      assert.equal(res.status, 201, res.text.slice(0, 300));
      assert.equal(res.json?.FunctionName, name);
      assert.match(res.headers['content-type'] ?? '', /json/);
      assert.ok(res.headers['x-amzn-requestid'], 'x-amzn-RequestId header expected on responses');
    });

    it('ListFunctions answers on the trailing-slash path older botocore uses (/2015-03-31/functions/)', async () => {
      const res = await rawRequest(ctx.endpoint, { path: '/2015-03-31/functions/', query: 'MaxItems=1' });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      assert.ok(Array.isArray(res.json?.Functions), 'Functions array expected');
      assert.ok(res.json.Functions.length <= 1);
    });

    it('malformed JSON -> 400 InvalidRequestContentException', async () => {
      for (const body of ['{"FunctionName": "x", ', '{not json at all}', '\u0000\u0001\u0002', '{"a":1}}']) {
        const res = await post('/2015-03-31/functions', body);
        assertWireError(res, 'InvalidRequestContentException', 400);
      }
      await assertHealthy(ctx.endpoint);
    });

    it('JSON that is not an object -> 400', async () => {
      for (const body of ['[1,2,3]', '"a string"', '42', 'null']) {
        const res = await post('/2015-03-31/functions', body);
        assertWireError(res, BAD_BODY, 400);
      }
    });

    it('wrong member types -> 400, nothing created', async () => {
      const cases = [
        ['MemorySize as a string', (n) => createBody(n, { MemorySize: 'big' })],
        ['Timeout as an object', (n) => createBody(n, { Timeout: { s: 3 } })],
        ['Environment.Variables as a list', (n) => createBody(n, { Environment: { Variables: ['A=1'] } })],
        ['Tags as a list', (n) => createBody(n, { Tags: ['a'] })],
        ['Publish as a string', (n) => createBody(n, { Publish: 'yes please' })],
        ['ZipFile that is not base64', (n) => createBody(n, { Code: { ZipFile: '!!! not base64 !!!' } })],
        ['Architectures as a string', (n) => createBody(n, { Architectures: 'x86_64' })],
      ];
      for (const [what, build] of cases) {
        const name = uniqueName('raw-type');
        const res = await post('/2015-03-31/functions', build(name));
        assert.equal(res.status, 400, `${what}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
        assertWireError(res, BAD_BODY, 400);
        await expectNoFunction(ctx.client, name);
      }
      // FunctionName itself with the wrong type.
      const res = await post('/2015-03-31/functions', createBody('ignored', { FunctionName: 12345 }));
      assertWireError(res, BAD_BODY, 400);
      await expectNoFunction(ctx.client, '12345');
    });

    it('wrong types on the capacity-provider API -> 400', async () => {
      const name = uniqueName('raw-cp');
      const res = await post(
        '/2025-11-30/capacity-providers',
        JSON.stringify({
          CapacityProviderName: name,
          VpcConfig: { SubnetIds: 'subnet-a', SecurityGroupIds: ['sg-1'] },
          PermissionsConfig: { CapacityProviderOperatorRoleArn: 'arn:aws:iam::123456789012:role/op' },
        }),
      );
      assertWireError(res, BAD_BODY, 400);
      const get = await rawRequest(ctx.endpoint, { path: `/2025-11-30/capacity-providers/${name}` });
      assertWireError(get, 'ResourceNotFoundException', 404);
    });

    it('errors on the wire carry X-Amzn-ErrorType and a JSON body (ResourceNotFoundException)', async () => {
      const name = uniqueName('raw-ghost');
      const res = await rawRequest(ctx.endpoint, { path: `/2015-03-31/functions/${name}` });
      assertWireError(res, 'ResourceNotFoundException', 404);
      assert.match(res.headers['content-type'] ?? '', /json/);
      assert.ok((res.json.Message ?? res.json.message).includes(name), 'the message names the function');
    });

    it('a ~75 MB request body -> 413 RequestTooLargeException; server stays healthy', async () => {
      const name = uniqueName('raw-huge');
      // 54 MiB of payload base64-encodes to ~75.5 MB: over AWS's 70,167,211-byte CreateFunction
      // request limit and, decoded, over the 50 MB zipped-package limit.
      const payload = Buffer.alloc(54 * 1024 * 1024, 0x41);
      const body = Buffer.from(createBody(name, { Code: { ZipFile: payload.toString('base64') } }));
      assert.ok(body.length > 70_167_211);
      const res = await post('/2015-03-31/functions', body);
      assertWireError(res, TOO_LARGE, 413);
      await assertHealthy(ctx.endpoint);
      await expectNoFunction(ctx.client, name);
    });

    it('a zip just over 50 MB in a request under the request limit -> 413 (SDK)', async () => {
      const name = uniqueName('raw-50mb');
      const zip = Buffer.alloc(52_500_000, 0x42); // > 52,428,800; base64 stays < 70,167,211
      await expectError(
        ctx.client.send(new CreateFunctionCommand(functionInput(name, zip))),
        TOO_LARGE,
        { status: 413 },
      );
      await assertHealthy(ctx.endpoint);
      await expectNoFunction(ctx.client, name);
    });

    it('unknown routes -> 404 UnknownOperationException with a JSON body', async () => {
      for (const [method, path] of [
        ['GET', '/2015-03-31/no-such-thing'],
        ['POST', '/totally/unknown'],
        ['GET', '/2025-11-30/capacity-widgets'],
        ['DELETE', '/2015-03-31/functions/x/nothing-here'],
      ]) {
        const res = await rawRequest(ctx.endpoint, { method, path, headers: JSON_HEADERS, body: method === 'POST' ? '{}' : undefined });
        assertWireError(res, 'UnknownOperationException', 404);
      }
      await assertHealthy(ctx.endpoint);
    });

    it('an unsupported method on a known path -> 4xx with X-Amzn-ErrorType', async () => {
      const res = await rawRequest(ctx.endpoint, { method: 'PATCH', path: '/2015-03-31/functions', headers: JSON_HEADERS, body: '{}' });
      assert.ok([404, 405].includes(res.status), `HTTP ${res.status}`);
      assert.ok(res.headers['x-amzn-errortype'], 'X-Amzn-ErrorType header expected');
      await assertHealthy(ctx.endpoint);
    });
  });

  describe('hostile deployment packages (SDK CreateFunction) -> InvalidParameterValueException', () => {
    const cases = [
      ['zip-slip ../evil.py', () => zipSlip('../evil.py')],
      ['zip-slip hidden in a path a/../../evil.py', () => zipSlip('a/../../evil.py')],
      ['absolute path /etc/x', () => absolutePathZip('/etc/x')],
      ['symlink escaping the package', () => escapingSymlinkZip('../../../../../../etc/passwd')],
      ['symlink to an absolute path', () => escapingSymlinkZip('/etc/passwd', 'abs-link')],
      ['zip bomb (260 MiB of zeros in one entry)', () => zipBomb()],
      ['zip bomb whose header understates the size', () => zipBomb({ declaredSize: 1024 })],
      ['corrupt deflate data', () => corruptZip()],
      ['truncated archive', () => truncatedZip()],
      ['not a zip at all', () => notAZip()],
      ['empty ZipFile', () => Buffer.alloc(0)],
    ];
    for (const [what, build] of cases) {
      it(`${what}: refused, nothing half-written, server healthy`, async () => {
        const name = uniqueName('zip-bad');
        const zip = await build();
        await expectError(ctx.client.send(new CreateFunctionCommand(functionInput(name, zip))), 'InvalidParameterValueException', {
          what,
        });
        await expectNoFunction(ctx.client, name);
        await assertHealthy(ctx.endpoint);
      });
    }

    it('UpdateFunctionCode with hostile packages is refused and keeps the old code', async () => {
      const name = uniqueName('zip-upd');
      const good = pythonZip('return "good"');
      await ctx.client.send(new CreateFunctionCommand(functionInput(name, good)));
      await waitFunctionSettled(ctx.client, name);
      for (const [what, zip] of [
        ['zip-slip', zipSlip()],
        ['escaping symlink', escapingSymlinkZip()],
        ['zip bomb', await zipBomb()],
      ]) {
        await expectError(
          ctx.client.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip })),
          'InvalidParameterValueException',
          { what },
        );
        const cfg = await ctx.client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
        assert.equal(cfg.CodeSha256, sha256b64(good), `${what} changed the code`);
      }
    });

    it('a benign package with directories, an executable and an internal symlink is accepted', async () => {
      const name = uniqueName('zip-benign');
      const zip = makeZip([
        { name: 'lambda_function.py', data: 'from lib.util import value\n\ndef handler(e, c):\n    return value()\n', mode: 0o100644 },
        { name: 'lib/', mode: 0o040755 },
        { name: 'lib/__init__.py', data: '', mode: 0o100644 },
        { name: 'lib/util.py', data: 'def value():\n    return 42\n', mode: 0o100644 },
        { name: 'bin/tool', data: '#!/bin/sh\necho tool\n', mode: 0o100755 },
        { name: 'alias.py', data: 'lambda_function.py', mode: 0o120777, method: 'store' },
        { name: 'docs/readme.txt', data: 'stored, not deflated', method: 'store' },
      ]);
      const out = await ctx.client.send(new CreateFunctionCommand(functionInput(name, zip)));
      assert.equal(out.CodeSha256, sha256b64(zip));
      assert.equal(out.CodeSize, zip.length);
    });
  });

  it('the server is still healthy at the end', async () => {
    await assertHealthy(ctx.endpoint);
  });
});
