/** Display helpers shared by every page; times show in the operator's locale and time zone. */

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

// Times by their second: a live list redraws the same few seconds in every row, every frame.
const timeCache = new Map<string, string>();
const TIME_CACHE_SIZE = 256;

/** `14:03:07` */
export function time(iso: string): string {
  // UTC times (`…Z`, as the API sends them) share a second's entry; any other form keys by itself.
  const second = iso.endsWith('Z') ? iso.slice(0, 19) : iso;
  let text = timeCache.get(second);
  if (text === undefined) {
    if (timeCache.size >= TIME_CACHE_SIZE) timeCache.clear();
    text = timeFormat.format(new Date(iso));
    timeCache.set(second, text);
  }
  return text;
}

/** `28 Nov 2026, 14:03:07` */
export function dateTime(iso: string | null | undefined): string {
  return iso ? dateTimeFormat.format(new Date(iso)) : '—';
}

/** `4 s ago`, `3 min ago`, `2 h ago` relative to `now` (ms). */
export function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

/** `1.2 s`, `350 ms` */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `182 MB` */
export function bytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${Math.round(n / 1e6)} MB`;
}

/** `12.5 %` from a 0-1 share. */
export function percent(share: number): string {
  return `${(share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0)} %`;
}

/** `DEAD_LETTERED` → `dead lettered` */
export function words(constant: string): string {
  return constant.toLowerCase().replaceAll('_', ' ');
}

/** `{ key: 'shop', value: 'acme' }[]` → `shop=acme, region=eu` */
export function labelText(labels: readonly { key: string; value: string }[]): string {
  return labels.map(({ key, value }) => `${key}=${value}`).join(', ');
}

/** Pretty JSON for params and results. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** `every 1 s`, `every 15 min`, `every 2 h`, `every 90 s` */
export function every(ms: number): string {
  const seconds = ms / 1000;
  if (seconds % 3600 === 0) return `every ${seconds / 3600} h`;
  if (seconds % 60 === 0) return `every ${seconds / 60} min`;
  return `every ${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
