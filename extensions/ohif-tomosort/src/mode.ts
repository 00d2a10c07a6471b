import { EXTENSION_ID, MODE_ID, MODE_ROUTE, PANEL_NAME } from './ids';
import { HostError } from './errors';
import { PANEL_HOTKEYS } from './commands';

/** What OHIF passes to modeFactory: loadModules imports modules by name (here: the basic mode). */
interface ModeFactoryArgs {
  readonly modeConfiguration: Record<string, unknown>;
  readonly loadModules: (names: string[]) => Promise<{ modeFactory(args: ModeFactoryArgs): Promise<HostMode> | HostMode; extensionDependencies?: Record<string, string> }[]>;
}

interface LayoutTemplate {
  readonly id: string;
  readonly props: Record<string, unknown>;
}

interface HostRoute {
  readonly path: string;
  layoutTemplate(args: unknown): LayoutTemplate;
  readonly [key: string]: unknown;
}

/** What OHIF passes to a mode's onModeEnter, as far as we use it. */
export interface ModeEnterArgs {
  readonly servicesManager: { readonly services: { readonly customizationService?: { setCustomizations(c: Record<string, unknown>): void } } };
  readonly [key: string]: unknown;
}

interface HostMode {
  readonly routes: readonly HostRoute[];
  readonly [key: string]: unknown;
}

/** Modalities the mode opens: cross-sectional series whose slices can be sorted. */
export const MODE_MODALITIES = ['CT', 'MR'];

/** Whether a study's modalities (OHIF passes them joined by '\\') suit the mode. */
export function isValidStudy(modalities: string): { valid: boolean; description: string } {
  const list = modalities.split('\\');
  const valid = list.some((m) => MODE_MODALITIES.includes(m));
  return { valid, description: valid ? 'Sparse-slice annotation of CT and MR' : 'Needs a CT or MR series' };
}

/** OHIF's labelmap segment list with its toolbox (brush, eraser, threshold brush, interpolation). */
export const SEGMENTATION_PANEL = '@ohif/extension-cornerstone.panelModule.panelSegmentationWithToolsLabelMap';

/**
 * "Sparse annotation": OHIF's own segmentation mode (its toolbar, tool groups with the brush,
 * eraser and threshold tools, undo/redo, its SOP class handlers and viewports) with the series
 * list and OHIF's segment list + toolbox on the left and our panel on the right, at its own route.
 * A host without the segmentation mode gets the basic mode: our panel's threshold still draws.
 */
const mode = {
  id: MODE_ID,
  async modeFactory({ modeConfiguration, loadModules }: ModeFactoryArgs) {
    const segmentation = await loadModules(['@ohif/mode-segmentation']).then(
      ([m]) => m,
      () => undefined,
    );
    const host = segmentation ?? (await loadModules(['@ohif/mode-basic']))[0];
    if (!host) throw new HostError('@ohif/mode-segmentation', 'tomosort: the host has neither @ohif/mode-segmentation nor @ohif/mode-basic to build on');
    const base = await host.modeFactory({ modeConfiguration, loadModules });
    const route = base.routes[0];
    if (!route) throw new HostError('@ohif/mode-segmentation route', 'tomosort: the host mode has no route');
    const leftPanels = ['@ohif/extension-default.panelModule.seriesList', ...(segmentation ? [SEGMENTATION_PANEL] : [])];
    return {
      ...base,
      id: MODE_ID,
      // @ohif/mode-basic's export carries hide: true (it keeps itself out of the study list's
      // "Launch workflow"); a mode built on a host mode must say it wants to be offered there.
      hide: false,
      routeName: MODE_ROUTE,
      displayName: 'Sparse annotation',
      isValidMode: ({ modalities }: { modalities: string }) => isValidStudy(modalities),
      onModeEnter(args: ModeEnterArgs): void {
        (base['onModeEnter'] as ((a: ModeEnterArgs) => void) | undefined)?.(args);
        // OHIF 3.13 binds the hotkeys of the customization 'ohif.hotkeyBindings' right after
        // onModeEnter: ours (shift + a letter: mark done, fine-tune, …) join the host's there.
        args.servicesManager.services.customizationService?.setCustomizations({ 'ohif.hotkeyBindings': { $push: PANEL_HOTKEYS } });
      },
      routes: [
        {
          ...route,
          path: MODE_ROUTE,
          layoutTemplate(args: unknown): LayoutTemplate {
            const t = route.layoutTemplate(args);
            return {
              ...t,
              props: {
                ...t.props,
                leftPanels,
                rightPanels: [`${EXTENSION_ID}.panelModule.${PANEL_NAME}`],
                rightPanelClosed: false,
              },
            };
          },
        },
      ],
    };
  },
  extensionDependencies: {},
};

export default mode;
