/** Every timer the client starts goes through one of these, so `close()` can prove that
 * none is left behind (and tests can count them). */
export type TimerHandle = ReturnType<typeof setTimeout>;

export class Timers {
  private readonly handles = new Set<TimerHandle>();

  set(callback: () => void, delayMs: number): TimerHandle {
    const handle = setTimeout(() => {
      this.handles.delete(handle);
      callback();
    }, Math.max(0, delayMs));
    this.handles.add(handle);
    return handle;
  }

  clear(handle: TimerHandle | undefined): undefined {
    if (handle !== undefined) {
      clearTimeout(handle);
      this.handles.delete(handle);
    }
    return undefined;
  }

  clearAll(): void {
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }

  get size(): number {
    return this.handles.size;
  }
}
