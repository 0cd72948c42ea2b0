import { PermanentError } from '@taskplane/core';
import { describe, expect, it } from 'vitest';
import { normaliseProduct } from './normalise';

const item = {
  id: 'p9',
  url: 'http://catalogue.test/products/p9',
  title: 'Compact Kettle 9',
  price: '12.50',
  currency: 'eur',
  shop_id: 's3',
  updated_at: '2024-01-01T09:00:00+01:00',
  warehouse: 'extra fields are ignored',
};

describe('normaliseProduct', () => {
  it('turns a catalogue item into a Product', () => {
    expect(normaliseProduct(item)).toEqual({
      id: 'p9',
      url: 'http://catalogue.test/products/p9',
      title: 'Compact Kettle 9',
      price: 12.5,
      currency: 'EUR',
      shopId: 's3',
      updatedAt: '2024-01-01T08:00:00.000Z',
    });
  });

  it('accepts a numeric price', () => {
    expect(normaliseProduct({ ...item, price: 3 }).price).toBe(3);
  });

  it.each([
    ['price', { price: '12,50' }],
    ['price', { price: -1 }],
    ['currency', { currency: 'euro' }],
    ['updated_at', { updated_at: 'yesterday' }],
    ['shop_id', { shop_id: undefined }],
  ])('rejects a bad %s permanently, naming the field and the product', (field, change) => {
    const bad = { ...item, ...change };
    expect(() => normaliseProduct(bad)).toThrow(PermanentError);
    expect(() => normaliseProduct(bad)).toThrow(new RegExp(`product p9 .*${field}:`));
  });

  it('rejects something that is not an object', () => {
    expect(() => normaliseProduct('p9')).toThrow(/invalid product \(\(root\): /);
  });
});
