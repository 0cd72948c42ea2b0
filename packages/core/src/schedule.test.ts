import { describe, expect, it } from 'vitest';
import { nextTicks, ScheduleInput, type ScheduleTrigger } from './schedule';

const cron = (expr: string, timezone: string): ScheduleTrigger => ({
  cron: expr,
  timezone,
  intervalMs: null,
  startAt: null,
  endAt: null,
  createdAt: 0,
});
const iso = (ticks: number[]) => ticks.map((t) => new Date(t).toISOString());

describe('nextTicks', () => {
  it('reads a cron in Asia/Shanghai (UTC+8, no DST)', () => {
    const after = Date.parse('2026-03-27T12:00:00Z'); // a Friday, 20:00 in Shanghai
    expect(iso(nextTicks(cron('0 9 * * 1-5', 'Asia/Shanghai'), after, 3))).toEqual([
      '2026-03-30T01:00:00.000Z', // Monday 09:00 +08:00
      '2026-03-31T01:00:00.000Z',
      '2026-04-01T01:00:00.000Z',
    ]);
  });

  it('fires a local time skipped by DST in Europe/Berlin once, right after the gap', () => {
    // 2026-03-29: clocks go from 02:00 to 03:00; 02:30 does not exist that day.
    const after = Date.parse('2026-03-27T12:00:00Z');
    expect(iso(nextTicks(cron('30 2 * * *', 'Europe/Berlin'), after, 4))).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST: once, not never
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('fires a local time repeated by DST in Europe/Berlin once, not twice', () => {
    // 2026-10-25: clocks go from 03:00 back to 02:00; 02:30 happens twice that day.
    const after = Date.parse('2026-10-23T12:00:00Z');
    expect(iso(nextTicks(cron('30 2 * * *', 'Europe/Berlin'), after, 3))).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('counts intervals from the start and stops at the end', () => {
    const trigger: ScheduleTrigger = {
      cron: null,
      timezone: 'UTC',
      intervalMs: 1000,
      startAt: 10_000,
      endAt: 12_000,
      createdAt: 0,
    };
    expect(nextTicks(trigger, 0, 5)).toEqual([10_000, 11_000, 12_000]);
    expect(nextTicks(trigger, 10_500, 5)).toEqual([11_000, 12_000]);
  });

  it('takes 6-field crons (seconds first)', () => {
    expect(iso(nextTicks(cron('*/20 * * * * *', 'UTC'), Date.parse('2026-01-01T00:00:00Z'), 2))).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
    ]);
  });
});

describe('ScheduleInput', () => {
  const task = { type: 'full_sync', params: {} };
  const paths = (input: unknown) => {
    const parsed = ScheduleInput.safeParse(input);
    return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
  };

  it('names the bad field', () => {
    expect(paths({ name: 'a', task, cron: '61 * * * *' })).toEqual(['cron']);
    expect(paths({ name: 'a', task, cron: '* * * *' })).toEqual(['cron']);
    expect(paths({ name: 'a', task, cron: '* * * * * * *' })).toEqual(['cron']);
    expect(paths({ name: 'a', task, cron: '0 * * * *', timezone: 'Mars/Olympus' })).toEqual(['timezone']);
    expect(paths({ name: 'a', task, intervalMs: 0 })).toEqual(['intervalMs']);
    expect(paths({ name: 'a', task })).toEqual(['cron']);
    expect(paths({ name: 'a', task, cron: '0 * * * *', intervalMs: 5000 })).toEqual(['intervalMs']);
    expect(paths({ name: 'a', task, intervalMs: 5000 })).toEqual([]);
  });
});
