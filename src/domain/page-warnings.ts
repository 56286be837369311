import type { PageAnalysis } from './types.js';

/** Below this mean word confidence a page is flagged for a careful read (upright text reads at ~95). */
export const LOW_CONFIDENCE = 70;
/** A scan this skewed (degrees) was placed crookedly: worth a look at what the straightening did. */
export const STRONG_SKEW_DEG = 5;

export const PAGE_WARNINGS = ['blank', 'low_confidence', 'strong_skew'] as const;
export type PageWarning = (typeof PAGE_WARNINGS)[number];

/** What a person should look at twice on a processed page; the station and the registrar see the same flags. */
export function pageWarnings(
  found: Pick<PageAnalysis, 'blank' | 'ocrConfidence' | 'skewDeg'>,
): PageWarning[] {
  const warnings: PageWarning[] = [];
  if (found.blank) warnings.push('blank');
  else if ((found.ocrConfidence ?? 0) < LOW_CONFIDENCE) warnings.push('low_confidence');
  if (Math.abs(found.skewDeg) >= STRONG_SKEW_DEG) warnings.push('strong_skew');
  return warnings;
}
