/** A panel: a titled region with its feed's state (live, paused, subscribing) and the pause
 * button. The header has a fixed height, so nothing below moves when the state changes. */
import type { ReactNode } from "react";
import { formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import type { FeedPanel } from "../model/events";
import { useDashboard } from "./context";
import { Icon, type IconName } from "./Icon";

interface PanelProps {
  id: string;
  title: string;
  icon: IconName;
  /** The panel's group subscription, when it has one (it can then be paused). */
  feed?: FeedPanel;
  tools?: ReactNode;
  className?: string;
  children: ReactNode;
}

export function Panel({ id, title, icon, feed, tools, className, children }: PanelProps) {
  return (
    <section className={`panel ${className ?? ""}`} data-testid={id} aria-labelledby={`${id}-title`}>
      <header className="panel-head">
        <h2 id={`${id}-title`} className="panel-title">
          <Icon name={icon} />
          {title}
        </h2>
        <div className="panel-tools">
          {tools}
          {feed && <FeedControl panel={feed} id={id} />}
        </div>
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

function FeedControl({ panel, id }: { panel: FeedPanel; id: string }) {
  const dashboard = useDashboard();
  const feed = useStore(dashboard.feeds[panel].view);
  const label =
    feed.state === "paused"
      ? "Paused"
      : feed.state === "refused"
        ? "Refused"
        : feed.state === "subscribing"
          ? "Joining…"
          : "Live";
  const title =
    feed.state === "refused"
      ? feed.error
      : feed.reloadedAt
        ? `group ${feed.group}; reloaded from the latest values at ${formatTime(feed.reloadedAt)} after a gap history could not fill`
        : `group ${feed.group}`;
  return (
    <>
      <span className={`feed-state feed-${feed.state}`} data-testid={`${id}-feed`} data-state={feed.state} title={title}>
        <Icon name={feed.state === "paused" ? "pause" : feed.state === "subscribed" ? "live" : feed.state === "refused" ? "error" : "sync"} />
        {label}
        <span className="feed-group">{feed.group}</span>
      </span>
      <button
        type="button"
        className="button button-quiet"
        data-testid={`${id}-pause`}
        aria-pressed={feed.paused}
        onClick={() => (feed.paused ? dashboard.resume(panel) : dashboard.pause(panel))}
        title={feed.paused ? `Resume: subscribe to ${feed.group} again and catch up` : `Pause: leave ${feed.group} until resumed`}
      >
        <Icon name={feed.paused ? "play" : "pause"} />
        {feed.paused ? "Resume" : "Pause"}
      </button>
    </>
  );
}

/** "—" until there is something to show. */
export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
