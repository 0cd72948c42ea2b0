import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from '../builder';
import './errors';
import './health';
import './task-filter';
import './task/types';
import './task/queries';
import './task/mutations';
import './task/events';
import './task-type';
import './metrics';
import './queue';
import './queue-groups';
import './worker';
import './dead-letter';
import './bulk-operation';
import './token';
import './schedule';
import './workflow';
import './repair';
import './alert/types';
import './alert/operations';

/** The whole API schema. */
export const schema = builder.toSchema();

/** The schema as committed in apps/api/schema.graphql. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
