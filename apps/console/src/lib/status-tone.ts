/** How the console colours a status: the `data-tone` of a pill, the palette of a graph node. */
export type Tone = 'ok' | 'info' | 'warn' | 'bad' | 'neutral';

const tones: Record<string, Tone> = {
  SUCCESS: 'ok',
  SUCCEEDED: 'ok',
  RUNNING: 'info',
  PENDING: 'neutral',
  DELAYED: 'neutral',
  BLOCKED: 'neutral',
  RETRYING: 'warn',
  FAILED: 'bad',
  DEAD_LETTERED: 'bad',
  CANCELLED: 'warn',
};

/** The tone of a task or workflow status; unknown statuses are neutral. */
export function statusTone(status: string): Tone {
  return tones[status] ?? 'neutral';
}
