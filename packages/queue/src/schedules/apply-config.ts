import {
  ConflictError,
  type Logger,
  type ScheduleConfig,
  scheduleConfigInput,
  ValidationError,
} from '@taskplane/core';
import { definitionOf, type ScheduleStore } from './schedule-store';

/**
 * Apply `schedules:` from configuration by name: create a schedule no one has made yet, update one
 * whose definition differs, leave the rest. `paused` is applied on creation only, so an operator's
 * pause survives a restart. Safe to run in several processes at once (names are claimed
 * atomically: the loser of a race updates instead). Throws `ValidationError` naming
 * `schedules.<name>.<field>` for a definition the API would refuse.
 */
export async function applyScheduleConfig(
  store: ScheduleStore,
  schedules: Record<string, ScheduleConfig>,
  logger: Logger,
): Promise<void> {
  for (const [name, config] of Object.entries(schedules)) {
    const input = scheduleConfigInput(name, config);
    try {
      store.validate(input);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const fields = error.fields.map((f) => ({ ...f, path: `schedules.${name}.${f.path}` }));
      throw new ValidationError(
        `invalid schedule in configuration: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
        fields,
      );
    }
    for (let attempt = 0; ; attempt++) {
      const id = await store.idByName(name);
      const current = id ? await store.get(id) : null;
      try {
        if (!current) {
          const created = await store.create(input);
          logger.info({ schedule: name, id: created.id }, 'schedule created from configuration');
        } else {
          const wanted = store.validate({ ...input, paused: current.paused });
          if (JSON.stringify(wanted) !== JSON.stringify(store.validate(definitionOf(current)))) {
            await store.update(current.id, { ...input, paused: current.paused });
            logger.info({ schedule: name, id: current.id }, 'schedule updated from configuration');
          }
        }
        break;
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt > 2) throw error;
      }
    }
  }
}
