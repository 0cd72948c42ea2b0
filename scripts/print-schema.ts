import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printedSchema } from '../apps/api/src/schema';

/** Writes apps/api/schema.graphql, the committed contract clients and the console are typed from. */
const target = fileURLToPath(new URL('../apps/api/schema.graphql', import.meta.url));
writeFileSync(target, printedSchema());
process.stdout.write(`wrote ${target}\n`);
