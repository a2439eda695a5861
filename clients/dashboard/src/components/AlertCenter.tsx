/** Alerts and performance alerts: newest (or most severe) first, filtered by severity, with
 * an unread count, acknowledge and dismiss. */
import { memo, useMemo, useState } from "react";
import { formatNumber, formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import { SEVERITIES, SEVERITY_RANK, type AlertItem, type Severity } from "../model/alerts";
import { SEVERITY_LABEL, SeverityBadge } from "./Badges";
import { useDashboard } from "./context";
import { Icon } from "./Icon";
import { Empty, Panel } from "./Panel";

type Sort = "newest" | "severity";

export function AlertCenter() {
  const dashboard = useDashboard();
  const view = useStore(dashboard.alerts);
  const [filter, setFilter] = useState<Severity | "all">("all");
  const [sort, setSort] = useState<Sort>("newest");
  const items = useMemo(() => {
    const shown = filter === "all" ? view.items : view.items.filter((item) => item.severity === filter);
    return sort === "newest" ? shown : [...shown].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0));
  }, [view.items, filter, sort]);
  const worstUnread = SEVERITIES.find((severity) => view.unreadBySeverity[severity] > 0);
  return (
    <Panel
      id="alert-center"
      title="Alerts"
      icon="bell"
      feed="alert-center"
      className="area-alerts"
      tools={
        <span
          className={`count-badge ${worstUnread ? `sev-${worstUnread}` : "count-zero"}`}
          data-testid="alert-unread-count"
          data-count={view.unread}
          aria-label={`${view.unread} unread alert${view.unread === 1 ? "" : "s"}`}
          role="status"
        >
          {formatNumber(view.unread)} unread
        </span>
      }
    >
      <div className="toolbar">
        <div className="chips" role="group" aria-label="Show alerts of severity">
          <FilterChip label="All" count={view.items.length} active={filter === "all"} onClick={() => setFilter("all")} testId="alert-filter-all" />
          {SEVERITIES.map((severity) => (
            <FilterChip
              key={severity}
              label={SEVERITY_LABEL[severity]}
              count={view.counts[severity]}
              active={filter === severity}
              severity={severity}
              onClick={() => setFilter(filter === severity ? "all" : severity)}
              testId={`alert-filter-${severity}`}
            />
          ))}
        </div>
        <div className="toolbar-end">
          <label className="inline-label">
            Order
            <select value={sort} onChange={(event) => setSort(event.target.value as Sort)} data-testid="alert-sort">
              <option value="newest">Newest first</option>
              <option value="severity">Most severe first</option>
            </select>
          </label>
          <button type="button" className="button" data-testid="alert-ack-all" disabled={view.unread === 0} onClick={() => dashboard.alerts.acknowledgeAll()}>
            <Icon name="check" />
            Acknowledge all
          </button>
        </div>
      </div>
      {items.length === 0 ? (
        <Empty>{view.items.length === 0 ? "No alerts. New ones appear here, newest first; errors and critical ones also pop up." : "No alert of this severity."}</Empty>
      ) : (
        <ol className="alert-list" data-testid="alert-list" data-count={items.length}>
          {items.map((item) => (
            <AlertRow key={item.id} item={item} />
          ))}
        </ol>
      )}
      <p className="muted small panel-foot" data-testid="alert-totals">
        {formatNumber(view.received)} received since this page opened
        {view.evicted > 0 ? ` · the ${formatNumber(view.items.length)} most recent kept, ${formatNumber(view.evicted)} older dropped` : ""}
      </p>
    </Panel>
  );
}

function FilterChip(props: { label: string; count: number; active: boolean; severity?: Severity; onClick: () => void; testId: string }) {
  return (
    <button
      type="button"
      className={`chip ${props.severity ? `sev-${props.severity}` : ""}`}
      aria-pressed={props.active}
      onClick={props.onClick}
      data-testid={props.testId}
    >
      {props.severity && <Icon name={props.severity} />}
      {props.label} <span className="chip-count">{formatNumber(props.count)}</span>
    </button>
  );
}

const AlertRow = memo(function AlertRow({ item }: { item: AlertItem }) {
  const dashboard = useDashboard();
  return (
    <li
      className={`alert sev-${item.severity} ${item.acknowledged ? "alert-read" : "alert-unread"}`}
      data-testid="alert-item"
      data-id={item.id}
      data-severity={item.severity}
      data-kind={item.kind}
      data-acknowledged={item.acknowledged}
      data-title={item.title}
    >
      <div className="alert-main">
        <div className="alert-line">
          <SeverityBadge severity={item.severity} />
          <strong className="alert-title">{item.title}</strong>
          {item.acknowledged && (
            <span className="ack-mark">
              <Icon name="check" />
              Acknowledged
            </span>
          )}
        </div>
        <p className="alert-message">{item.message}</p>
        <p className="alert-meta muted">
          <time dateTime={item.ts}>{formatTime(item.ts)}</time>
          {item.source && <> · {item.source}</>}
          {item.kind === "PerformanceAlert" && <> · performance</>}
          {item.group && (
            <>
              {" "}
              · {item.group} #{item.seq}
            </>
          )}
        </p>
      </div>
      <div className="alert-actions">
        {!item.acknowledged && (
          <button type="button" className="button" data-testid="alert-ack" onClick={() => dashboard.alerts.acknowledge(item.id)} aria-label={`Acknowledge ${item.title}`}>
            <Icon name="check" />
            Ack
          </button>
        )}
        <button type="button" className="button button-quiet" data-testid="alert-dismiss" onClick={() => dashboard.alerts.dismiss(item.id)} aria-label={`Dismiss ${item.title}`}>
          <Icon name="close" />
          Dismiss
        </button>
      </div>
    </li>
  );
});

export function Toasts() {
  const dashboard = useDashboard();
  const { toasts, more } = useStore(dashboard.toasts);
  return (
    <div className="toasts" aria-label="Urgent alerts">
      {toasts.map((toast, index) => (
        <div key={toast.id} className={`toast sev-${toast.severity}`} role="alert" data-testid="toast" data-id={toast.id} data-severity={toast.severity}>
          <Icon name={toast.severity} className="toast-icon" />
          <div className="toast-text">
            <strong>
              {SEVERITY_LABEL[toast.severity]}: {toast.title}
            </strong>
            <span>{toast.message}</span>
            {index === toasts.length - 1 && more > 0 && <span className="muted">+{formatNumber(more)} more in the alert center</span>}
          </div>
          <button type="button" className="button button-quiet" data-testid="toast-dismiss" onClick={() => dashboard.toasts.dismiss(toast.id)} aria-label={`Dismiss ${toast.title}`}>
            <Icon name="close" />
          </button>
        </div>
      ))}
    </div>
  );
}
