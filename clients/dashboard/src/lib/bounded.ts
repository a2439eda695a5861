/** Bounded collections: the page keeps at most a fixed number of everything it receives. */

/** Items newest first (by `ts`, then arrival), at most `limit`; each id once. */
export class BoundedFeed<T extends { id: string; ts: string }> {
  private items: T[] = [];
  private readonly ids = new Set<string>();
  /** Items pushed out by newer ones since the start. */
  evicted = 0;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.items.length;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds `item` in its place (false when its id is already here, or it is older than a full feed). */
  add(item: T): boolean {
    if (this.ids.has(item.id)) return false;
    let index = 0;
    // Newest first; almost always at index 0 (live), further down for replays and snapshots.
    while (index < this.items.length && this.items[index]!.ts > item.ts) index++;
    if (index >= this.limit) {
      this.evicted++;
      return false;
    }
    this.items.splice(index, 0, item);
    this.ids.add(item.id);
    while (this.items.length > this.limit) {
      const dropped = this.items.pop()!;
      this.ids.delete(dropped.id);
      this.evicted++;
    }
    return true;
  }

  update(id: string, change: (item: T) => T): boolean {
    const index = this.items.findIndex((item) => item.id === id);
    if (index < 0) return false;
    this.items[index] = change(this.items[index]!);
    return true;
  }

  updateAll(change: (item: T) => T): void {
    this.items = this.items.map(change);
  }

  remove(id: string): boolean {
    const index = this.items.findIndex((item) => item.id === id);
    if (index < 0) return false;
    this.items.splice(index, 1);
    this.ids.delete(id);
    return true;
  }

  clear(): void {
    this.items = [];
    this.ids.clear();
  }

  /** A copy, newest first. */
  list(): T[] {
    return this.items.slice();
  }
}

/** Remembers the last `limit` keys (e.g. dismissed alert ids, so a snapshot reload does not
 * bring one back). */
export class BoundedSet {
  private readonly keys = new Set<string>();

  constructor(readonly limit: number) {}

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.values().next().value as string);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }
}

/** A time series for a chart: x (seconds) ascending and one column per series, at most
 * `capacity` points (the oldest dropped). The arrays are handed to uPlot as they are. */
export class SeriesBuffer {
  readonly xs: number[] = [];
  readonly columns: (number | null)[][];

  constructor(
    readonly capacity: number,
    seriesCount: number,
  ) {
    this.columns = Array.from({ length: seriesCount }, () => []);
  }

  get length(): number {
    return this.xs.length;
  }

  push(x: number, values: readonly (number | null | undefined)[]): void {
    let index = this.xs.length;
    while (index > 0 && this.xs[index - 1]! > x) index--; // a late point goes in its place
    this.xs.splice(index, 0, x);
    this.columns.forEach((column, series) => column.splice(index, 0, values[series] ?? null));
    const overflow = this.xs.length - this.capacity;
    if (overflow > 0) {
      this.xs.splice(0, overflow);
      for (const column of this.columns) column.splice(0, overflow);
    }
  }

  /** uPlot's AlignedData. */
  data(): [number[], ...(number | null)[][]] {
    return [this.xs, ...this.columns];
  }
}
