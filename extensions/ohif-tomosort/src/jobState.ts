import { describeQuality } from './panelWords';
import type { FromWorker, OrderFindingMessage, SegSummary, TrainingCompute } from './worker/protocol';

// What the panel knows of the worker's jobs: one pure reducer over the worker's typed messages
// and the panel's own job events. Effects on the viewer (labelmaps, the model list, a synced
// viewport) stay in the panel; this holds what it shows.

/** The panel section a job was started from: its progress, loss chart and Cancel show there. */
export type JobSection = 'annotation' | 'model' | 'train' | 'localize';

export type Training =
  | { readonly state: 'idle' }
  | { readonly state: 'running'; readonly message: string; readonly step: number; readonly steps: number; readonly loss: number; readonly eta: number; readonly stepsPerSecond: number; readonly losses: readonly number[] }
  | { readonly state: 'done'; readonly message: string; readonly losses: readonly number[] };

export interface Scored {
  readonly rho: number;
  readonly order: readonly OrderFindingMessage[];
  readonly blank: number;
  /** Score and rank (0 = lowest) of each slice by SOP instance. */
  readonly bySop: ReadonlyMap<string, { readonly score: number; readonly rank: number }>;
  readonly n: number;
}

export interface JobState {
  /** The id of the job posted last: messages of any other job are stale and change nothing. */
  readonly jobId: number | undefined;
  readonly training: Training;
  /** Where the running (or last) job was started. */
  readonly section: JobSection | undefined;
  readonly quality: string | undefined;
  readonly intensity: string | undefined;
  /** What the last fine-tuning's steps cost on this backend. */
  readonly compute: TrainingCompute | undefined;
  readonly scored: Scored | undefined;
  /** The PACS' stored annotations (DICOM SEG) of the open series, once asked for. */
  readonly storedSegs: readonly SegSummary[] | undefined;
  /** The SEG series last exported. */
  readonly exported: string | undefined;
}

export const IDLE: JobState = { jobId: undefined, training: { state: 'idle' }, section: undefined, quality: undefined, intensity: undefined, compute: undefined, scored: undefined, storedSegs: undefined, exported: undefined };

/** A job the panel posts to the worker. */
export type PanelJob = 'finetune' | 'export' | 'listSegs' | 'loadSeg' | 'score' | 'pretrain' | 'match';

/**
 * The panel's own events: a job posted from a section (what it will replace is cleared), a job
 * finished in the panel's words (after its effect on the viewer), a SEG taken as the annotation.
 */
export type PanelJobEvent =
  | { readonly type: 'posted'; readonly id: number; readonly section: JobSection; readonly job: PanelJob }
  | { readonly type: 'finished'; readonly message: string }
  | { readonly type: 'segAdopted'; readonly message: string };

/** What a new job of each kind replaces. */
const REPLACES: Partial<Record<PanelJob, Partial<JobState>>> = {
  finetune: { quality: undefined, intensity: undefined, compute: undefined, exported: undefined },
  score: { scored: undefined },
  pretrain: { scored: undefined },
};

const PHASES: Record<string, string> = { frozen: 'Decoder warm-up', pretrain: 'Pre-training (SortingLoss)', quality: 'Quality estimate' };

const lossesOf = (t: Training): readonly number[] => (t.state === 'idle' ? [] : t.losses);
const finish = (s: JobState, message: string): JobState => ({ ...s, training: { state: 'done', message, losses: lossesOf(s.training) } });

/** A worker message of a job other than the one posted last (a late word of a cancelled or earlier one). */
export function isStale(lastJobId: number | undefined, m: FromWorker): boolean {
  return m.jobId !== undefined && m.jobId !== lastJobId;
}

/** The next state after a worker message or a panel event. */
export function jobReducer(s: JobState, m: FromWorker | PanelJobEvent): JobState {
  if (m.type !== 'posted' && m.type !== 'finished' && m.type !== 'segAdopted' && isStale(s.jobId, m)) return s;
  switch (m.type) {
    case 'posted':
      return { ...s, ...REPLACES[m.job], jobId: m.id, section: m.section };
    case 'finished':
      return finish(s, m.message);
    case 'segAdopted':
      return { ...finish(s, m.message), storedSegs: undefined };
    case 'status':
      return { ...s, training: s.training.state === 'running' ? { ...s.training, message: m.message } : { state: 'running', message: m.message, step: 0, steps: 0, loss: Number.NaN, eta: 0, stepsPerSecond: 0, losses: [] } };
    case 'progress':
      return {
        ...s,
        training: { state: 'running', message: PHASES[m.phase] ?? 'Fine-tuning', step: m.step, steps: m.steps, loss: m.loss, eta: m.etaSeconds, stepsPerSecond: m.stepsPerSecond, losses: [...lossesOf(s.training), m.loss] },
      };
    case 'error':
      return { ...s, training: { state: 'idle' } };
    case 'predicted':
      return {
        ...finish(
          s,
          `${m.cancelled ? 'Cancelled after' : 'Trained'} ${m.steps} steps in ${m.trainSeconds.toFixed(1)} s (${(m.steps / Math.max(m.trainSeconds, 1e-9)).toFixed(2)} steps/s); ` +
            `predicted ${m.slices.length} other slice(s) in ${(m.seconds - m.trainSeconds - m.qualitySeconds).toFixed(1)} s (shown as "tomosort prediction", proposed: accept the ones to export).`,
        ),
        quality: describeQuality(m.quality, m.size, m.qualitySeconds),
        intensity: `Intensities: ${m.intensity}.`,
        compute: m.compute,
      };
    case 'pretrained':
      return finish(s, `${m.cancelled ? 'Pre-training cancelled' : 'Pre-trained'} after ${m.summary.steps} steps in ${m.seconds.toFixed(1)} s; score vs position ρ = ${m.rho.toFixed(2)} on this series. Kept in this browser as "${m.name}" and chosen to start from.`);
    case 'scored': {
      const ranked = [...m.scores].sort((a, b) => a.score - b.score);
      const bySop = new Map(ranked.filter((x) => x.sopInstanceUID).map((x, rank) => [x.sopInstanceUID, { score: x.score, rank }]));
      return { ...finish(s, `Scored ${m.scores.length} axial slice(s).`), scored: { rho: m.rho, order: m.order, blank: m.blankSlices, bySop, n: m.scores.length } };
    }
    case 'exported':
      return { ...finish(s, `Stored a DICOM SEG with ${m.frames} frame(s) in the PACS as a new series.`), exported: m.seriesInstanceUID };
    case 'segs':
      return {
        ...finish(
          s,
          `${m.segs.length === 0 ? 'No stored annotation (DICOM SEG) of this series in the PACS' : `${m.segs.length} stored annotation(s) of this series in the PACS: load one to continue from it`}.${m.skipped.length > 0 ? ` Left out: ${m.skipped.join('; ')}` : ''}`,
        ),
        storedSegs: m.segs,
      };
    // Their text needs the viewer (the synced viewport's name, the labels written): the panel finishes them.
    case 'matched':
    case 'segLoaded':
    case 'ready':
    case 'benchmarked':
      return s;
  }
}
