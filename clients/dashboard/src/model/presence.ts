/** The presence panel's state: per group, connections and distinct users. */
import type { GroupPresence } from "@realtime-hub/client";
import type { Scheduler } from "../lib/frame";
import { Store } from "../lib/store";

export interface PresenceView {
  groups: GroupPresence[];
  connections?: number;
  updatedAt?: number;
  error?: string;
  loading: boolean;
}

export class PresenceStore extends Store<PresenceView> {
  private view: PresenceView = { groups: [], loading: false };

  constructor(scheduler?: Scheduler) {
    super(scheduler);
  }

  loading(): void {
    this.view = { ...this.view, loading: true };
    this.changed();
  }

  loaded(connections: number, groups: GroupPresence[], at: number): void {
    this.view = { groups: [...groups].sort((a, b) => a.group.localeCompare(b.group)), connections, updatedAt: at, loading: false };
    this.changed();
  }

  failed(message: string): void {
    this.view = { ...this.view, error: message, loading: false };
    this.changed();
  }

  protected build(): PresenceView {
    return this.view;
  }
}
