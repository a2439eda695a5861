/** Browser signals that the network or the page is back: `online`, `visibilitychange` to
 * visible, `pageshow` (back-forward cache). Background tabs have their timers throttled and
 * sleeping machines none at all, so these are when a dashboard must check its socket at
 * once. A no-op outside browsers. */
interface EventTargetLike {
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}

export function watchWakeups(onWake: (why: string) => void): () => void {
  const scope = globalThis as EventTargetLike & { document?: EventTargetLike & { visibilityState?: string } };
  const document = scope.document;
  const online = () => onWake("online");
  const pageshow = () => onWake("pageshow");
  const visibility = () => {
    if (document?.visibilityState === "visible") onWake("visible");
  };
  scope.addEventListener?.("online", online);
  scope.addEventListener?.("pageshow", pageshow);
  document?.addEventListener?.("visibilitychange", visibility);
  return () => {
    scope.removeEventListener?.("online", online);
    scope.removeEventListener?.("pageshow", pageshow);
    document?.removeEventListener?.("visibilitychange", visibility);
  };
}
