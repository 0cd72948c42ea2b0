import { ErrorCode } from '@taskplane/core';
import { expect, it } from 'vitest';
import { ApiErrorCode } from './errors';

it("ApiErrorCode names the API's codes as @taskplane/core spells them", () => {
  for (const [name, code] of Object.entries(ApiErrorCode)) {
    expect(ErrorCode[name as keyof typeof ErrorCode], name).toBe(code);
  }
});
