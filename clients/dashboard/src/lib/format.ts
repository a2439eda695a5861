/** Numbers and times for the screen: grouped digits, 24-hour clock times (incidents are
 * correlated by the clock), currencies by their ISO code. */
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const currencies = new Map<string, Intl.NumberFormat>();

export function formatNumber(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "—";
  return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
}

export function formatCurrency(value: number | undefined, currency: string | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  if (!currency) return formatNumber(value);
  let format = currencies.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency, currencyDisplay: "narrowSymbol" });
    } catch {
      return `${formatNumber(value)} ${currency}`; // a code Intl does not know
    }
    if (currencies.size > 50) currencies.clear();
    currencies.set(currency, format);
  }
  return format.format(value);
}

/** "14:03:27" */
export function formatTime(at: string | number | undefined): string {
  if (at === undefined) return "—";
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? "—" : clock.format(date);
}

/** "just now", "42 s ago", "3 min ago", "2 h ago" */
export function formatAgo(at: number | undefined, now: number): string {
  if (at === undefined) return "never";
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 2) return "just now";
  if (seconds < 90) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min ago`;
  return `${Math.round(minutes / 60)} h ago`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}
