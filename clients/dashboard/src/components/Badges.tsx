/** Severity and status at a glance: an icon with its own shape, the word, and a colour — never
 * the colour alone. */
import type { Severity } from "../model/alerts";
import type { ServiceState } from "../model/system";
import { Icon, type IconName } from "./Icon";

export const SEVERITY_LABEL: Record<Severity, string> = {
  critical: "Critical",
  error: "Error",
  warning: "Warning",
  info: "Info",
  success: "Success",
};

export function SeverityBadge({ severity }: { severity: Severity }) {
  return (
    <span className={`badge sev-${severity}`} data-severity={severity}>
      <Icon name={severity} />
      {SEVERITY_LABEL[severity]}
    </span>
  );
}

export const STATUS_ICON: Record<ServiceState, IconName> = { healthy: "success", degraded: "warning", down: "critical" };
export const STATUS_LABEL: Record<ServiceState, string> = { healthy: "Healthy", degraded: "Degraded", down: "Down" };

export function StatusBadge({ status }: { status: ServiceState }) {
  return (
    <span className={`badge st-${status}`} data-status={status}>
      <Icon name={STATUS_ICON[status]} />
      {STATUS_LABEL[status]}
    </span>
  );
}
