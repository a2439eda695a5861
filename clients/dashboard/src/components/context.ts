import { createContext, useContext } from "react";
import type { Dashboard } from "../model/dashboard";

export const DashboardContext = createContext<Dashboard | undefined>(undefined);

export function useDashboard(): Dashboard {
  const dashboard = useContext(DashboardContext);
  if (!dashboard) throw new Error("useDashboard outside <DashboardContext>");
  return dashboard;
}
