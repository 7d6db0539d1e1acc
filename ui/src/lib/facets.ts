// Facet choices offered next to the search box, built from the shell's `Facets` counts.
import type { FacetCount, Facets, HistoryQuery } from "./bindings";

export type Option = { value: string; label: string };

export type Severity = { label: string; tone: "debug" | "info" | "warning" | "error" };

export function severityOf(level: number): Severity {
  if (level >= 40) return { label: "error", tone: "error" };
  if (level >= 30) return { label: "warning", tone: "warning" };
  if (level >= 20) return { label: "info", tone: "info" };
  return { label: "debug", tone: "debug" };
}

/**
 * The query whose facet counts are shown. The source facet is left out so the select keeps
 * listing the other sources after one is picked; paging is irrelevant to counts.
 */
export function facetQuery(q: HistoryQuery): HistoryQuery {
  return { ...q, source: null, before: null };
}

/**
 * Options of the source select: "any" first, then each source with its count, busiest first.
 * A selected source missing from the counts (none in the scanned window) stays selectable.
 */
export function sourceOptions(facets: Facets | null, selected: string): Option[] {
  const counts: FacetCount[] = facets ? [...facets.sources] : [];
  counts.sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
  const more = facets !== null && !facets.complete ? "+" : "";
  const options: Option[] = [{ value: "", label: "Any source" }];
  for (const c of counts) {
    if (c.value.length === 0) continue;
    options.push({ value: c.value, label: `${c.value} (${c.count}${more})` });
  }
  if (selected !== "" && !counts.some((c) => c.value === selected)) {
    options.push({ value: selected, label: `${selected} (0)` });
  }
  return options;
}

/** Values for a <datalist>: busiest first, capped so the popup stays usable. */
export function suggestions(counts: FacetCount[] | undefined, max = 50): string[] {
  if (!counts) return [];
  return [...counts]
    .filter((c) => c.value.length > 0)
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
    .slice(0, max)
    .map((c) => c.value);
}
