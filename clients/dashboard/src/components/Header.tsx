/** The top bar: the connection (state, attempts, how stale the data is), the signed-in user,
 * the event rate, the theme and sign-out. Fixed height: nothing moves when the state changes. */
import { useEffect, useState } from "react";
import { expiresAt } from "../auth/jwt";
import { formatAgo, formatNumber, formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import { NEXT_PREFERENCE, setThemePreference, theme } from "../lib/theme";
import type { ConnectionView } from "../model/connection";
import { useDashboard } from "./context";
import { Icon, type IconName } from "./Icon";

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

const STATE: Record<ConnectionView["state"], { label: string; icon: IconName }> = {
  connected: { label: "Connected", icon: "live" },
  connecting: { label: "Connecting…", icon: "sync" },
  reconnecting: { label: "Reconnecting…", icon: "sync" },
  disconnected: { label: "Disconnected", icon: "error" },
};

export function Header({ onSignOut, token }: { onSignOut: () => void; token: string | undefined }) {
  const dashboard = useDashboard();
  const view = useStore(dashboard.connection);
  const now = useNow(1_000);
  const { preference } = useStore(theme);
  const state = STATE[view.state];
  let detail: string;
  if (view.state === "connected") detail = `live since ${formatTime(view.connectedAt)}`;
  else if (view.staleSince !== undefined) detail = `data as of ${formatTime(view.staleSince)} (${formatAgo(view.staleSince, now)})`;
  else detail = view.state === "disconnected" ? "not connected" : "first connection";
  const expiry = token ? expiresAt(token) : undefined;
  const user = view.user;
  return (
    <header className="topbar">
      <div className="brand">
        <Icon name="live" />
        <span>Realtime admin hub</span>
      </div>
      <div
        className={`connection conn-${view.state}`}
        data-testid="connection-status"
        data-state={view.state}
        data-attempts={view.attempts}
        data-reconnects={view.reconnects}
        data-snapshot-at={view.snapshotAt ?? ""}
        role="status"
        aria-live="polite"
        aria-atomic="true"
      >
        <span className="conn-state">
          <Icon name={state.icon} className={view.state === "connecting" || view.state === "reconnecting" ? "spin" : undefined} />
          <strong data-testid="connection-state">{state.label}</strong>
        </span>
        <span className="conn-detail">{detail}</span>
        <span className="conn-attempts" data-testid="connection-attempts" data-value={view.attempts}>
          {view.state === "connected" ? `${formatNumber(view.reconnects)} reconnect${view.reconnects === 1 ? "" : "s"}` : `attempt ${formatNumber(Math.max(1, view.attempts))}`}
        </span>
        {view.reason && view.state !== "connected" && (
          <span className="conn-reason" data-testid="connection-reason" data-code={view.reason.code} title={view.reason.message}>
            {view.reason.code}
          </span>
        )}
        {view.offline && (
          <span className="conn-offline" data-testid="connection-offline">
            <Icon name="offline" />
            browser offline
          </span>
        )}
        <span className="conn-user" data-testid="connection-user" data-user={user?.userId ?? ""}>
          <Icon name="user" />
          {user ? (
            <>
              <strong>{user.userId}</strong>
              <span className="muted">{user.roles.length ? user.roles.join(", ") : "no roles"}</span>
            </>
          ) : (
            <span className="muted">signed in</span>
          )}
          {expiry !== undefined && <span className="muted">· token until {formatTime(expiry)}</span>}
        </span>
      </div>
      <div className="topbar-end">
        <span className="rate" data-testid="event-rate" data-value={view.eventsPerSecond} data-total={view.eventsTotal} title={`last event ${formatAgo(view.lastEventAt, now)}`}>
          <strong>{formatNumber(view.eventsPerSecond)}</strong> events/s
        </span>
        <button
          type="button"
          className="button button-quiet"
          data-testid="theme-toggle"
          data-preference={preference}
          onClick={() => setThemePreference(NEXT_PREFERENCE[preference])}
          aria-label={`Theme: ${preference}. Switch to ${NEXT_PREFERENCE[preference]}.`}
        >
          <Icon name={preference === "dark" ? "moon" : preference === "light" ? "sun" : "monitor"} />
          {preference === "system" ? "Auto" : preference === "dark" ? "Dark" : "Light"}
        </button>
        <button type="button" className="button button-quiet" data-testid="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
