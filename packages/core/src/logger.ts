import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * One structured logger per process. `pnpm start` prefixes each app's lines, so the JSON stays
 * machine-readable while a terminal stays readable.
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
