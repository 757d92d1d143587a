// JSON Schema keywords xgrammar 0.1.27 accepts but does not enforce. A schema that uses one is
// refused with the keyword and where it is, rather than constrained to something looser than
// asked (as vLLM refuses them for its xgrammar backend).

type Json = { readonly [key: string]: unknown };

const IGNORED: ReadonlyArray<readonly [string, string]> = [
  ['not', 'not'],
  ['if', 'if/then/else'],
  ['then', 'if/then/else'],
  ['else', 'if/then/else'],
  ['contains', 'contains'],
  ['minContains', 'minContains'],
  ['maxContains', 'maxContains'],
  ['multipleOf', 'multipleOf'],
  ['dependentRequired', 'dependentRequired'],
  ['dependentSchemas', 'dependentSchemas'],
  ['dependencies', 'dependencies'],
];

const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;

const CHILD_MAPS = ['properties', '$defs', 'definitions', 'patternProperties'] as const;
const CHILD_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const;
const CHILD_SCHEMAS = [
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'propertyNames',
] as const;

/**
 * The first keyword of `schema` (at its JSON Pointer) that the grammar engine would not enforce,
 * as a sentence; undefined when every keyword is enforced.
 */
export function unsupportedSchemaFeature(schema: unknown, path = '#'): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const s = schema as Json;
  for (const [key, name] of IGNORED) {
    if (key in s) return `${name} (at ${path}/${key})`;
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 1)
    return `allOf with several schemas (at ${path}/allOf)`;
  if (s.uniqueItems === true) return `uniqueItems (at ${path}/uniqueItems)`;
  if (typeof s.$ref === 'string' && !s.$ref.startsWith('#')) {
    return `a $ref outside the schema, ${JSON.stringify(s.$ref)} (at ${path}/$ref)`;
  }
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  if (types.includes('number')) {
    const bound = BOUNDS.find((b) => b in s);
    if (bound) {
      return `${bound} on a number that may have a fraction (at ${path}/${bound}); an integer's range is enforced`;
    }
  }
  if (typeof s.format === 'string') {
    const extra = ['minLength', 'maxLength', 'pattern'].find((k) => k in s);
    if (extra) return `${extra} together with format (at ${path}/${extra})`;
  }
  const choices = Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : undefined;
  if (choices && types.length > 0 && choices.some((v) => !types.some((t) => isOfType(v, t)))) {
    return `enum or const values that are not of the schema's type (at ${path}/type)`;
  }
  for (const key of CHILD_MAPS) {
    const map = s[key];
    if (typeof map !== 'object' || map === null) continue;
    for (const [name, child] of Object.entries(map)) {
      const found = unsupportedSchemaFeature(child, `${path}/${key}/${escapePointer(name)}`);
      if (found) return found;
    }
  }
  for (const key of CHILD_LISTS) {
    const list = s[key];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const found = unsupportedSchemaFeature(list[i], `${path}/${key}/${i}`);
      if (found) return found;
    }
  }
  for (const key of CHILD_SCHEMAS) {
    const found = unsupportedSchemaFeature(s[key], `${path}/${key}`);
    if (found) return found;
  }
  return undefined;
}

function isOfType(value: unknown, type: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

function escapePointer(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}
