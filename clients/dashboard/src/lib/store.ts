/** A tiny external store for React's useSyncExternalStore: mutations mark it dirty, listeners
 * are told at most once per frame, and the immutable snapshot is rebuilt only when read. */
import { useSyncExternalStore } from "react";
import { frames, type Scheduler } from "./frame";

export abstract class Store<T> {
  private readonly listeners = new Set<() => void>();
  private snapshot: T | undefined;
  private stale = true;

  constructor(private readonly scheduler: Scheduler = frames) {}

  /** The current view (the same object until something changes). */
  readonly get = (): T => {
    if (this.stale || this.snapshot === undefined) {
      this.snapshot = this.build();
      this.stale = false;
    }
    return this.snapshot;
  };

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  protected abstract build(): T;

  protected changed(): void {
    this.stale = true;
    this.scheduler.schedule(this.notify);
  }

  private readonly notify = (): void => {
    for (const listener of [...this.listeners]) listener();
  };
}

export function useStore<T>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}

/** A store holding one immutable value. */
export class ValueStore<T> extends Store<T> {
  constructor(
    private value: T,
    scheduler?: Scheduler,
  ) {
    super(scheduler);
  }

  set(value: T): void {
    if (Object.is(value, this.value)) return;
    this.value = value;
    this.changed();
  }

  update(change: (value: T) => T): void {
    this.set(change(this.value));
  }

  protected build(): T {
    return this.value;
  }
}
