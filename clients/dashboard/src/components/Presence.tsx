/** Per group, connections and distinct users (getConnectionCount + getPresence), read every
 * few seconds and whenever the page's own subscriptions change. */
import { formatNumber, formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import { useDashboard } from "./context";
import { Icon } from "./Icon";
import { Empty, Panel } from "./Panel";

export function Presence() {
  const dashboard = useDashboard();
  const view = useStore(dashboard.presence);
  return (
    <Panel
      id="presence"
      title="Presence"
      icon="users"
      className="area-presence"
      tools={
        <button type="button" className="button button-quiet" data-testid="presence-refresh" onClick={() => dashboard.refreshPresence()} aria-label="Refresh presence now">
          <Icon name="refresh" />
          Refresh
        </button>
      }
    >
      <p className="presence-total">
        <span className="big-number" data-testid="presence-total" data-value={view.connections ?? ""}>
          {formatNumber(view.connections)}
        </span>{" "}
        open connections
      </p>
      {view.groups.length === 0 ? (
        <Empty>{view.error ? `Could not read presence: ${view.error}` : "Reading presence…"}</Empty>
      ) : (
        <table className="presence-table">
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col" className="num">
                Connections
              </th>
              <th scope="col" className="num">
                Users
              </th>
              <th scope="col">Who</th>
            </tr>
          </thead>
          <tbody>
            {view.groups.map((group) => (
              <tr key={group.group} data-testid={`presence-${group.group}`} data-connections={group.connections} data-users={group.users}>
                <th scope="row">{group.group}</th>
                <td className="num">{formatNumber(group.connections)}</td>
                <td className="num">{formatNumber(group.users)}</td>
                <td className="who" title={group.userIds?.join(", ")}>
                  {group.userIds ? shortList(group.userIds) : `${formatNumber(group.users)} users`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small panel-foot" data-testid="presence-updated">
        {view.error && view.groups.length > 0 ? `Last read failed (${view.error}); ` : ""}
        {view.updatedAt ? `updated ${formatTime(view.updatedAt)}` : "\u00a0"}
      </p>
    </Panel>
  );
}

function shortList(ids: string[]): string {
  if (ids.length === 0) return "—";
  const shown = ids.slice(0, 3).join(", ");
  return ids.length > 3 ? `${shown} +${ids.length - 3}` : shown;
}
