/** Display formatting shared by the components. Pure; never fails. */

/** Local wall-clock time of an ISO timestamp, e.g. "14:03:27"; the input itself if unparsable. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A run's duration: milliseconds below one second, else seconds with one decimal. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A token count with thousands separators. */
export function formatCount(count: number): string {
  return count.toLocaleString();
}
