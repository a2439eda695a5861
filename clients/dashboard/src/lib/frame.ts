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

/** Batches tasks into one frame of `inner` at most every `intervalMs`: the first change after
 * a quiet spell shows on the next frame; a stream of changes, a few times a second, all in the
 * same frame (the frames between stay free for input). Lists, numbers and charts updated 60
 * times a second are unreadable and cost a repaint every frame; five times a second is live
 * to a person. */
export class ThrottledScheduler implements Scheduler {
  private readonly tasks = new Set<() => void>();
  private pending = false;
  private lastFlush = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly inner: Scheduler,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly later: (task: () => void, ms: number) => unknown = (task, ms) => setTimeout(task, ms),
  ) {}

  schedule(task: () => void): void {
    this.tasks.add(task);
    if (this.pending) return;
    this.pending = true;
    const wait = this.lastFlush + this.intervalMs - this.now();
    if (wait <= 0) this.inner.schedule(this.flush);
    else this.later(() => this.inner.schedule(this.flush), wait);
  }

  private readonly flush = (): void => {
    this.pending = false;
    this.lastFlush = this.now();
    const tasks = [...this.tasks];
    this.tasks.clear();
    for (const task of tasks) {
      try {
        task();
      } catch (error) {
        console.error("dashboard: an update failed", error);
      }
    }
  };
}

/** Runs tasks at once (unit tests of stores). */
export const immediate: Scheduler = { schedule: (task) => task() };

export const frames: Scheduler =
  typeof requestAnimationFrame === "function" ? new FrameScheduler() : immediate;

/** How often lists, current values and charts are redrawn at most (all in one frame). */
export const UPDATE_INTERVAL_MS = 200;
export const updates: Scheduler = frames === immediate ? immediate : new ThrottledScheduler(frames, UPDATE_INTERVAL_MS);
