/**
 * Argument checks shared by the budgets. Internal: not exported from `index.ts`.
 * @internal
 * @packageDocumentation
 */

/**
 * Throws a `RangeError` naming `name` unless `value` is a finite number greater than zero.
 * @internal
 */
export function assertPositiveFinite(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number greater than 0, got ${String(value)}`);
  }
}

/**
 * Throws a `RangeError` naming `name` unless `value` is a finite number of at least zero.
 * @internal
 */
export function assertNonNegativeFinite(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number of at least 0, got ${String(value)}`);
  }
}

/**
 * Throws a `RangeError` naming `name` unless `value` is a safe integer of at least 1 (a count:
 * layers, heads, parameters, tokens).
 * @internal
 */
export function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer of at least 1, got ${String(value)}`);
  }
}

/**
 * Throws a `RangeError` naming `name` when a byte count derived from it is past
 * `Number.MAX_SAFE_INTEGER`, where the integer arithmetic of the budgets would stop being exact.
 * @internal
 */
export function assertSafeBytes(name: string, bytes: number): void {
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`${name} gives ${String(bytes)} bytes, more than Number.MAX_SAFE_INTEGER`);
  }
}
