/** Per-group ordering: exactly once and in `seq` order, whatever order frames arrive in.
 * Pure bookkeeping (no timers, no I/O): the channel decides when a gap is given up on. */
import type { Envelope } from "./generated/protocol.js";

/** Where a group's stream stands: the last seq delivered, and the sequence it belongs to. */
export interface StreamPosition {
  seq: number;
  epoch: string;
}

export type Accepted = "delivered" | "duplicate" | "buffered" | "epoch";

export class Sequencer {
  private current: StreamPosition | undefined;
  private readonly held = new Map<number, Envelope>();

  constructor(private readonly deliver: (event: Envelope) => void) {}

  get position(): StreamPosition | undefined {
    return this.current && { ...this.current };
  }

  /** Envelopes held back, waiting for an earlier seq. */
  get buffered(): number {
    return this.held.size;
  }

  /** The missing range before the first held envelope: seqs `after+1 … before-1`. */
  get gap(): { after: number; before: number } | undefined {
    if (!this.current || this.held.size === 0) return undefined;
    return { after: this.current.seq, before: Math.min(...this.held.keys()) };
  }

  /** Sets the position (a Subscribed reply, a reset) and delivers what held envelopes follow it. */
  moveTo(position: StreamPosition): void {
    this.current = { ...position };
    for (const [seq, event] of this.held) {
      if (seq <= position.seq || event.epoch !== position.epoch) this.held.delete(seq);
    }
    this.drain();
  }

  /** One envelope from the socket or from history. "epoch": it belongs to another sequence
   * (the caller resets, then pushes it again); "buffered": it waits for an earlier seq. */
  push(event: Envelope): Accepted {
    const at = this.current;
    if (!at) {
      this.held.set(event.seq, event); // before the first Subscribed: sorted out by moveTo
      return "buffered";
    }
    if (event.epoch !== at.epoch) return "epoch";
    if (event.seq <= at.seq || this.held.has(event.seq)) return "duplicate";
    if (event.seq > at.seq + 1) {
      this.held.set(event.seq, event);
      return "buffered";
    }
    this.advance(event);
    this.drain();
    return "delivered";
  }

  clear(): void {
    this.current = undefined;
    this.held.clear();
  }

  private drain(): void {
    for (;;) {
      const at = this.current;
      const next = at && this.held.get(at.seq + 1);
      if (!next) return;
      this.held.delete(next.seq);
      this.advance(next);
    }
  }

  private advance(event: Envelope): void {
    this.current = { seq: event.seq, epoch: event.epoch };
    this.deliver(event);
  }
}
