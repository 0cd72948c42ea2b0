import { builder } from '../builder';

/** A GraphQL enum of string values, each named in upper case (`run_once` → RUN_ONCE). */
export const enumOf = <T extends string>(name: string, values: readonly T[], description?: string) =>
  builder.enumType(name, {
    ...(description ? { description } : {}),
    values: Object.fromEntries(values.map((v) => [v.toUpperCase(), { value: v }])) as Record<
      string,
      { value: T }
    >,
  });
