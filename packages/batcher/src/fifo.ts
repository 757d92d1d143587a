/**
 * A first-in first-out queue over a plain array and a head index: `shift` is O(1) amortized,
 * unlike `Array.prototype.shift`, which moves every remaining element.
 * @internal
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  /** Number of items in the queue. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends an item at the tail. */
  push(item: T): void {
    this.items.push(item);
  }

  /** The item at the head, or `undefined` when empty. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** Removes and returns the item at the head, or `undefined` when empty. */
  shift(): T | undefined {
    const items = this.items;
    if (this.head >= items.length) return undefined;
    const item = items[this.head];
    // Drop the reference so a settled record can be collected before the array is compacted.
    items[this.head] = undefined;
    this.head++;
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= items.length) {
      // Compact once the dead prefix is at least half the array: O(1) amortized per shift.
      items.copyWithin(0, this.head);
      items.length -= this.head;
      this.head = 0;
    }
    return item;
  }
}
