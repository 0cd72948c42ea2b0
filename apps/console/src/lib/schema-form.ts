/**
 * Form fields from a task type's `paramsSchema` (the JSON Schema zod prints): strings (with uri and
 * date-time formats), numbers and integers with bounds, enums, booleans, arrays of strings, and
 * optional fields. Anything else is edited as JSON.
 */

interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  default?: unknown;
  description?: string;
  title?: string;
  examples?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

interface Common {
  name: string;
  label: string;
  required: boolean;
  description?: string;
  /** The schema's first example, shown as the input's placeholder. */
  example?: string;
}

export type FieldSpec = Common &
  (
    | { kind: 'text'; format?: 'uri' | 'date-time'; defaultValue?: string }
    | { kind: 'number'; integer: boolean; min?: number; max?: number; defaultValue?: number }
    | { kind: 'enum'; options: string[]; defaultValue?: string }
    | { kind: 'boolean'; defaultValue?: boolean }
    | { kind: 'list'; format?: 'uri'; minItems?: number; maxItems?: number }
    | { kind: 'json' }
  );

/** What the inputs hold: text (a number or null from number inputs), a list of texts, or a flag. */
export type FieldValue = string | number | null | string[] | boolean;

const ACRONYMS: Record<string, string> = { url: 'URL', urls: 'URLs', id: 'ID', ids: 'IDs' };

/** `shop_id` → `Shop ID`, `urls` → `URLs` */
function label(name: string): string {
  const words = name.split('_').map((word) => ACRONYMS[word] ?? word);
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function textFormat(format: string | undefined): 'uri' | 'date-time' | undefined {
  return format === 'uri' || format === 'date-time' ? format : undefined;
}

function firstExample(examples: unknown[] | undefined): string | undefined {
  const [example] = examples ?? [];
  return typeof example === 'string' ? example : undefined;
}

function fieldSpec(name: string, schema: JsonSchema, required: boolean): FieldSpec {
  const common: Common = {
    name,
    label: schema.title ?? label(name),
    required,
    description: schema.description,
    example: firstExample(schema.examples) ?? firstExample(schema.items?.examples),
  };
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (schema.enum?.every((option) => typeof option === 'string')) {
    return {
      ...common,
      kind: 'enum',
      options: schema.enum as string[],
      defaultValue: schema.default as string,
    };
  }
  if (type === 'string') {
    return {
      ...common,
      kind: 'text',
      format: textFormat(schema.format),
      defaultValue: schema.default as string,
    };
  }
  if (type === 'number' || type === 'integer') {
    return {
      ...common,
      kind: 'number',
      integer: type === 'integer',
      min: schema.minimum,
      max: schema.maximum,
      defaultValue: schema.default as number,
    };
  }
  if (type === 'boolean') return { ...common, kind: 'boolean', defaultValue: schema.default as boolean };
  if (type === 'array' && schema.items?.type === 'string') {
    const format = schema.items.format === 'uri' ? 'uri' : undefined;
    return { ...common, kind: 'list', format, minItems: schema.minItems, maxItems: schema.maxItems };
  }
  return { ...common, kind: 'json' };
}

/** The fields of an object schema, required ones first, in the schema's order otherwise. */
export function fieldsOf(schema: unknown): FieldSpec[] {
  const object = (schema ?? {}) as JsonSchema;
  const required = new Set(object.required ?? []);
  const fields = Object.entries(object.properties ?? {}).map(([name, property]) =>
    fieldSpec(name, property, required.has(name)),
  );
  return fields.toSorted((a, b) => Number(b.required) - Number(a.required));
}

/** Starting values: defaults where the schema has them, one empty row for lists. */
export function initialValues(fields: readonly FieldSpec[]): Record<string, FieldValue> {
  return Object.fromEntries(
    fields.map((field): [string, FieldValue] => {
      switch (field.kind) {
        case 'list':
          return [field.name, ['']];
        case 'boolean':
          return [field.name, field.defaultValue ?? false];
        case 'json':
          return [field.name, ''];
        default:
          return [field.name, field.defaultValue === undefined ? '' : String(field.defaultValue)];
      }
    }),
  );
}

/**
 * The params object to submit. Empty optional fields are left out so the API applies its defaults;
 * values are passed as typed (never silently fixed) so the API's field errors name what is wrong.
 * Throws a `Record<path, message>` for JSON fields that do not parse.
 */
export function paramsFrom(
  fields: readonly FieldSpec[],
  values: Record<string, FieldValue>,
): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (field.kind === 'boolean') {
      params[field.name] = value === true;
      continue;
    }
    if (field.kind === 'list') {
      const items = Array.isArray(value) ? value.map((item) => item.trim()) : [];
      const entered = items.some(Boolean);
      // Blank rows at the end are spare rows; blank rows in between stay so their index is right.
      while (items.length && !items.at(-1)) items.pop();
      if (entered || field.required) params[field.name] = items;
      continue;
    }
    const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
    if (text === '') {
      if (field.required) params[field.name] = field.kind === 'number' ? null : '';
      continue;
    }
    if (field.kind === 'number') params[field.name] = Number(text);
    else if (field.kind === 'text' && field.format === 'date-time') {
      const date = new Date(text);
      params[field.name] = Number.isNaN(date.getTime()) ? text : date.toISOString();
    } else if (field.kind === 'json') {
      try {
        params[field.name] = JSON.parse(text);
      } catch {
        errors[`params.${field.name}`] = 'not valid JSON';
      }
    } else params[field.name] = text;
  }
  if (Object.keys(errors).length) throw errors;
  return params;
}

/** Field errors by path (`params.urls.1`), and the messages no field on the form shows. */
export function placeErrors(
  fieldErrors: readonly { path: string; message: string }[],
  shown: (path: string) => boolean,
): { byPath: Record<string, string>; other: string[] } {
  const byPath: Record<string, string> = {};
  const other: string[] = [];
  for (const { path, message } of fieldErrors) {
    if (shown(path)) byPath[path] = byPath[path] ? `${byPath[path]}; ${message}` : message;
    else other.push(`${path}: ${message}`);
  }
  return { byPath, other };
}

/** `2026-11-28T14:03:09.000Z` → `2026-11-28T15:03:09` in the browser's zone, for datetime-local inputs. */
export function localInput(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19);
}

/** The inputs' values for `params` (a stored schedule's), the other way round from `paramsFrom`. */
export function valuesFrom(
  fields: readonly FieldSpec[],
  params: Record<string, unknown>,
): Record<string, FieldValue> {
  const values = initialValues(fields);
  for (const field of fields) {
    const value = params[field.name];
    if (value === undefined || value === null) continue;
    if (field.kind === 'boolean') values[field.name] = value === true;
    else if (field.kind === 'list') values[field.name] = Array.isArray(value) ? value.map(String) : [''];
    else if (field.kind === 'json') values[field.name] = JSON.stringify(value, null, 2);
    else if (field.kind === 'text' && field.format === 'date-time')
      values[field.name] = localInput(String(value));
    else values[field.name] = String(value);
  }
  return values;
}

/** `shop=acme, region=eu` → label inputs; a pair without `=` is a key with an empty value. */
export function labelsFrom(text: string): { key: string; value: string }[] {
  return text
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      return at < 0
        ? { key: pair, value: '' }
        : { key: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() };
    });
}
