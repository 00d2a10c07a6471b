import { describe, expect, it } from 'vitest';
import { EXTENSION_ID, MODE_ID, MODE_ROUTE, PANEL_NAME } from './ids';
import mode, { SEGMENTATION_PANEL, isValidStudy } from './mode';
import { activeSeries, describeModel, otherSeriesViewports, showPlane } from './ohif';
import { describeOrder } from './panelWords';
import { PANEL_ACTIONS, PANEL_HOTKEYS, commandsModule, onPanelAction, runPanelAction } from './commands';
import type { DisplaySet, OhifServices, StackViewportLike } from './ohif';

/** OHIF's services as far as activeSeries reads them: a grid, display sets, cornerstone viewports. */
function services(opts: { active?: string; displaySets?: Record<string, DisplaySet>; grid?: Record<string, string[]>; viewports?: Record<string, StackViewportLike | 'throws'> }): OhifServices {
  return {
    viewportGridService: {
      getActiveViewportId: () => opts.active,
      getState: () => ({ viewports: new Map(Object.entries(opts.grid ?? {}).map(([id, uids]) => [id, { displaySetInstanceUIDs: uids }])) }),
    },
    displaySetService: { getDisplaySetByUID: (uid) => opts.displaySets?.[uid] },
    cornerstoneViewportService: {
      getCornerstoneViewport: (id) => {
        const v = opts.viewports?.[id];
        if (v === 'throws') throw new Error('viewport not ready');
        return v;
      },
    },
  };
}

const CT: DisplaySet = { displaySetInstanceUID: 'ds1', StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.4', SeriesDescription: ' Head CT ', Modality: 'CT', numImageFrames: 108 };
const stack = (n: number, at: number): StackViewportLike => ({ getImageIds: () => Array.from({ length: n }, (_, i) => `wadors:${i}`), getCurrentImageIdIndex: () => at });

describe('activeSeries (reads OHIF services)', () => {
  it('the active viewport’s series, its slice count from the stack and the slice on screen', () => {
    const s = activeSeries(services({ active: 'vp', grid: { vp: ['ds1'] }, displaySets: { ds1: CT }, viewports: { vp: stack(108, 41) } }));
    expect(s).toEqual({
      viewportId: 'vp',
      displaySetInstanceUID: 'ds1',
      studyInstanceUID: '1.2.3',
      seriesInstanceUID: '1.2.3.4',
      description: 'Head CT',
      modality: 'CT',
      slices: 108,
      currentSlice: 41,
      plane: { axis: 2, index: 41, count: 108 },
      planeNames: ['column', 'row', 'acquisition'],
    });
  });
  it('in a volume (MPR) viewport: the voxel axis its normal lies along and the plane index at its focal point; nothing when oblique', () => {
    // A coronal acquisition (rows run head → feet): grid axes i = +x, j = −z, k = +y; 2 mm slices.
    const grid = { dimensions: [256, 200, 108], spacing: [0.5, 0.8, 2], origin: [-64, 10, 80], direction: [1, 0, 0, 0, 0, -1, 0, 1, 0] };
    const coronal: DisplaySet = { ...CT, instance: { ImageOrientationPatient: [1, 0, 0, 0, 0, -1] } };
    const volume = (normal: number[], focal: number[]): StackViewportLike => ({
      type: 'orthographic',
      getImageIds: () => Array.from({ length: 108 }, (_, i) => `wadors:/studies/1/series/2/instances/1.2.${i}/frames/1`),
      // As cornerstone computes it: |focal − origin| along the normal over the spacing along it.
      getCurrentImageIdIndex: () => {
        const a = [0, 1, 2].find((x) => Math.abs(normal[0]! * grid.direction[3 * x]! + normal[1]! * grid.direction[3 * x + 1]! + normal[2]! * grid.direction[3 * x + 2]!) > 0.99) ?? 0;
        return Math.round(Math.abs(normal.reduce((d, c, i) => d + c * (focal[i]! - grid.origin[i]!), 0)) / grid.spacing[a]!);
      },
      getCamera: () => ({ viewPlaneNormal: normal, focalPoint: focal, position: focal }),
      getImageData: () => grid,
    });
    const at = (v: StackViewportLike) => activeSeries(services({ active: 'vp', grid: { vp: ['ds1'] }, displaySets: { ds1: coronal }, viewports: { vp: v } }))!;
    // Axial view: normal ±z is grid axis j (rows); focal z = 80 − 0.8·j → j = 40.
    const axial = at(volume([0, 0, 1], [0, 0, 80 - 0.8 * 40.3]));
    expect(axial.plane?.index).toBe(40);
    expect(axial).toMatchObject({ plane: { axis: 1, index: 40, count: 200 }, currentSlice: -1, planeNames: ['sagittal', 'axial', 'coronal'] });
    // Coronal view (the acquisition): normal y is axis k; y = 10 + 2·k → k = 7, named by its SOP instance.
    expect(at(volume([0, -1, 0], [3, 24, 0]))).toMatchObject({ plane: { axis: 2, index: 7, count: 108, sopInstanceUID: '1.2.7' }, currentSlice: 7 });
    expect(at(volume([0.6, 0, 0.8], [0, 0, 0])).plane).toBeUndefined();
  });
  it('shows a plane: a volume viewport moves its camera along the normal to it; another orientation is refused with the one to show', () => {
    const grid = { dimensions: [4, 4, 10], spacing: [1, 1, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    let camera = { viewPlaneNormal: [0, 0, 1], focalPoint: [1, 2, 3], position: [1, 2, 103] };
    const vp: StackViewportLike = {
      type: 'orthographic',
      getImageIds: () => Array.from({ length: 10 }, (_, i) => `wadors:/studies/1/series/2/instances/9.${i}/frames/1`),
      getCurrentImageIdIndex: () => 0,
      getCamera: () => camera,
      setCamera: (c) => void (camera = { ...camera, ...c }),
      getImageData: () => grid,
    };
    showPlane(vp, { axis: 2, index: 0, sopInstanceUID: '9.6' }, ['sagittal', 'coronal', 'axial']);
    expect(camera.focalPoint).toEqual([1, 2, 12]);
    expect(camera.position).toEqual([1, 2, 112]);
    expect(() => showPlane(vp, { axis: 1, index: 2 }, ['sagittal', 'coronal', 'axial'])).toThrow("coronal plane 3 is in the coronal orientation: show that orientation in this viewport (OHIF's MPR layout) to go there");
    let shown = -1;
    showPlane({ ...stack(10, 0), setImageIdIndex: (i) => void (shown = i) }, { axis: 2, index: 4 }, ['sagittal', 'coronal', 'axial']);
    expect(shown).toBe(4);
  });
  it('before the viewport renders: the display set’s frame count, slice -1', () => {
    const s = activeSeries(services({ active: 'vp', grid: { vp: ['ds1'] }, displaySets: { ds1: CT }, viewports: { vp: 'throws' } }));
    expect(s).toMatchObject({ slices: 108, currentSlice: -1 });
  });
  it('nothing when no viewport is active, the viewport is empty, or the display set has no series', () => {
    expect(activeSeries(services({}))).toBeUndefined();
    expect(activeSeries(services({ active: 'vp', grid: { vp: [] } }))).toBeUndefined();
    expect(activeSeries(services({ active: 'vp', grid: { vp: ['ds9'] }, displaySets: { ds9: { displaySetInstanceUID: 'ds9' } } }))).toBeUndefined();
  });
  it('names an undescribed series by its number', () => {
    const s = activeSeries(services({ active: 'vp', grid: { vp: ['ds1'] }, displaySets: { ds1: { ...CT, SeriesDescription: '', SeriesNumber: 7 } }, viewports: { vp: stack(3, 0) } }));
    expect(s?.description).toBe('series 7');
  });
});

describe('otherSeriesViewports (what a match can sync)', () => {
  it('lists the other viewports showing another series, skipping empty ones and the same series', () => {
    const MR: DisplaySet = { displaySetInstanceUID: 'ds2', StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.9', SeriesDescription: 'T1', Modality: 'MR', numImageFrames: 20 };
    const s = services({
      active: 'left',
      grid: { left: ['ds1'], same: ['ds1'], empty: [], right: ['ds2'] },
      displaySets: { ds1: CT, ds2: MR },
      viewports: { left: stack(108, 3), same: stack(108, 5), right: stack(20, 7) },
    });
    const others = otherSeriesViewports(s, activeSeries(s)!);
    expect(others.map((o) => [o.viewportId, o.seriesInstanceUID, o.currentSlice])).toEqual([['right', '1.2.3.9', 7]]);
  });
});

describe('describeModel (model store entries)', () => {
  it('summarises a manifest in the order users pick by', () => {
    const line = describeModel({ name: 'ct-sorting', manifest: { method: 'sorting', inputSize: 128, huWindow: { center: 40, width: 400 }, steps: 5000, architecture: { kind: 'score', encoder: { name: 'resnet18' } } } });
    expect(line).toBe('ct-sorting: sorting, resnet18, score head, 128², window 40/400, 5000 steps');
  });
  it('says so when a folder has no manifest', () => {
    expect(describeModel({ name: 'x', manifest: null })).toBe('x: no manifest');
  });
});

describe('the Sparse annotation mode', () => {
  it('is offered for studies with a CT or MR series only', () => {
    expect(isValidStudy('CT').valid).toBe(true);
    expect(isValidStudy('SEG\\MR').valid).toBe(true);
    expect(isValidStudy('US\\SR')).toEqual({ valid: false, description: 'Needs a CT or MR series' });
  });
  // As OHIF 3.13's published modes: basic is hidden from the study list (hide: true); segmentation is basic's factory over its own instance.
  const hostLayout = { id: '@ohif/extension-default.layoutTemplateModule.viewerLayout', props: { leftPanels: ['a'], rightPanels: ['b'], viewports: ['cornerstone'] } };
  const entered: string[] = [];
  const hostMode = (id: string) => ({ id, hide: true, onModeEnter: () => entered.push(id), extensions: { '@ohif/extension-cornerstone': '^3' }, sopClassHandlers: ['stack'], routes: [{ path: id, layoutTemplate: () => hostLayout, init: 'keep' }] });
  type Built = {
    id: string;
    hide: boolean;
    onModeEnter(args: unknown): void;
    routeName: string;
    extensions: unknown;
    sopClassHandlers: unknown;
    routes: { path: string; init: unknown; layoutTemplate(a: unknown): { id: string; props: Record<string, unknown> } }[];
  };
  const build = async (available: readonly string[]) => {
    const asked: string[][] = [];
    const host = { segmentation: hostMode('segmentation'), basic: hostMode('basic') };
    const loadModules = async (names: string[]) => {
      asked.push(names);
      const name = names[0]!;
      // OHIF rejects a module the host was not built with.
      if (!available.includes(name)) throw new Error(`Module ${name} not found`);
      return [{ modeFactory: () => (name === '@ohif/mode-segmentation' ? host.segmentation : host.basic) }];
    };
    const m = (await mode.modeFactory({ modeConfiguration: {}, loadModules })) as unknown as Built;
    return { m, asked, host };
  };
  const expectOurs = (m: Built, source: ReturnType<typeof hostMode>, leftPanels: string[]) => {
    expect(m.id).toBe(MODE_ID);
    expect(m.routeName).toBe(MODE_ROUTE);
    // Offered in the study list's "Launch workflow" (OHIF lists modes with !hide and a valid isValidMode).
    expect(m.hide).toBe(false);
    expect(m.extensions).toBe(source.extensions);
    expect(m.sopClassHandlers).toBe(source.sopClassHandlers);
    expect(m.routes).toHaveLength(1);
    expect(m.routes[0]!.path).toBe(MODE_ROUTE);
    expect(m.routes[0]!.init).toBe('keep');
    const layout = m.routes[0]!.layoutTemplate({});
    expect(layout.id).toBe(hostLayout.id);
    expect(layout.props).toMatchObject({ leftPanels, rightPanels: [`${EXTENSION_ID}.panelModule.${PANEL_NAME}`], viewports: ['cornerstone'] });
    // Entering the mode enters the host's, then pushes our hotkeys onto OHIF's bindings, each on a key of its own.
    const set: Record<string, unknown>[] = [];
    entered.length = 0;
    m.onModeEnter({ servicesManager: { services: { customizationService: { setCustomizations: (c: Record<string, unknown>) => set.push(c) } } } });
    expect(entered).toEqual([source.id]);
    expect(set).toEqual([{ 'ohif.hotkeyBindings': { $push: PANEL_HOTKEYS } }]);
    const keys = PANEL_HOTKEYS.flatMap((k) => k.keys);
    expect(new Set(keys).size).toBe(keys.length);
  };
  it('builds on OHIF’s segmentation mode: its tools and viewports, the series list and OHIF’s segment list + toolbox left, our panel right', async () => {
    const { m, asked, host } = await build(['@ohif/mode-segmentation', '@ohif/mode-basic']);
    expect(asked).toEqual([['@ohif/mode-segmentation']]);
    expectOurs(m, host.segmentation, ['@ohif/extension-default.panelModule.seriesList', SEGMENTATION_PANEL]);
  });
  it('falls back to the basic mode on a host without the segmentation mode (our threshold still draws)', async () => {
    const { m, asked, host } = await build(['@ohif/mode-basic']);
    expect(asked).toEqual([['@ohif/mode-segmentation'], ['@ohif/mode-basic']]);
    expectOurs(m, host.basic, ['@ohif/extension-default.panelModule.seriesList']);
  });
});

describe('the panel’s actions as OHIF commands (hotkeys)', () => {
  it('each command hands its action to the open panel; with none open it says so; a closed panel lets go', () => {
    const notes: string[] = [];
    const { definitions, defaultContext } = commandsModule((m) => notes.push(m));
    expect(defaultContext).toBe('DEFAULT');
    expect(Object.keys(definitions).sort()).toEqual(Object.values(PANEL_ACTIONS).map((a) => a.command).sort());
    const ran: string[] = [];
    const release = onPanelAction((a) => ran.push(a));
    definitions['tomosortMarkDone']!.commandFn();
    definitions['tomosortFineTune']!.commandFn();
    expect(ran).toEqual(['markDone', 'fineTune']);
    release();
    definitions['tomosortExport']!.commandFn();
    expect(ran).toHaveLength(2);
    expect(notes).toEqual(['Open the Sparse annotation panel to export the SEG to the PACS.']);
    // A second panel's registration is not undone by the first one's release.
    const releaseA = onPanelAction(() => ran.push('a'));
    const releaseB = onPanelAction(() => ran.push('b'));
    releaseA();
    expect(runPanelAction('cancel')).toBe(true);
    expect(ran.at(-1)).toBe('b');
    releaseB();
    expect(runPanelAction('cancel')).toBe(false);
  });
});

describe('describeOrder (the slice-order check in words)', () => {
  it('says each finding with 1-based slice numbers', () => {
    expect(describeOrder([])).toBe('the slice order looks right.');
    expect(describeOrder([{ kind: 'reversed', rho: -0.95 }])).toBe('REVERSED: the slices run against the order their positions claim.');
    expect(describeOrder([{ kind: 'shuffled', extent: 'slices', slices: [9, 10] }, { kind: 'missing', after: 29, estimated: 4, z: 6.1 }])).toBe(
      'slices 10, 11 look out of place. about 4 slice(s) missing after slice 30.',
    );
    expect(describeOrder([{ kind: 'shuffled', extent: 'series', rho: 0.04, expectedRho: 0.93 }])).toBe('SHUFFLED: ρ = 0.04, far below the 0.93 this model gives intact series.');
    expect(describeOrder([{ kind: 'inconclusive', rho: 0.3, expectedRho: 0.2, reason: 'unreliable-model' }])).toBe('not judged: this model does not order even intact series.');
    expect(describeOrder([{ kind: 'inconclusive', rho: 0.1, expectedRho: null, reason: 'unordered' }])).toMatch(/^not judged: the scores do not order this series/);
  });
});
