import { isExtensionError } from './errors';

/** The first line of a message, whitespace collapsed: the panel never shows a stack or a dump. */
export const oneLine = (text: string): string => (text.split(/\r?\n/, 1)[0] ?? '').replace(/\s+/g, ' ').trim();

/**
 * What the panel shows for a failed action, on one line. An ExtensionError's message is written
 * for the reader and shown as it is; anything else is a bug (or the host's own error): its first
 * line is shown as unexpected and the whole error, stack included, goes to `log` (the browser
 * console) for IT.
 */
export function panelMessage(e: unknown, log: (e: unknown) => void = (x) => console.error('tomosort panel:', x)): string {
  if (isExtensionError(e)) return oneLine(e.message);
  log(e);
  const text = oneLine(e instanceof Error ? e.message : String(e));
  return `Unexpected error in the tomosort panel: ${text || (e instanceof Error ? e.name : 'no message')} (details in the browser console).`;
}
