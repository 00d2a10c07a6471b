import type { ExperimentResult, MeanSd } from './run';
import { linePlotSvg } from './plot';
import type { LinePlot } from './plot';

const LABEL: Record<string, string> = { scratch: 'scratch', simclr: 'SimCLR', barlow: 'Barlow Twins', sorting: 'SortingLoss' };
const name = (m: string): string => LABEL[m] ?? m;
const cell = (v: MeanSd | undefined): string => (v === undefined ? '–' : v.n > 1 ? `${v.mean.toFixed(3)} ± ${v.sd.toFixed(3)}` : v.mean.toFixed(3));
const mm = (v: number | null | undefined): string => (v === null || v === undefined ? 'refused' : v.toFixed(1));
const mb = (bytes: number): string => (bytes ? `${(bytes / 2 ** 20).toFixed(0)} MB` : '–');

/** The JSON `--json` prints: the issue's shape plus the cranium block and the run's settings. */
export function experimentJson(r: ExperimentResult): Record<string, unknown> {
  const dice = (d: ExperimentResult['dice']) =>
    Object.fromEntries(Object.entries(d).map(([m, byK]) => [m, Object.fromEntries(Object.entries(byK).map(([k, v]) => [k, { mean: v.mean, sd: v.sd }]))]));
  return {
    dice: dice(r.dice),
    localizationMm: r.localizationMm,
    localizationReferences: r.localizationReferences,
    spearman: r.spearman,
    pretrainSeconds: r.pretrainSeconds,
    peakBytes: r.peakBytes,
    ...(r.cranium ? { cranium: { dice: dice(r.cranium.dice), localizationMm: r.cranium.localizationMm, spearman: r.cranium.spearman } } : {}),
    backend: r.backend,
    seconds: r.seconds,
    config: r.config,
  };
}

export function dicePlot(title: string, dice: ExperimentResult['dice']): LinePlot {
  return {
    title,
    xLabel: 'annotated slices per subject',
    yLabel: 'held-out Dice (mean over organs)',
    yRange: [0, 1],
    series: Object.entries(dice).map(([m, byK]) => ({
      name: name(m),
      points: Object.entries(byK).map(([k, v]) => ({ x: Number(k), y: v.mean, sd: v.sd })),
    })),
  };
}

export function localizationPlot(title: string, loc: ExperimentResult['localizationMm']): LinePlot {
  return {
    title,
    xLabel: 'slices per stack',
    yLabel: 'median |error| (mm)',
    series: Object.entries(loc).map(([m, byN]) => ({
      name: name(m),
      points: Object.entries(byN).map(([n, v]) => ({ x: Number(n), y: v ?? Number.NaN })),
    })),
  };
}

/** The plots of a result, by file name (SVG text). */
export function experimentPlots(r: ExperimentResult): Record<string, string> {
  const plots: Record<string, string> = {
    'dice-phantom': linePlotSvg(dicePlot('Phantom: Dice vs annotated slices', r.dice)),
    'localization-phantom': linePlotSvg(localizationPlot('Phantom: stack localization error', r.localizationMm)),
  };
  if (r.cranium) {
    plots['dice-cranium'] = linePlotSvg(dicePlot('Head CT: Dice vs annotated slices', r.cranium.dice));
    plots['localization-cranium'] = linePlotSvg(localizationPlot('Head CT: stack localization (within the volume)', r.cranium.localizationMm));
  }
  return plots;
}

/** The markdown report; `images` maps plot names to the paths written beside it. */
export function experimentMarkdown(r: ExperimentResult, command: string, images: Record<string, string>): string {
  const c = r.config;
  const methods = Object.keys(r.dice);
  const budgets = c.budgets.map(String);
  const stacks = c.localization.stacks.map(String);
  const lines: string[] = [
    '# Experiment: pre-training methods compared on sparse-slice segmentation and slice localization',
    '',
    `Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)} (backend ${r.backend}; ${(r.seconds / 60).toFixed(1)} min).`,
    '',
    '## Settings',
    '',
    `- Encoder ${c.model}, ${c.size}² slices, HU window ${c.window.center}/${c.window.width}, seed ${c.seed}.`,
    `- Pre-training on ${c.pretrain.subjects} unlabelled phantom subjects (cohort ${c.seed}): ${c.pretrain.steps} steps of ${c.pretrain.slicesPerStep} slices` +
      ` (SortingLoss ${c.pretrain.slicesPerStep / 8} volumes × 8 slices; SimCLR and Barlow Twins ${c.pretrain.slicesPerStep / 2} slices × 2 views), Adam ${c.pretrain.learningRate}, cosine.`,
    `- Fine-tuning: U-Net decoder on the encoder, ${c.finetune.frozenSteps} steps with the encoder frozen then ${c.finetune.steps} full, batch ${c.finetune.batch}, lr ${c.finetune.learningRate}.` +
      ` Annotated slices spread evenly over the organs' extent; Dice on every other slice.`,
    `- Phantom: ${c.phantomSubjects} held-out subjects (cohort ${c.seed + 1}), organs lungs, heart, liver; ${c.decoderSeeds.length} decoder seed(s): mean ± sd over seeds of the mean over subjects.`,
    `- Localization: ${c.localization.subjects} held-out subjects of ≥ 300 mm; each is the reference for stacks of ${c.localization.stacks.join(', ')} slices cut from the others` +
      ` (${c.localization.stacksPerPair} per pair and size), truth = the same anatomy in the reference (positions scaled by the subjects' heights).` +
      ` Methods without a score head get a score-head probe (${c.localization.probeSteps} SortingLoss steps, encoder frozen). "refused": no reference reached |ρ| ≥ 0.5.`,
    '',
    '## Phantom: held-out Dice',
    '',
    `| method | ${budgets.map((k) => `${k} slices`).join(' | ')} |`,
    `|---|${budgets.map(() => '---').join('|')}|`,
    ...methods.map((m) => `| ${name(m)} | ${budgets.map((k) => cell(r.dice[m]?.[k])).join(' | ')} |`),
    '',
    images['dice-phantom'] ? `![Dice vs annotated slices](${images['dice-phantom']})` : '',
    '',
    '## Phantom: slice scores and localization',
    '',
    `| method | held-out ρ | references fitted | ${stacks.map((n) => `${n}-slice stack (mm)`).join(' | ')} | pre-training (s) | tf.memory peak |`,
    `|---|---|---|${stacks.map(() => '---').join('|')}|---|---|`,
    ...methods.map((m) => {
      const refs = r.localizationReferences[m];
      return `| ${name(m)} | ${(r.spearman[m] ?? Number.NaN).toFixed(3)} | ${refs ? `${refs.fitted}/${refs.tried}` : '–'} | ${stacks.map((n) => mm(r.localizationMm[m]?.[n])).join(' | ')} | ${(r.pretrainSeconds[m] ?? 0).toFixed(1)} | ${mb(r.peakBytes[m] ?? 0)} |`;
    }),
    '',
    images['localization-phantom'] ? `![Localization error by stack size](${images['localization-phantom']})` : '',
    '',
  ];
  if (r.cranium) {
    const cr = r.cranium;
    lines.push(
      '## Head CT (sample:cranium, its masks head and bone)',
      '',
      'The encoders pre-trained on the phantom, fine-tuned on k axial slices of the real head CT; localization of stacks within the volume itself (one real volume).',
      '',
      `| method | ${budgets.map((k) => `Dice, ${k} slices`).join(' | ')} | ρ | ${stacks.map((n) => `${n}-slice (mm)`).join(' | ')} |`,
      `|---|${budgets.map(() => '---').join('|')}|---|${stacks.map(() => '---').join('|')}|`,
      ...methods.map(
        (m) => `| ${name(m)} | ${budgets.map((k) => cell(cr.dice[m]?.[k])).join(' | ')} | ${(cr.spearman[m] ?? Number.NaN).toFixed(3)} | ${stacks.map((n) => mm(cr.localizationMm[m]?.[n])).join(' | ')} |`,
      ),
      '',
      images['dice-cranium'] ? `![Head CT Dice](${images['dice-cranium']})` : '',
      images['localization-cranium'] ? `![Head CT localization](${images['localization-cranium']})` : '',
      '',
    );
  }
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}
