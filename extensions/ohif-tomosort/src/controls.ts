import { createElement as h } from 'react';
import type { ReactElement } from 'react';

// The panel's building blocks, in OHIF's look: plain element builders (no hooks).

/**
 * Form controls in OHIF's own look: its theme's CSS variables (HSL triples, as its Tailwind theme
 * uses them), with its dark defaults where a host does not define them — not the browser's
 * white native inputs on OHIF's dark panels.
 */
export const CONTROL_STYLE = {
  background: 'hsl(var(--input, 218 22% 10%))',
  color: 'hsl(var(--foreground, 0 0% 98%))',
  border: '1px solid hsl(var(--border, 218 22% 18%))',
  borderRadius: '4px',
  padding: '1px 4px',
} as const;

type Child = ReactElement | string | null | false | undefined;

export const section = (title: string, testId: string, ...children: Child[]): ReactElement =>
  h('section', { 'data-testid': testId, style: { marginBottom: '12px' } }, h('h3', { style: { fontWeight: 600, margin: '0 0 4px' } }, title), ...children.map((c) => c || null));

export const button = (label: string, testId: string, onClick: () => void, disabled = false): ReactElement =>
  h('button', { 'data-testid': testId, disabled, onClick, style: { margin: '2px 4px 2px 0', padding: '2px 8px', border: '1px solid #5a7ea8', borderRadius: '4px', background: disabled ? '#1b2a3d' : '#24476e', color: '#fff', whiteSpace: 'nowrap', flex: 'none' } }, label);

export const numberInput = (value: number, set: (v: number) => void, testId: string): ReactElement =>
  h('input', { type: 'number', value, 'data-testid': testId, style: { ...CONTROL_STYLE, width: '56px' }, onChange: (e: { target: { value: string } }) => set(Number(e.target.value)) });

/** A list row: its text on one line (cut with an ellipsis, whole on hover), its buttons beside it. */
export const item = (key: string, attrs: Record<string, unknown>, text: string, ...controls: ReactElement[]): ReactElement =>
  h(
    'li',
    { key, ...attrs, style: { display: 'flex', alignItems: 'center', gap: '2px', ...((attrs['style'] as object | undefined) ?? {}) } },
    h('span', { title: text, style: { flex: '1 1 auto', minWidth: 0, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' } }, text),
    ...controls,
  );

/** A list under the section's flow (the panel itself scrolls: no scrolling box inside it). */
export const list = (attrs: Record<string, unknown>, ...rows: ReactElement[]): ReactElement => h('ul', { ...attrs, style: { margin: 0, paddingLeft: '16px' } }, ...rows);
