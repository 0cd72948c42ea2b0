import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { GENERATED_FILE, generateClientTypes } from './codegen';

it('src/generated/graphql.ts matches apps/api/schema.graphql and operations.graphql (run `pnpm codegen`)', async () => {
  expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(await generateClientTypes());
});
