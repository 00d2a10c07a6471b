import { createElement as h } from 'react';
import type { ReactElement } from 'react';

/**
 * The live loss curve: an SVG polyline over the steps so far, y scaled to [min, max] of the
 * losses (a loss that stops falling is the user's cue to stop early).
 */
export function lossPath(losses: readonly number[], width: number, height: number): string {
  const finite = losses.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = hi - lo || 1;
  const dx = losses.length > 1 ? width / (losses.length - 1) : 0;
  return losses
    .map((l, i) => (Number.isFinite(l) ? `${(i * dx).toFixed(1)},${(height - ((l - lo) / span) * height).toFixed(1)}` : ''))
    .filter(Boolean)
    .join(' ');
}

export function LossChart({ losses }: { losses: readonly number[] }): ReactElement | null {
  if (losses.length < 2) return null;
  const W = 240;
  const H = 48;
  const finite = losses.filter(Number.isFinite);
  return h(
    'figure',
    { 'data-testid': 'tomosort-loss-chart', style: { margin: '4px 0' } },
    h('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, role: 'img', 'aria-label': `loss over ${losses.length} steps` }, h('polyline', { points: lossPath(losses, W, H), fill: 'none', stroke: '#7fc4ff', strokeWidth: 1.5 })),
    h('figcaption', { style: { fontSize: '11px', opacity: 0.8 } }, `loss ${Math.max(...finite).toFixed(3)} → ${finite.at(-1)!.toFixed(3)} over ${losses.length} steps`),
  );
}
