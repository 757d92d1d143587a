// JSON Schemas of the kinds applications send with `response_format` (nested objects, bounded
// arrays, enums, anyOf/oneOf, optional fields, string formats, number ranges, $ref), for the
// constrained-generation tests. Free strings carry maxLength and arrays maxItems: a random or
// tiny model has no reason to close a string, and the tests hold every output to the schema and
// to finishing before maxTokens. (So no `format: "time"` or `"email"`: their fractions of a
// second and local parts are unbounded.)
import type { JsonSchema } from './constraint.js';

const name = { type: 'string', maxLength: 12 } as const;
const age = { type: 'integer', minimum: 0, maximum: 130 } as const;

export const TEST_SCHEMAS: ReadonlyArray<readonly [string, JsonSchema]> = [
  ['a boolean', { type: 'boolean' }],
  ['null', { type: 'null' }],
  ['an integer in a range', { type: 'integer', minimum: -20, maximum: 20 }],
  ['an exclusive range', { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 10 }],
  ['a number', { type: 'number' }],
  ['a short string', { type: 'string', minLength: 2, maxLength: 8 }],
  ['a string enum', { enum: ['red', 'green', 'blue'] }],
  ['a mixed enum', { enum: ['auto', 1, null, true] }],
  ['a const', { const: 'fixed' }],
  ['a date', { type: 'string', format: 'date' }],
  ['a date-time', { type: 'string', format: 'date-time' }],
  ['a uuid', { type: 'string', format: 'uuid' }],
  ['an ipv4 address', { type: 'string', format: 'ipv4' }],
  ['a pattern', { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' }],
  [
    'an object with required fields',
    {
      type: 'object',
      properties: { name, age },
      required: ['name', 'age'],
    },
  ],
  [
    'an object with optional fields',
    {
      type: 'object',
      properties: { name, nickname: name, age },
      required: ['name'],
    },
  ],
  ['an empty object', { type: 'object', properties: {} }],
  [
    'a bounded array of integers',
    {
      type: 'array',
      items: { type: 'integer', minimum: 0, maximum: 99 },
      minItems: 1,
      maxItems: 4,
    },
  ],
  [
    'a bounded array of enums',
    {
      type: 'array',
      items: { enum: ['a', 'b', 'c'] },
      minItems: 2,
      maxItems: 3,
    },
  ],
  [
    'a tuple',
    {
      type: 'array',
      prefixItems: [{ type: 'integer', minimum: 0, maximum: 9 }, { type: 'boolean' }, name],
      items: false,
    },
  ],
  ['a nullable integer', { type: ['integer', 'null'], minimum: 0, maximum: 9 }],
  [
    'anyOf of scalars',
    { anyOf: [{ type: 'boolean' }, { type: 'integer', minimum: 0, maximum: 5 }] },
  ],
  [
    'oneOf of objects',
    {
      oneOf: [
        {
          type: 'object',
          properties: {
            kind: { const: 'cat' },
            lives: { type: 'integer', minimum: 1, maximum: 9 },
          },
          required: ['kind', 'lives'],
        },
        {
          type: 'object',
          properties: { kind: { const: 'dog' }, good: { type: 'boolean' } },
          required: ['kind', 'good'],
        },
      ],
    },
  ],
  [
    'a nested object',
    {
      type: 'object',
      properties: {
        user: { type: 'object', properties: { name, age }, required: ['name', 'age'] },
        active: { type: 'boolean' },
      },
      required: ['user', 'active'],
    },
  ],
  [
    'an array of objects',
    {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          sku: { type: 'string', pattern: '^[a-z]{2}[0-9]{2}$' },
          qty: { type: 'integer', minimum: 1, maximum: 9 },
        },
        required: ['sku', 'qty'],
      },
      minItems: 1,
      maxItems: 2,
    },
  ],
  [
    '$ref to $defs',
    {
      $defs: {
        point: {
          type: 'object',
          properties: {
            x: { type: 'integer', minimum: -9, maximum: 9 },
            y: { type: 'integer', minimum: -9, maximum: 9 },
          },
          required: ['x', 'y'],
        },
      },
      type: 'object',
      properties: { from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } },
      required: ['from', 'to'],
    },
  ],
  [
    'a recursive $ref with a depth bound',
    {
      $defs: {
        leaf: {
          type: 'object',
          properties: { value: { type: 'integer', minimum: 0, maximum: 9 } },
          required: ['value'],
        },
        node: {
          type: 'object',
          properties: { left: { $ref: '#/$defs/leaf' }, right: { $ref: '#/$defs/leaf' } },
          required: ['left'],
        },
      },
      $ref: '#/$defs/node',
    },
  ],
  [
    'an extraction record',
    {
      type: 'object',
      properties: {
        title: { type: 'string', maxLength: 16 },
        sentiment: { enum: ['positive', 'neutral', 'negative'] },
        score: { type: 'integer', minimum: -5, maximum: 5 },
        tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 2 },
      },
      required: ['title', 'sentiment', 'score', 'tags'],
    },
  ],
  [
    'a function-call arguments object',
    {
      type: 'object',
      properties: {
        city: { type: 'string', maxLength: 10 },
        unit: { enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 7 },
      },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  ],
  [
    'an object of a boolean map',
    {
      type: 'object',
      properties: {
        flags: {
          type: 'object',
          properties: { a: { type: 'boolean' }, b: { type: 'boolean' } },
          required: ['a', 'b'],
        },
      },
      required: ['flags'],
    },
  ],
  [
    'allOf with one schema',
    {
      allOf: [
        {
          type: 'object',
          properties: { id: { type: 'integer', minimum: 1, maximum: 999 } },
          required: ['id'],
        },
      ],
    },
  ],
  [
    'an email by pattern',
    {
      type: 'object',
      properties: { contact: { type: 'string', pattern: '^[a-z]{1,8}@[a-z]{1,8}\\.(com|org)$' } },
      required: ['contact'],
    },
  ],
  [
    'an optional date in an object',
    {
      type: 'object',
      properties: { due: { type: 'string', format: 'date' }, done: { type: 'boolean' } },
      required: ['done'],
    },
  ],
];
