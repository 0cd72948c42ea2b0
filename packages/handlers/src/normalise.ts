import { fieldErrors, PermanentError, type Product } from '@taskplane/core';
import { z } from 'zod';

/**
 * A product as the catalogue sends it (snake_case, price as a number or a decimal string, any
 * case of currency), parsed into core's `Product`. Fields the catalogue adds are ignored.
 */
export const CatalogueProduct = z
  .object({
    id: z.string().min(1),
    url: z.url({ protocol: /^https?$/ }),
    title: z.string().trim().min(1),
    price: z
      .union([z.number(), z.string().regex(/^[0-9]+(\.[0-9]+)?$/, 'must be a decimal number')])
      .transform(Number)
      .pipe(z.number().min(0)),
    currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be a three-letter currency code'),
    shop_id: z.string().min(1),
    updated_at: z.iso.datetime({ offset: true }),
  })
  .transform(
    (item): Product => ({
      id: item.id,
      url: item.url,
      title: item.title,
      price: item.price,
      currency: item.currency.toUpperCase(),
      shopId: item.shop_id,
      updatedAt: new Date(item.updated_at).toISOString(),
    }),
  );
export type CatalogueProduct = z.input<typeof CatalogueProduct>;

/** One page of a catalogue listing; items are checked one by one with {@link CatalogueProduct}. */
export const CataloguePage = z.object({
  items: z.array(z.unknown()),
  page: z.number().int().min(1),
  total_pages: z.number().int().min(0),
});
export type CataloguePage = z.infer<typeof CataloguePage>;

/**
 * Parses what the catalogue sent. A mismatch is a `PermanentError` naming `what` and the bad
 * fields (not their values): the same answer will not parse any better on a retry.
 */
export function parseCatalogue<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields = fieldErrors(parsed.error).map((f) => `${f.path}: ${f.message}`);
  throw new PermanentError(`catalogue sent an invalid ${what} (${fields.join('; ')})`);
}

/** Validates one catalogue item and normalises it to a `Product`. */
export function normaliseProduct(item: unknown): Product {
  const id = (item as { id?: unknown } | null)?.id;
  return parseCatalogue(CatalogueProduct, item, typeof id === 'string' ? `product ${id}` : 'product');
}
