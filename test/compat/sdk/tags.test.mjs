// Tags: TagResource / UntagResource / ListTags on function ARNs and capacity-provider ARNs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateCapacityProviderCommand,
  CreateFunctionCommand,
  DeleteCapacityProviderCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  ListTagsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  ACCOUNT,
  REGION,
  VALIDATION_ERROR,
  capacityProviderArn,
  cpInput,
  eventually,
  expectError,
  functionArn,
  functionInput,
  uniqueName,
  useServer,
  waitFunctionSettled,
} from '../lib/lambda.mjs';
import { pythonZip } from '../lib/zip.mjs';

// Suite-wide bound; individual waits are bounded far lower (SDK request timeout 60 s, polls 15 s).
const T = { timeout: 600_000 };

async function listTags(client, arn) {
  const out = await client.send(new ListTagsCommand({ Resource: arn }));
  assert.equal(out.$metadata.httpStatusCode, 200);
  return out.Tags ?? {};
}

describe('tags', T, () => {
  const ctx = useServer();

  it('function: create-time tags, TagResource (204), UntagResource (204), ListTags, GetFunction.Tags', async () => {
    const name = uniqueName('tag-fn');
    const arn = functionArn(name);
    await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip(), { Tags: { a: '1', keep: 'me' } })));
    assert.deepEqual(await listTags(ctx.client, arn), { a: '1', keep: 'me' });

    const tag = await ctx.client.send(new TagResourceCommand({ Resource: arn, Tags: { a: 'changed', b: '2', 'with space': 'v w' } }));
    assert.equal(tag.$metadata.httpStatusCode, 204);
    assert.deepEqual(await listTags(ctx.client, arn), { a: 'changed', b: '2', keep: 'me', 'with space': 'v w' });

    const untag = await ctx.client.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['a', 'with space', 'never-set'] }));
    assert.equal(untag.$metadata.httpStatusCode, 204);
    const now = await listTags(ctx.client, arn);
    assert.deepEqual(now, { b: '2', keep: 'me' });

    const fn = await ctx.client.send(new GetFunctionCommand({ FunctionName: name }));
    assert.deepEqual(fn.Tags, now);

    // Configuration updates keep tags.
    await waitFunctionSettled(ctx.client, name);
    await ctx.client.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: 'still tagged' }));
    assert.deepEqual(await listTags(ctx.client, arn), now);
  });

  it('function without tags lists an empty map', async () => {
    const name = uniqueName('tag-none');
    await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip())));
    assert.deepEqual(await listTags(ctx.client, functionArn(name)), {});
  });

  it('deleting a function drops its tags', async () => {
    const name = uniqueName('tag-del');
    await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip(), { Tags: { old: 'x' } })));
    await ctx.client.send(new DeleteFunctionCommand({ FunctionName: name }));
    await expectError(ctx.client.send(new ListTagsCommand({ Resource: functionArn(name) })), 'ResourceNotFoundException');
    await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip())));
    assert.deepEqual(await listTags(ctx.client, functionArn(name)), {});
  });

  it('capacity provider: create-time tags, TagResource, UntagResource, ListTags', async () => {
    const name = uniqueName('tag-cp');
    const arn = capacityProviderArn(name);
    await ctx.client.send(new CreateCapacityProviderCommand(cpInput(name, { Tags: { team: 'infra', cost: 'a' } })));
    assert.deepEqual(await listTags(ctx.client, arn), { team: 'infra', cost: 'a' });

    const tag = await ctx.client.send(new TagResourceCommand({ Resource: arn, Tags: { env: 'prod', cost: 'b' } }));
    assert.equal(tag.$metadata.httpStatusCode, 204);
    assert.deepEqual(await listTags(ctx.client, arn), { team: 'infra', cost: 'b', env: 'prod' });

    const untag = await ctx.client.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['team'] }));
    assert.equal(untag.$metadata.httpStatusCode, 204);
    assert.deepEqual(await listTags(ctx.client, arn), { cost: 'b', env: 'prod' });

    // Tags go away with the provider.
    await ctx.client.send(new DeleteCapacityProviderCommand({ CapacityProviderName: name }));
    await eventually(
      async () => {
        try {
          await ctx.client.send(new ListTagsCommand({ Resource: arn }));
          return false;
        } catch (e) {
          if (e.name === 'ResourceNotFoundException') return true;
          throw e;
        }
      },
      { what: 'ListTags on a deleted capacity provider to answer 404' },
    );
  });

  it('unknown resources -> ResourceNotFoundException (404)', async () => {
    for (const arn of [functionArn(uniqueName('tag-ghost')), capacityProviderArn(uniqueName('tag-ghostcp'))]) {
      await expectError(ctx.client.send(new ListTagsCommand({ Resource: arn })), 'ResourceNotFoundException', { what: arn });
      await expectError(ctx.client.send(new TagResourceCommand({ Resource: arn, Tags: { A: 'B' } })), 'ResourceNotFoundException', {
        what: arn,
      });
      await expectError(ctx.client.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['A'] })), 'ResourceNotFoundException', {
        what: arn,
      });
    }
  });

  it('qualified function ARNs are refused (InvalidParameterValueException)', async () => {
    const name = uniqueName('tag-qual');
    await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip(), { Publish: true })));
    for (const q of ['1', '$LATEST']) {
      await expectError(
        ctx.client.send(new TagResourceCommand({ Resource: functionArn(name, q), Tags: { A: 'B' } })),
        'InvalidParameterValueException',
        { what: `tagging ${functionArn(name, q)}` },
      );
    }
    assert.deepEqual(await listTags(ctx.client, functionArn(name)), {});
  });

  it(`malformed ARNs -> ${VALIDATION_ERROR}`, async () => {
    for (const arn of ['not-an-arn', `arn:aws:lambda:${REGION}:${ACCOUNT}:foobar:thing`, `arn:aws:s3:::bucket`]) {
      await expectError(ctx.client.send(new ListTagsCommand({ Resource: arn })), VALIDATION_ERROR, { what: arn });
    }
  });

  it('more than 50 tags -> InvalidParameterValueException, nothing added', async () => {
    const name = uniqueName('tag-many');
    await ctx.client.send(new CreateFunctionCommand(functionInput(name, pythonZip(), { Tags: { base: '0' } })));
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, `v${i}`]));
    await expectError(
      ctx.client.send(new TagResourceCommand({ Resource: functionArn(name), Tags: many })),
      'InvalidParameterValueException',
    );
    assert.deepEqual(await listTags(ctx.client, functionArn(name)), { base: '0' });

    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, `v${i}`]));
    const other = uniqueName('tag-many2');
    await expectError(
      ctx.client.send(new CreateFunctionCommand(functionInput(other, pythonZip(), { Tags: tooMany }))),
      'InvalidParameterValueException',
    );
    await expectError(ctx.client.send(new GetFunctionCommand({ FunctionName: other })), 'ResourceNotFoundException');
  });
});
