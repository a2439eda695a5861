/** Where tokens live: the tab's sessionStorage (gone when the tab closes, never sent to any
 * server), or memory when storage is unavailable. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class MemoryStore implements KeyValueStore {
  private readonly values = new Map<string, string>();
  getItem(key: string): string | null {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.values.set(key, value);
  }
  removeItem(key: string): void {
    this.values.delete(key);
  }
}

export function sessionStore(): KeyValueStore {
  try {
    const storage = globalThis.sessionStorage;
    const probe = "realtime-dashboard.probe";
    storage.setItem(probe, "1");
    storage.removeItem(probe);
    return storage;
  } catch {
    return new MemoryStore();
  }
}
