import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NotFoundError, ValidationError } from './errors';
import { TaskTypeRegistry } from './task-types';

const registry = new TaskTypeRegistry();

function fieldsOf(type: string, params: unknown): string[] {
  try {
    registry.parseParams(type, params);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).fields.map((f) => f.path);
  }
  throw new Error(`expected ${type} to reject ${JSON.stringify(params)}`);
}

describe('built-in task types', () => {
  it('accept good parameters and fill defaults', () => {
    expect(registry.parseParams('single_product', { url: 'https://shop.example/p/1' })).toEqual({
      url: 'https://shop.example/p/1',
    });
    expect(registry.parseParams('batch_products', { urls: ['http://a.example/1'] })).toEqual({
      urls: ['http://a.example/1'],
      batch_size: 50,
    });
    expect(registry.parseParams('search_keywords', { keywords: ['lamp'] })).toEqual({
      keywords: ['lamp'],
      pages: 1,
    });
    expect(registry.parseParams('shop_crawl', { shop_id: 's1', max_pages: 3 })).toEqual({
      shop_id: 's1',
      max_pages: 3,
    });
    expect(registry.parseParams('full_sync', {})).toEqual({});
    expect(registry.parseParams('full_sync', { since: '2026-11-01T00:00:00Z' })).toEqual({
      since: '2026-11-01T00:00:00Z',
    });
  });

  it('reject bad parameters naming the field', () => {
    expect(fieldsOf('single_product', { url: 'ftp://x' })).toEqual(['params.url']);
    expect(fieldsOf('single_product', {})).toEqual(['params.url']);
    expect(fieldsOf('batch_products', { urls: ['https://ok.example', 'nope'] })).toEqual(['params.urls.1']);
    expect(fieldsOf('batch_products', { urls: [] })).toEqual(['params.urls']);
    expect(fieldsOf('batch_products', { urls: ['https://a.example'], batch_size: 0 })).toEqual([
      'params.batch_size',
    ]);
    expect(fieldsOf('search_keywords', { keywords: ['  '] })).toEqual(['params.keywords.0']);
    expect(fieldsOf('search_keywords', { keywords: ['a'], pages: 1.5 })).toEqual(['params.pages']);
    expect(fieldsOf('shop_crawl', { max_pages: 2 })).toEqual(['params.shop_id']);
    expect(fieldsOf('full_sync', { since: 'yesterday' })).toEqual(['params.since']);
    expect(fieldsOf('full_sync', { sinse: '2026-01-01T00:00:00Z' })).toEqual(['params.sinse']);
  });

  it('report an unknown type with the known ones', () => {
    expect(() => registry.get('singel_product')).toThrow(NotFoundError);
    expect(() => registry.get('singel_product')).toThrow(/known types: single_product/);
  });

  it('are open to a deployment of its own types', () => {
    const own = new TaskTypeRegistry();
    own.register({
      name: 'price_alert',
      description: '',
      queue: 'alerts',
      params: z.strictObject({ sku: z.string() }),
    });
    expect(own.parseParams('price_alert', { sku: 'x' })).toEqual({ sku: 'x' });
    expect(own.queues()).toContain('alerts');
    expect(() =>
      own.register({ name: 'Bad-Name', description: '', queue: 'q', params: z.object({}) }),
    ).toThrow(ValidationError);
  });

  it('describe their parameters as JSON Schema', () => {
    const schema = registry.jsonSchema('shop_crawl') as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(schema.properties)).toEqual(['shop_id', 'max_pages']);
    expect(schema.required).toEqual(['shop_id']);
  });
});
