import type { ComponentChildren } from 'preact';

/**
 * A wide table scrolls inside its own region instead of widening the page (200 % zoom on a small screen); the
 * region takes focus so the keyboard can scroll it too.
 */
export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1).
    <section class="table-scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
