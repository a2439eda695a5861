/** Small line icons (24×24, currentColor). Decorative: every icon stands next to its text. */
import type { ReactElement } from "react";

const paths = {
  critical: (
    <>
      <polygon points="7.9 2.5 16.1 2.5 21.5 7.9 21.5 16.1 16.1 21.5 7.9 21.5 2.5 16.1 2.5 7.9" />
      <line x1="12" y1="7" x2="12" y2="13" />
      <line x1="12" y1="16.5" x2="12" y2="16.6" />
    </>
  ),
  error: (
    <>
      <circle cx="12" cy="12" r="9.5" />
      <line x1="8.5" y1="8.5" x2="15.5" y2="15.5" />
      <line x1="15.5" y1="8.5" x2="8.5" y2="15.5" />
    </>
  ),
  warning: (
    <>
      <path d="M12 3 2.5 20.5h19L12 3z" />
      <line x1="12" y1="9.5" x2="12" y2="14" />
      <line x1="12" y1="17" x2="12" y2="17.1" />
    </>
  ),
  info: (
    <>
      <circle cx="12" cy="12" r="9.5" />
      <line x1="12" y1="11" x2="12" y2="16.5" />
      <line x1="12" y1="7.5" x2="12" y2="7.6" />
    </>
  ),
  success: (
    <>
      <circle cx="12" cy="12" r="9.5" />
      <polyline points="7.5 12.5 10.5 15.5 16.5 9" />
    </>
  ),
  check: <polyline points="5 12.5 10 17.5 19 7" />,
  close: (
    <>
      <line x1="6" y1="6" x2="18" y2="18" />
      <line x1="18" y1="6" x2="6" y2="18" />
    </>
  ),
  pause: (
    <>
      <line x1="9" y1="6" x2="9" y2="18" />
      <line x1="15" y1="6" x2="15" y2="18" />
    </>
  ),
  play: <polygon points="8 5.5 18.5 12 8 18.5" />,
  sync: (
    <>
      <path d="M20 11a8 8 0 0 0-14.3-4.9L4 8" />
      <polyline points="4 3.5 4 8 8.5 8" />
      <path d="M4 13a8 8 0 0 0 14.3 4.9L20 16" />
      <polyline points="20 20.5 20 16 15.5 16" />
    </>
  ),
  live: (
    <>
      <circle cx="12" cy="12" r="3.5" />
      <path d="M6.3 6.3a8 8 0 0 0 0 11.4M17.7 6.3a8 8 0 0 1 0 11.4" />
    </>
  ),
  offline: (
    <>
      <line x1="3" y1="3" x2="21" y2="21" />
      <path d="M8.5 16.2a5 5 0 0 1 7 0M5 12.7a10 10 0 0 1 5-2.6M14.5 10.3a10 10 0 0 1 4.5 2.4M2 9.2a15 15 0 0 1 4.3-2.8M10 5.6a15 15 0 0 1 12 3.6" />
    </>
  ),
  user: (
    <>
      <circle cx="12" cy="8" r="4" />
      <path d="M4 21a8 8 0 0 1 16 0" />
    </>
  ),
  plus: (
    <>
      <line x1="12" y1="5" x2="12" y2="19" />
      <line x1="5" y1="12" x2="19" y2="12" />
    </>
  ),
  minus: <line x1="5" y1="12" x2="19" y2="12" />,
  activity: <polyline points="2.5 12 7 12 10 4.5 14 19.5 17 12 21.5 12" />,
  send: (
    <>
      <path d="M21.5 2.5 11 13" />
      <path d="M21.5 2.5 14.5 21.5 11 13 2.5 9.5z" />
    </>
  ),
  sun: (
    <>
      <circle cx="12" cy="12" r="4" />
      <path d="M12 2v2.5M12 19.5V22M2 12h2.5M19.5 12H22M4.9 4.9l1.8 1.8M17.3 17.3l1.8 1.8M4.9 19.1l1.8-1.8M17.3 6.7l1.8-1.8" />
    </>
  ),
  moon: <path d="M20.5 14.5A8.5 8.5 0 0 1 9.5 3.5a8.5 8.5 0 1 0 11 11z" />,
  monitor: (
    <>
      <rect x="2.5" y="4" width="19" height="13" rx="1.5" />
      <line x1="8" y1="21" x2="16" y2="21" />
      <line x1="12" y1="17" x2="12" y2="21" />
    </>
  ),
  refresh: (
    <>
      <path d="M20 12a8 8 0 1 1-2.3-5.7" />
      <polyline points="20.5 3.5 20.5 8.5 15.5 8.5" />
    </>
  ),
  chart: <polyline points="3 17 9 11 13 15 21 7" />,
  server: (
    <>
      <rect x="3" y="3.5" width="18" height="7" rx="1.5" />
      <rect x="3" y="13.5" width="18" height="7" rx="1.5" />
      <line x1="7" y1="7" x2="7.1" y2="7" />
      <line x1="7" y1="17" x2="7.1" y2="17" />
    </>
  ),
  bell: (
    <>
      <path d="M6 16V11a6 6 0 0 1 12 0v5l2 2.5H4L6 16z" />
      <path d="M10 21a2 2 0 0 0 4 0" />
    </>
  ),
  users: (
    <>
      <circle cx="9" cy="8" r="3.5" />
      <path d="M2.5 20a6.5 6.5 0 0 1 13 0" />
      <path d="M16 4.8a3.5 3.5 0 0 1 0 6.4M18 14.2a6.5 6.5 0 0 1 3.5 5.8" />
    </>
  ),
} satisfies Record<string, ReactElement>;

export type IconName = keyof typeof paths;

export function Icon({ name, className }: { name: IconName; className?: string }) {
  return (
    <svg
      className={className ? `icon ${className}` : "icon"}
      viewBox="0 0 24 24"
      width="1em"
      height="1em"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {paths[name]}
    </svg>
  );
}
