/** UserAction and RoleAssignment events, newest first, bounded; filterable by text. */
import { memo, useDeferredValue, useId, useMemo, useState } from "react";
import { formatNumber, formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import { ACTIVITY_LIMIT, type ActivityItem } from "../model/activity";
import { useDashboard } from "./context";
import { Icon } from "./Icon";
import { Empty, Panel } from "./Panel";

function matches(item: ActivityItem, needle: string): boolean {
  const haystack = item.kind === "UserAction" ? `${item.userId} ${item.action} ${item.details ?? ""}` : `${item.userId} ${item.role} ${item.change} ${item.by ?? ""}`;
  return haystack.toLowerCase().includes(needle);
}

export function ActivityFeed() {
  const dashboard = useDashboard();
  const view = useStore(dashboard.activity);
  const [query, setQuery] = useState("");
  const deferred = useDeferredValue(query.trim().toLowerCase());
  const items = useMemo(() => (deferred ? view.items.filter((item) => matches(item, deferred)) : view.items), [view.items, deferred]);
  const inputId = useId();
  return (
    <Panel id="activity-feed" title="User activity" icon="activity" feed="activity-feed" className="area-activity">
      <div className="toolbar">
        <label htmlFor={inputId} className="inline-label">
          Filter
        </label>
        <input
          id={inputId}
          type="search"
          className="input"
          placeholder="user, action or role"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
          data-testid="activity-filter"
          autoComplete="off"
        />
      </div>
      {items.length === 0 ? (
        <Empty>{view.items.length === 0 ? "No user activity yet." : "Nothing matches the filter."}</Empty>
      ) : (
        <ol className="feed" data-testid="activity-list" data-count={items.length}>
          {items.map((item) => (
            <ActivityRow key={item.id} item={item} />
          ))}
        </ol>
      )}
      <p className="muted small panel-foot">
        {formatNumber(view.received)} received · the latest {ACTIVITY_LIMIT} kept
      </p>
    </Panel>
  );
}

const ActivityRow = memo(function ActivityRow({ item }: { item: ActivityItem }) {
  return (
    <li className="feed-item" data-testid="activity-item" data-id={item.id} data-kind={item.kind} data-user={item.userId}>
      <time className="feed-time" dateTime={item.ts}>
        {formatTime(item.ts)}
      </time>
      {item.kind === "UserAction" ? (
        <>
          <span className="tag">
            <Icon name="user" />
            action
          </span>
          <span className="feed-text">
            <strong>{item.userId}</strong> {item.action}
            {item.details && <span className="muted"> · {item.details}</span>}
          </span>
        </>
      ) : (
        <>
          <span className={`tag ${item.change === "assigned" ? "tag-plus" : "tag-minus"}`}>
            <Icon name={item.change === "assigned" ? "plus" : "minus"} />
            role {item.change}
          </span>
          <span className="feed-text">
            <strong>{item.userId}</strong> {item.change === "assigned" ? "was given" : "lost"} role <strong>{item.role}</strong>
            {item.by && <span className="muted"> · by {item.by}</span>}
          </span>
        </>
      )}
    </li>
  );
});
