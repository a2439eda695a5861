/** The latest PlatformStatus (overall and per service, worst first) and recent SystemEvents. */
import { memo } from "react";
import { formatTime, plural } from "../lib/format";
import { useStore } from "../lib/store";
import type { ServiceState, SystemEventItem } from "../model/system";
import { STATUS_ICON, STATUS_LABEL, StatusBadge } from "./Badges";
import { useDashboard } from "./context";
import { Icon } from "./Icon";
import { Empty, Panel } from "./Panel";

export function SystemStatus() {
  const dashboard = useDashboard();
  const { platform, events } = useStore(dashboard.system);
  const tally = (state: ServiceState) => platform?.services.filter((service) => service.status === state).length ?? 0;
  return (
    <Panel id="system-status" title="System status" icon="server" feed="system-status" className="area-status">
      {platform ? (
        <div className={`status-banner st-${platform.status}`} data-testid="platform-status" data-status={platform.status}>
          <Icon name={STATUS_ICON[platform.status]} className="status-icon" />
          <div className="status-text">
            <strong className="status-word">{STATUS_LABEL[platform.status]}</strong>
            <span className="status-message">{platform.message ?? "\u00a0"}</span>
          </div>
          <time className="status-time" dateTime={platform.ts}>
            updated {formatTime(platform.ts)}
          </time>
        </div>
      ) : (
        <div className="status-banner st-unknown" data-testid="platform-status" data-status="unknown">
          <Icon name="info" className="status-icon" />
          <div className="status-text">
            <strong className="status-word">No status yet</strong>
            <span className="status-message">The platform has not published a PlatformStatus.</span>
          </div>
        </div>
      )}
      {platform && platform.services.length > 0 && (
        <>
          <p className="muted small services-summary">
            {plural(platform.services.length, "service")}: {tally("down")} down · {tally("degraded")} degraded · {tally("healthy")} healthy
          </p>
          <ul className="services" aria-label="Services, worst first">
            {platform.services.map((service) => (
              <li key={service.name} className={`service st-${service.status}`} data-testid={`service-status-${service.name}`} data-status={service.status}>
                <span className="service-name">{service.name}</span>
                <StatusBadge status={service.status} />
              </li>
            ))}
          </ul>
        </>
      )}
      <h3 className="subhead">Recent system events</h3>
      {events.length === 0 ? (
        <Empty>No system events yet.</Empty>
      ) : (
        <ol className="feed system-events" data-testid="system-events" data-count={events.length}>
          {events.map((event) => (
            <SystemEventRow key={event.id} event={event} />
          ))}
        </ol>
      )}
    </Panel>
  );
}

const SystemEventRow = memo(function SystemEventRow({ event }: { event: SystemEventItem }) {
  return (
    <li className="feed-item" data-testid="system-event-item" data-id={event.id} data-kind={event.kind}>
      <time className="feed-time" dateTime={event.ts}>
        {formatTime(event.ts)}
      </time>
      <span className={`tag ${event.kind === "TestMessage" ? "tag-test" : ""}`}>{event.eventType}</span>
      <span className="feed-text">
        {event.message}
        {event.source && <span className="muted"> · {event.source}</span>}
      </span>
    </li>
  );
});
