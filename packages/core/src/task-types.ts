import { z } from 'zod';
import { type FieldError, NotFoundError, ValidationError } from './errors';
import { PRIORITY_DEFAULT } from './task';

/** What the engine needs to know about a task type. */
export interface TaskTypeDefinition<P = unknown> {
  name: string;
  description: string;
  /** Parameters are validated against this before anything is enqueued. */
  params: z.ZodType<P>;
  /** The queue tasks of this type go to unless the submitter names another. */
  queue: string;
  defaults?: {
    priority?: number;
    maxAttempts?: number;
    timeoutMs?: number;
    backoff?: { baseDelayMs?: number; maxDelayMs?: number; jitter?: number };
  };
}

/**
 * A product of the demo catalogue `pnpm start` runs (test/fixtures/catalogue, port 4100 unless
 * taken): the example the README, `taskplane --help` and the console's Submit form show, so that
 * an example pasted as written succeeds.
 */
export const DEMO_PRODUCT_URL = 'http://127.0.0.1:4100/products/p1';

const url = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .meta({ examples: [DEMO_PRODUCT_URL] });

/** `single_product`: fetch and store one product page. */
export const SingleProductParams = z.strictObject({ url });
export type SingleProductParams = z.infer<typeof SingleProductParams>;

/** `batch_products`: fan out one `single_product` child per URL. */
export const BatchProductsParams = z.strictObject({
  urls: z.array(url).min(1, 'needs at least one URL').max(10_000),
  batch_size: z.number().int().min(1).max(1000).default(50),
});
export type BatchProductsParams = z.infer<typeof BatchProductsParams>;

/** `search_keywords`: run keyword searches on the marketplace, `pages` result pages each. */
export const SearchKeywordsParams = z.strictObject({
  keywords: z.array(z.string().trim().min(1, 'keywords must not be blank')).min(1).max(100),
  pages: z.number().int().min(1).max(100).default(1),
});
export type SearchKeywordsParams = z.infer<typeof SearchKeywordsParams>;

/** `shop_crawl`: walk a shop's product listing. */
export const ShopCrawlParams = z.strictObject({
  shop_id: z
    .string()
    .min(1)
    .meta({ examples: ['s1'] }),
  max_pages: z.number().int().min(1).max(1000).default(10),
});
export type ShopCrawlParams = z.infer<typeof ShopCrawlParams>;

/** `full_sync`: sync every product changed since a time (or everything). */
export const FullSyncParams = z.strictObject({
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
});
export type FullSyncParams = z.infer<typeof FullSyncParams>;

/** The product-sync task types every deployment has. */
export const BUILTIN_TASK_TYPES: readonly TaskTypeDefinition[] = [
  {
    name: 'single_product',
    description: 'Fetch one product by URL and store it',
    params: SingleProductParams,
    queue: 'products',
  },
  {
    name: 'batch_products',
    description: 'Fan out one single_product task per URL and count the results',
    params: BatchProductsParams,
    queue: 'products',
    defaults: { priority: PRIORITY_DEFAULT },
  },
  {
    name: 'search_keywords',
    description: 'Search the catalogue for keywords and store every product found',
    params: SearchKeywordsParams,
    queue: 'search',
  },
  {
    name: 'shop_crawl',
    description: "Crawl a shop's listing pages and store its products",
    params: ShopCrawlParams,
    queue: 'shops',
  },
  {
    name: 'full_sync',
    description: 'Sync every product changed since a time',
    params: FullSyncParams,
    queue: 'sync',
    defaults: { timeoutMs: 3_600_000 },
  },
];

/**
 * `schema.safeParse(value)`, and on failure the issues with their input (`reportInput`), which
 * `fieldErrors` needs to tell a missing field from a wrong one. Asking for the input on every parse
 * made a good submit's validation three times as slow (zod copies its context and takes a slower
 * path); a failure is rare enough to parse twice.
 */
export function parseReporting<S extends z.ZodType>(
  schema: S,
  value: unknown,
): z.ZodSafeParseResult<z.output<S>> {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed : schema.safeParse(value, { reportInput: true });
}

/** Turn zod issues into field errors whose paths start at `prefix`. */
export function fieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const parts = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      return { path: [...parts, ...issue.keys].join('.'), message: 'unknown field' };
    }
    // A missing field says so, whatever message its schema gives a wrong value.
    // (The input is on the issue when parsed with `reportInput`.)
    const missing = issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined;
    return { path: parts.join('.') || '(root)', message: missing ? 'required' : issue.message };
  });
}

/** The open set of task types a deployment knows: the built-ins plus its own. */
export class TaskTypeRegistry {
  readonly #types = new Map<string, TaskTypeDefinition>();

  constructor(types: Iterable<TaskTypeDefinition> = BUILTIN_TASK_TYPES) {
    for (const type of types) this.register(type);
  }

  register(type: TaskTypeDefinition): void {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(type.name)) {
      throw new ValidationError(`task type name "${type.name}" must be lower_snake_case`, [
        { path: 'name', message: 'must match ^[a-z][a-z0-9_]*$' },
      ]);
    }
    this.#types.set(type.name, type);
  }

  has(name: string): boolean {
    return this.#types.has(name);
  }

  get(name: string): TaskTypeDefinition {
    const type = this.#types.get(name);
    if (!type) {
      throw new NotFoundError(
        `unknown task type "${name}"; known types: ${[...this.#types.keys()].join(', ')}`,
      );
    }
    return type;
  }

  list(): TaskTypeDefinition[] {
    return [...this.#types.values()];
  }

  /** The queues tasks of the known types go to by default. */
  queues(): string[] {
    return [...new Set(this.list().map((t) => t.queue))];
  }

  /** Validate and normalise parameters (defaults applied); throws `ValidationError` naming fields. */
  parseParams(typeName: string, params: unknown): Record<string, unknown> {
    const type = this.get(typeName);
    const parsed = parseReporting(type.params, params);
    if (!parsed.success) {
      const fields = fieldErrors(parsed.error, 'params');
      throw new ValidationError(
        `invalid parameters for ${typeName}: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
        fields,
      );
    }
    return parsed.data as Record<string, unknown>;
  }

  /** The parameter schema of a type as JSON Schema, so clients can build forms. */
  jsonSchema(typeName: string): unknown {
    return z.toJSONSchema(this.get(typeName).params, { io: 'input', unrepresentable: 'any' });
  }
}
