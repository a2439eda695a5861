type Listeners<E> = { [K in keyof E]: (...args: never[]) => void };

/** A typed event emitter with set semantics: a listener added twice is called once. A
 * listener that throws does not stop the others; its error goes to `onListenerError`. */
export class Emitter<E extends Listeners<E>> {
  private readonly listeners = new Map<keyof E, Set<E[keyof E]>>();

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  on<K extends keyof E>(name: K, listener: E[K]): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => this.off(name, listener);
  }

  off<K extends keyof E>(name: K, listener?: E[K]): void {
    if (listener === undefined) this.listeners.delete(name);
    else this.listeners.get(name)?.delete(listener);
  }

  emit<K extends keyof E>(name: K, ...args: Parameters<E[K]>): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<E[K]>) => void)(...args);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  listenersOf<K extends keyof E>(name: K): E[K][] {
    return [...(this.listeners.get(name) ?? [])] as E[K][];
  }

  count<K extends keyof E>(name: K): number {
    return this.listeners.get(name)?.size ?? 0;
  }

  clear(): void {
    this.listeners.clear();
  }
}
