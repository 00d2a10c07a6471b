import { REAL_CASE_TITLES, isVolumetric, volumetricSettings } from './run';
import type { DiceStats, ExperimentMethod, ExperimentResult, RealCaseName } from './run';
import { pairedDifference } from '../stats';
import { linePlotSvg } from './plot';
import type { LinePlot } from './plot';

const LABEL: Record<string, string> = {
  scratch: 'scratch',
  interpolation: 'interpolation (contour, OHIF)',
  simclr: 'SimCLR',
  barlow: 'Barlow Twins',
  sorting: 'SortingLoss',
  scratch3d: 'scratch 3D (U-Net down path)',
  rotation3d: '3D rotation',
  rpl3d: '3D relative patch location',
  jigsaw3d: '3D jigsaw',
  exemplar3d: '3D exemplar',
  cpc3d: '3D CPC',
  cspr: 'CSPR (3D ResNet)',
};
const name = (m: string): string => LABEL[m] ?? m;
const cell = (v: DiceStats | undefined): string => (v === undefined ? '–' : v.n > 1 ? `${v.mean.toFixed(3)} [${v.ci95[0].toFixed(3)}, ${v.ci95[1].toFixed(3)}]` : v.mean.toFixed(3));
const SHORT: Record<RealCaseName, string> = { cranium: 'Head CT', colin27: 'Brain MR (Colin27)' };
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;

/** What SortingLoss is compared with, in the paired-difference tables. */
const AGAINST = ['scratch', 'interpolation', 'simclr', 'barlow'] as const;

/**
 * Rows "SortingLoss − X" per budget: the paired mean difference over the same units (seed ×
 * subject, same annotated slices) with its 95% interval, and whether the interval excludes 0.
 */
function differenceRows(dice: ExperimentResult['dice'], budgets: readonly string[]): string[] {
  const own = dice.sorting;
  if (!own) return [];
  return AGAINST.filter((m) => dice[m]).map((m) => {
    const cells = budgets.map((k) => {
      const a = own[k];
      const b = dice[m]![k];
      if (!a || !b || a.samples.length < 2 || a.samples.length !== b.samples.length) return '–';
      const d = pairedDifference(a.samples, b.samples);
      return `${signed(d.mean)} [${signed(d.ci95[0])}, ${signed(d.ci95[1])}] ${d.real ? (d.mean > 0 ? '**SortingLoss better**' : `**${name(m)} better**`) : 'not shown'}`;
    });
    return `| SortingLoss − ${name(m)} | ${cells.join(' | ')} |`;
  });
}
const mm = (v: number | null | undefined): string => (v === null || v === undefined ? 'refused' : v.toFixed(1));
const mb = (bytes: number): string => (bytes ? `${(bytes / 2 ** 20).toFixed(0)} MB` : '–');

/** The JSON `--json` prints: the issue's shape plus a block per real case (cranium, colin27) and the run's settings. */
export function experimentJson(r: ExperimentResult): Record<string, unknown> {
  const dice = (d: ExperimentResult['dice']) =>
    Object.fromEntries(Object.entries(d).map(([m, byK]) => [m, Object.fromEntries(Object.entries(byK).map(([k, v]) => [k, { mean: v.mean, sd: v.sd, n: v.n, ci95: v.ci95, samples: v.samples }]))]));
  const differencesJson = (d: ExperimentResult['dice']) =>
    Object.fromEntries(
      AGAINST.filter((m) => d[m] && d.sorting).map((m) => [
        m,
        Object.fromEntries(
          Object.keys(d.sorting!)
            .filter((k) => d[m]![k] && d.sorting![k]!.samples.length > 1 && d.sorting![k]!.samples.length === d[m]![k]!.samples.length)
            .map((k) => {
              const x = pairedDifference(d.sorting![k]!.samples, d[m]![k]!.samples);
              return [k, { mean: x.mean, ci95: x.ci95, real: x.real }];
            }),
        ),
      ]),
    );
  return {
    dice: dice(r.dice),
    differences: differencesJson(r.dice),
    localizationMm: r.localizationMm,
    localizationReferences: r.localizationReferences,
    spearman: r.spearman,
    pretrainSeconds: r.pretrainSeconds,
    peakBytes: r.peakBytes,
    pretrainLoss: r.pretrainLoss,
    timeToQuality: r.timeToQuality,
    localizationCoverage: r.localizationCoverage,
    ...(r.sameSubject ? { sameSubject: r.sameSubject } : {}),
    commits: r.commits,
    ...Object.fromEntries(Object.entries(r.real).map(([n, c]) => [n, { dice: dice(c.dice), localizationMm: c.localizationMm, spearman: c.spearman }])),
    mmPerPixel: r.mmPerPixel,
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

/**
 * The pretext loss of each method over pre-training, divided by its first bin's value (the
 * methods' losses have different scales): flat at the end means the loss has plateaued.
 */
export function lossPlot(r: ExperimentResult): LinePlot {
  return {
    title: 'Pre-training: pretext loss (÷ its first value) vs step',
    xLabel: 'step',
    yLabel: 'loss ÷ first-bin loss',
    series: Object.entries(r.pretrainLoss).map(([m, pts]) => ({ name: name(m), points: pts.map((p) => ({ x: p.step, y: p.loss / (pts[0]!.loss || 1) })) })),
  };
}

/**
 * Relative change of the loss over the last fifth of the run: (mean of the last 10% of bins −
 * mean of the 10% before) ÷ |mean of the first 10%|. Near 0: plateaued.
 */
export function lateLossChange(pts: readonly { loss: number }[]): number {
  const n = pts.length;
  const w = Math.max(1, Math.floor(n / 10));
  if (n < 3 * w) return Number.NaN;
  const mean = (a: number, b: number) => pts.slice(a, b).reduce((t, p) => t + p.loss, 0) / (b - a);
  return (mean(n - w, n) - mean(n - 2 * w, n - w)) / Math.abs(mean(0, w) || 1);
}

/** The plots of a result, by file name (SVG text). */
export function experimentPlots(r: ExperimentResult): Record<string, string> {
  const plots: Record<string, string> = {
    'dice-phantom': linePlotSvg(dicePlot('Phantom: Dice vs annotated slices', r.dice)),
    'localization-phantom': linePlotSvg(localizationPlot('Phantom: stack localization error', r.localizationMm)),
  };
  if (Object.keys(r.pretrainLoss ?? {}).length > 0) plots['pretrain-loss'] = linePlotSvg(lossPlot(r));
  if (Object.keys(r.timeToQuality ?? {}).some((m) => m !== 'scratch')) plots['time-to-quality'] = linePlotSvg(qualityPlot(r));
  for (const [n, c] of Object.entries(r.real)) {
    const short = SHORT[n as RealCaseName];
    plots[`dice-${n}`] = linePlotSvg(dicePlot(`${short}: Dice vs annotated slices`, c.dice));
    plots[`localization-${n}`] = linePlotSvg(localizationPlot(`${short}: stack localization (within the volume)`, c.localizationMm));
  }
  return plots;
}

/** What a 3D method's step holds (the slice methods' "source slices" do not apply). */
function volumetricNote(r: ExperimentResult): string {
  const v = volumetricSettings(r.config);
  return (
    `3D methods draw ${v.samples} samples a step: rotation and exemplar cubes of ${v.cube}³, RPL and jigsaw 3×3×3 grids of ${v.patch}³ patches (jitter 2; jigsaw ${v.permutations} classes), ` +
    `CPC a 4×4×4 grid of ${v.patch}³ patches, CSPR slabs of 3 slices × ${r.config.size}²; the U-Net down path of Taleb et al. (3D ResNet-style ${r.config.model} striding in-plane for CSPR). ` +
    `They are fine-tuned as 3D U-Nets on crops of ${v.depth} slices, ${v.batch} a step; no slice scores, so no ρ or localization.`
  );
}

/** Step time and peak memory at equal source slices per step, with ratios to SortingLoss (the paper's "2× faster, 1.5× less memory" than SimCLR). */
function costSection(r: ExperimentResult, images: Record<string, string>): string[] {
  const pre = Object.keys(r.pretrainSeconds).filter((m) => (r.pretrainSeconds[m] ?? 0) > 0);
  const ref = r.pretrainSeconds.sorting ? 'sorting' : undefined;
  if (pre.length === 0) return [];
  const stepMs = (m: string) => ((r.pretrainSeconds[m] ?? 0) * 1000) / r.config.pretrain.steps;
  return [
    `## Pre-training cost at ${r.config.pretrain.slicesPerStep} source slices per step`,
    '',
    'Mean step time over the whole run (wall clock, this machine, ' + r.backend + '), the whole pre-training and the tf.memory peak of a step.' + (ref ? ' Ratios: the method ÷ SortingLoss.' : ''),
    ...(pre.some((m) => isVolumetric(m as ExperimentMethod)) ? ['', volumetricNote(r)] : []),
    '',
    `| method | step (ms) | pre-training (min) | tf.memory peak | loss change, last 20% of steps |${ref ? ' time ÷ SortingLoss | memory ÷ SortingLoss |' : ''}`,
    `|---|---|---|---|---|${ref ? '---|---|' : ''}`,
    ...pre.map((m) => {
      const ratios = ref ? ` ${(stepMs(m) / stepMs(ref)).toFixed(2)}× | ${((r.peakBytes[m] ?? 0) / (r.peakBytes[ref] ?? 1)).toFixed(2)}× |` : '';
      const late = lateLossChange(r.pretrainLoss?.[m] ?? []);
      return `| ${name(m)} | ${stepMs(m).toFixed(0)} | ${((r.pretrainSeconds[m] ?? 0) / 60).toFixed(1)} | ${mb(r.peakBytes[m] ?? 0)} | ${Number.isFinite(late) ? `${(100 * late).toFixed(1)}%` : '–'} |${ratios}`;
    }),
    '',
    images['pretrain-loss'] ? `![Pretext loss vs step](${images['pretrain-loss']})` : '',
    '',
  ];
}

/** Leave-two-out coverage of the stated 50 % / 90 % intervals on the localization subjects. */
function coverageSection(r: ExperimentResult): string[] {
  const methods = Object.keys(r.localizationCoverage ?? {}).filter((m) => Object.keys(r.localizationCoverage[m]!).length > 0);
  if (methods.length === 0) return [];
  const stacks = r.config.localization.stacks.map(String);
  const pct = (x: number) => x.toFixed(2);
  return [
    '### Phantom: do the stated localization intervals hold?',
    '',
    'Leave two subjects out: each (reference, stack subject) pair placed with a calibration fitted on the other localization subjects only.' +
      ' Cells: fraction of true starts inside the calibrated 50 % / 90 % intervals (nominal 0.50 / 0.90), then the reference-only intervals (no calibration); stacks in pairs.',
    '',
    `| method | ${stacks.map((n) => `${n}-slice: calibrated | reference-only`).join(' | ')} |`,
    `|---|${stacks.map(() => '---|---').join('|')}|`,
    ...methods.map((m) => {
      const cells = stacks.map((n) => {
        const c = r.localizationCoverage[m]![n];
        return c ? `${pct(c.calibrated50)} / ${pct(c.calibrated90)} (${c.stacks} in ${c.pairs}) | ${pct(c.referenceOnly50)} / ${pct(c.referenceOnly90)}` : '– | –';
      });
      return `| ${name(m)} | ${cells.join(' | ')} |`;
    }),
    '',
  ];
}

/** Stacks of one reconstruction of a subject placed in the other (no subject offset). */
function sameSubjectSection(r: ExperimentResult): string[] {
  const same = r.sameSubject;
  if (!same) return [];
  const stacks = r.config.localization.stacks.map(String);
  return [
    `## Same subject, other reconstruction (Colin27: ch2 and ch2better)`,
    '',
    `SortingLoss pre-trained ${same.steps} steps on both reconstructions (axial, the same physical scale as above, the wider intensity augmentation of percentile-mapped MR); ${r.config.sameSubject?.perPair ?? '?'} random stacks per size placed from one reconstruction into the other; truth from their shared frame. Median |error| (mm):`,
    '',
    `| placed | ${stacks.map((n) => `${n}-slice`).join(' | ')} |`,
    `|---|${stacks.map(() => '---').join('|')}|`,
    ...Object.entries(same.directions).map(([d, byN]) => `| ${d} | ${stacks.map((n) => mm(byN[n])).join(' | ')} |`),
    '',
    `Spearman ρ of the scores: ${Object.entries(same.spearman).map(([id, rho]) => `${id} ${rho.toFixed(3)}`).join(', ')}.`,
    '',
  ];
}

/** Phantom Dice at the time-to-quality budget against pre-training seconds, per method. */
export function qualityPlot(r: ExperimentResult): LinePlot {
  const budget = r.config.timeToQuality?.budget ?? 0;
  return {
    title: `Time to quality: phantom Dice at ${budget} annotated slices vs pre-training time`,
    xLabel: 'pre-training time (s, this machine)',
    yLabel: 'held-out Dice (mean over organs)',
    yRange: [0, 1],
    series: Object.entries(r.timeToQuality)
      .filter(([m]) => m !== 'scratch')
      .map(([m, pts]) => ({ name: name(m), points: [...(r.timeToQuality.scratch ?? []), ...pts].map((p) => ({ x: p.seconds, y: p.dice.mean, sd: p.dice.sd })) })),
  };
}

function timeToQualitySection(r: ExperimentResult, images: Record<string, string>): string[] {
  const ttq = r.config.timeToQuality;
  const methods = Object.keys(r.timeToQuality).filter((m) => m !== 'scratch');
  if (!ttq || methods.length === 0) return [];
  const scratch = r.timeToQuality.scratch?.[0];
  return [
    `## Time to quality (phantom, ${ttq.budget} annotated slices, ${ttq.seeds} seed(s))`,
    '',
    `Each pre-training's encoder at ${ttq.fractions.map((f) => `${(100 * f).toFixed(1)}%`).join(', ')} and 100% of its steps, fine-tuned as above; Dice against the pre-training wall-clock time it had had.` +
      (scratch ? ` Scratch (0 s): ${cell(scratch.dice)}.` : ''),
    '',
    '| method | step | pre-training (s) | Dice |',
    '|---|---|---|---|',
    ...methods.flatMap((m) => r.timeToQuality[m]!.map((p) => `| ${name(m)} | ${p.step} | ${p.seconds.toFixed(0)} | ${cell(p.dice)} |`)),
    '',
    images['time-to-quality'] ? `![Time to quality](${images['time-to-quality']})` : '',
    '',
  ];
}

function differenceSection(dice: ExperimentResult['dice'], budgets: readonly string[], title = 'Phantom: paired differences'): string[] {
  const rows = differenceRows(dice, budgets);
  if (rows.length === 0) return [];
  return [
    `### ${title}`,
    '',
    'SortingLoss minus each other method on the same units: mean [95% t interval]; a difference is shown only where the interval excludes 0.',
    '',
    `| difference | ${budgets.map((k) => `${k} slices`).join(' | ')} |`,
    `|---|${budgets.map(() => '---').join('|')}|`,
    ...rows,
    '',
  ];
}

/** The markdown report; `images` maps plot names to the paths written beside it. */
export function experimentMarkdown(r: ExperimentResult, command: string, commit: string, images: Record<string, string>): string {
  const c = r.config;
  const methods = Object.keys(r.dice);
  const trained = methods.filter((m) => m in r.spearman);
  const budgets = c.budgets.map(String);
  const stacks = c.localization.stacks.map(String);
  const lines: string[] = [
    '# Experiment: pre-training methods compared on sparse-slice segmentation and slice localization',
    '',
    `Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)} at commit ${commit} (backend ${r.backend}; ${(r.seconds / 60).toFixed(1)} min in this run).` +
      (r.commits.length > 0 ? ` Units computed at commit${r.commits.length > 1 ? 's' : ''} ${r.commits.join(', ')} (a run resumed with --resume keeps what earlier runs finished).` : ''),
    '',
    '## Settings',
    '',
    `- Encoder ${c.model}, ${c.size}² slices at ${r.mmPerPixel} mm/pixel (field of view ${(c.size * r.mmPerPixel).toFixed(0)} mm), HU window ${c.window.center}/${c.window.width}, seed ${c.seed}.`,
    `- Pre-training on ${c.pretrain.subjects} unlabelled phantom subjects (cohort ${c.seed}): ${c.pretrain.steps} steps of ${c.pretrain.slicesPerStep} source slices each` +
      ` (SortingLoss ${c.pretrain.slicesPerStep / 8} volumes × 8 slices, each encoded once; SimCLR and Barlow Twins ${c.pretrain.slicesPerStep} slices × 2 augmented views), Adam ${c.pretrain.learningRate}, cosine.`,
    `- Fine-tuning: U-Net decoder on the encoder, ${c.finetune.frozenSteps} steps with the encoder frozen then ${c.finetune.steps} full, batch ${c.finetune.batch}, lr ${c.finetune.learningRate}.` +
      ` Annotated slices: one in each of k equal parts of the organs' extent, at an offset drawn per seed (the same slices for every method); Dice on every other slice.` +
      ` Interpolation: ITK's morphological contour interpolation of the same annotated slices (what OHIF offers), no network.`,
    `- Phantom: ${c.phantomSubjects} held-out subjects (cohort ${c.seed + 1}), organs lungs, heart, liver; ${c.subjectPerSeed && c.phantomSubjects > 1 ? `${c.seeds.length} units per method and budget, each seed on its own subject (the n-th seed on the n-th subject)` : `${c.seeds.length} seed(s) × ${c.phantomSubjects} subject(s) = ${c.seeds.length * c.phantomSubjects} units per method and budget`}.` +
      ` Cells: mean Dice over units [95% t interval]. Each method is pre-trained once (seed ${c.seed}): the intervals cover fine-tuning and slice choice, not pre-training.`,
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
    ...differenceSection(r.dice, budgets),
    '## Phantom: slice scores and localization',
    '',
    `| method | held-out ρ | references fitted | ${stacks.map((n) => `${n}-slice stack (mm)`).join(' | ')} | pre-training (s) | tf.memory peak |`,
    `|---|---|---|${stacks.map(() => '---').join('|')}|---|---|`,
    ...trained.map((m) => {
      const refs = r.localizationReferences[m];
      return `| ${name(m)} | ${(r.spearman[m] ?? Number.NaN).toFixed(3)} | ${refs ? `${refs.fitted}/${refs.tried}` : '–'} | ${stacks.map((n) => mm(r.localizationMm[m]?.[n])).join(' | ')} | ${(r.pretrainSeconds[m] ?? 0).toFixed(1)} | ${mb(r.peakBytes[m] ?? 0)} |`;
    }),
    '',
    images['localization-phantom'] ? `![Localization error by stack size](${images['localization-phantom']})` : '',
    '',
    ...coverageSection(r),
    ...sameSubjectSection(r),
    ...costSection(r, images),
    ...timeToQualitySection(r, images),
  ];
  for (const [n, cr] of Object.entries(r.real)) {
    const short = SHORT[n as RealCaseName];
    lines.push(
      `## ${REAL_CASE_TITLES[n as RealCaseName]}`,
      '',
      `The encoders pre-trained on the phantom, fine-tuned on k axial slices of this real volume; localization of stacks within the volume itself (one real volume).`,
      '',
      `| method | ${budgets.map((k) => `Dice, ${k} slices`).join(' | ')} | ρ | ${stacks.map((n) => `${n}-slice (mm)`).join(' | ')} |`,
      `|---|${budgets.map(() => '---').join('|')}|---|${stacks.map(() => '---').join('|')}|`,
      ...methods.map(
        (m) =>
          `| ${name(m)} | ${budgets.map((k) => cell(cr.dice[m]?.[k])).join(' | ')} | ${m in cr.spearman ? cr.spearman[m]!.toFixed(3) : '–'} | ${stacks.map((n) => (m in cr.localizationMm ? mm(cr.localizationMm[m]?.[n]) : '–')).join(' | ')} |`,
      ),
      '',
      ...differenceSection(cr.dice, budgets, `${short}: paired differences`),
      images[`dice-${n}`] ? `![${short} Dice](${images[`dice-${n}`]})` : '',
      images[`localization-${n}`] ? `![${short} localization](${images[`localization-${n}`]})` : '',
      '',
    );
  }
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}
