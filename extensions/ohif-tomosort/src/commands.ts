/**
 * The panel's actions as OHIF commands, so that they sit on hotkeys (the mode binds them) and can
 * sit in a toolbar: each command hands its action to the panel that is open (one at a time); with
 * no panel open it says so through OHIF's notifications.
 */
export const PANEL_ACTIONS = {
  threshold: { command: 'tomosortThreshold', label: 'tomosort: label the plane on screen by the HU threshold', keys: ['shift+t'] },
  markDone: { command: 'tomosortMarkDone', label: 'tomosort: mark (or unmark) the plane on screen done', keys: ['shift+d'] },
  fineTune: { command: 'tomosortFineTune', label: 'tomosort: fine-tune and predict', keys: ['shift+f'] },
  acceptAll: { command: 'tomosortAcceptAll', label: 'tomosort: accept every predicted slice', keys: ['shift+a'] },
  rejectAll: { command: 'tomosortRejectAll', label: 'tomosort: take every acceptance back', keys: ['shift+r'] },
  export: { command: 'tomosortExport', label: 'tomosort: export the SEG to the PACS', keys: ['shift+e'] },
  checkOrder: { command: 'tomosortCheckOrder', label: 'tomosort: check the slice order', keys: ['shift+o'] },
  sync: { command: 'tomosortSync', label: 'tomosort: sync the other viewport to this one', keys: ['shift+s'] },
  cancel: { command: 'tomosortCancel', label: 'tomosort: cancel the running job', keys: ['shift+c'] },
} as const;

export type PanelAction = keyof typeof PANEL_ACTIONS;

let handler: ((action: PanelAction) => void) | undefined;

/** The open panel takes the actions; returns the way to let go (when it unmounts). */
export function onPanelAction(h: (action: PanelAction) => void): () => void {
  handler = h;
  return () => {
    if (handler === h) handler = undefined;
  };
}

/** Hands an action to the open panel; false when none is open. */
export function runPanelAction(action: PanelAction): boolean {
  if (!handler) return false;
  handler(action);
  return true;
}

/** OHIF's commands module: one command per action, in the DEFAULT context (always active). */
export function commandsModule(notify: (message: string) => void): { definitions: Record<string, { commandFn: () => void }>; defaultContext: string } {
  const definitions = Object.fromEntries(
    (Object.keys(PANEL_ACTIONS) as PanelAction[]).map((a) => [
      PANEL_ACTIONS[a].command,
      {
        commandFn: () => {
          if (!runPanelAction(a)) notify(`Open the Sparse annotation panel to ${PANEL_ACTIONS[a].label.replace(/^tomosort: /, '')}.`);
        },
      },
    ]),
  );
  return { definitions, defaultContext: 'DEFAULT' };
}

/** The mode's hotkey bindings for the actions (OHIF's hotkeys format; editable in its preferences). */
export const PANEL_HOTKEYS = (Object.keys(PANEL_ACTIONS) as PanelAction[]).map((a) => ({ commandName: PANEL_ACTIONS[a].command, label: PANEL_ACTIONS[a].label, keys: [...PANEL_ACTIONS[a].keys], isEditable: true }));
