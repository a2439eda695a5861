/** At most one run per animation frame: whatever is scheduled during a frame (50 events, 50
 * store changes) runs once, just before the next paint. */
export interface Scheduler {
  schedule(task: () => void): void;
}

type FrameApi = {
  requestAnimationFrame(callback: () => void): number;
  setTimeout(callback: () => void, ms: number): unknown;
  document?: { visibilityState?: string };
};

export class FrameScheduler implements Scheduler {
  private readonly tasks = new Set<() => void>();
  private pending = false;

  constructor(private readonly api: FrameApi = globalThis as unknown as FrameApi) {}

  schedule(task: () => void): void {
    this.tasks.add(task);
    if (this.pending) return;
    this.pending = true;
    // A hidden tab gets no frames: run at a slow pace instead, so memory stays bounded
    // and the page is current the moment it is shown again.
    if (this.api.document?.visibilityState === "hidden") this.api.setTimeout(() => this.run(), 500);
    else this.api.requestAnimationFrame(() => this.run());
  }

  /** Runs everything scheduled so far (tests call it directly). */
  run(): void {
    this.pending = false;
    const tasks = [...this.tasks];
    this.tasks.clear();
    for (const task of tasks) {
      try {
        task();
      } catch (error) {
        console.error("dashboard: a frame task failed", error);
      }
    }
  }
}

/** Runs tasks at once (unit tests of stores). */
export const immediate: Scheduler = { schedule: (task) => task() };

export const frames: Scheduler =
  typeof requestAnimationFrame === "function" ? new FrameScheduler() : immediate;
