import { reorient } from '@tomosort/volume';
import { submitJobs } from '@tomosort/queue';
import type { JobOutcome, JobSpec, SubmitProgress } from '@tomosort/queue';
import { startBackend } from '../backendOption';
import { CliError, UsageError } from '../errors';
import { EXPERIMENT_JOB } from '../jobKinds';
import { loadSeriesSpec } from '../seriesSource';
import { axialCase, runExperiment, trainsNetwork } from './run';
import type { ExperimentConfig, ExperimentLog, ExperimentMethod, ExperimentResult, UnitFilter } from './run';
import { ExperimentStore, configKey } from './store';
import type { Unit } from './store';

/**
 * One share of a grid: `method`'s pre-training, scores and same-subject run (no budget), or its
 * fine-tuning at `budget` slices with `seed` on one subject (`on`). `out` is the workers' folder,
 * on storage every worker sees (a method's pre-trained model and checkpoints, read by its
 * fine-tuning shares); the units it computes also come back as the job's result, through Redis,
 * to the submitter's own store.
 */
export interface ExperimentJobData {
  readonly out: string;
  readonly config: ExperimentConfig;
  readonly method: ExperimentMethod;
  readonly budget?: number;
  readonly seed?: number;
  /** "phantom" (the seed's held-out subject) or a real case's name. */
  readonly on?: string;
}

/**
 * Runs the experiment on this machine with its real cases (head CT, Colin27) loaded from the
 * samples; `only` limits the fine-tunings computed here (the rest are read from the store).
 */
export async function runWithCases(config: ExperimentConfig, backend: string, log: ExperimentLog, store: ExperimentStore, only?: UnitFilter): Promise<ExperimentResult> {
  const load = (spec: string) =>
    loadSeriesSpec(spec, {
      seed: 0,
      pacs: () => {
        throw new UsageError('the experiment needs no PACS');
      },
    });
  const cases = [];
  for (const name of config.real) {
    const loaded = await load(`sample:${name}`);
    const sample = loaded.sampleLabels!;
    cases.push(axialCase(name, loaded.volume, sample.labels, sample.classes));
  }
  // Colin27 has a second reconstruction of the same subject in the same frame: localization without a subject offset.
  const colin = cases.find((c) => c.name === 'colin27');
  const sameSubject = colin && config.sameSubject ? { ids: ['sample:colin27', 'sample:colin27:better'] as const, volumes: [colin.volume, reorient((await load('sample:colin27:better')).volume, 'axial')] as const } : undefined;
  return runExperiment(config, backend, log, cases, store, sameSubject, only);
}

let backendStarted: Promise<string> | undefined;

/** What a grid job returns (BullMQ keeps it in Redis): its share, and the units it computed or read, by key. */
export interface ExperimentJobResult {
  readonly method: string;
  readonly budget: number | null;
  readonly seed: number | null;
  readonly on: string | null;
  readonly units: number;
  readonly values: Readonly<Record<string, Unit<unknown>>>;
  /** The logs it read or wrote (a pre-training's step log: the report's loss curve and seconds). */
  readonly logs: Readonly<Record<string, readonly unknown[]>>;
}

/** A worker's handler: computes its share's units into the workers' store and returns them. */
export async function runExperimentJob(data: ExperimentJobData, log: ExperimentLog): Promise<ExperimentJobResult> {
  backendStarted ??= startBackend({}, true).then((b) => b.label);
  const backend = await backendStarted;
  const config: ExperimentConfig = { ...data.config, methods: [data.method] };
  const store = new ExperimentStore(data.out, config);
  const before = store.count();
  const only: UnitFilter = data.budget === undefined ? () => false : (k, s, on) => k === data.budget && s === data.seed && on === data.on;
  await runWithCases(config, backend, log, store, only);
  // A share hands back its own fine-tunings (computed now, or by an attempt that died after storing
  // them: their keys end in its budget and seed) and the method-wide units it used (scores; a
  // method without pre-training computes them in its first share), not the other shares' Dice.
  const own = data.budget === undefined ? () => true : (key: string) => !key.startsWith('dice/') || key.endsWith(`/k${data.budget}-s${data.seed}`);
  const values = Object.fromEntries(Object.entries(store.used()).filter(([key]) => own(key)));
  return { method: data.method, budget: data.budget ?? null, seed: data.seed ?? null, on: data.on ?? null, units: store.count() - before, values, logs: data.budget === undefined ? store.usedLogs() : {} };
}

/** A fine-tuning share: one budget, one seed, one subject ("phantom": the seed's held-out phantom subject; or a real case). */
export interface GridShare {
  readonly budget: number;
  readonly seed: number;
  readonly on: string;
}

/** The fine-tuning shares of a grid: every (budget, seed, subject), and the time-to-quality budget's first seeds on the phantom. */
export function gridShares(config: ExperimentConfig): GridShare[] {
  const shares: GridShare[] = config.budgets.flatMap((budget) => config.seeds.flatMap((seed) => ['phantom', ...config.real].map((on) => ({ budget, seed, on }))));
  const ttq = config.timeToQuality;
  if (ttq) for (const seed of config.seeds.slice(0, ttq.seeds)) if (!shares.some((s) => s.budget === ttq.budget && s.seed === seed && s.on === 'phantom')) shares.push({ budget: ttq.budget, seed, on: 'phantom' });
  return shares;
}

/**
 * The grid on the queue: per method, its pre-training job, then (once it has finished) one job
 * per fine-tuning (budget, seed, subject); methods without a network start with their shares. Methods run side by
 * side. Fails with the failed jobs named; `onProgress` sums over the whole grid.
 */
export async function submitGrid(url: string, config: ExperimentConfig, out: string, o: { onProgress: (p: SubmitProgress) => void; onNotice: (m: string) => void; workerOut?: string }): Promise<void> {
  const key = configKey(config);
  const job = (method: ExperimentMethod, share?: GridShare): JobSpec => ({
    id: `exp-${key}-${method}-${share ? `k${share.budget}-s${share.seed}-${share.on}` : 'pretrain'}`,
    kind: EXPERIMENT_JOB,
    data: { out: o.workerOut ?? out, config, method, ...(share ?? {}) } satisfies ExperimentJobData,
  });
  // The units come back as the jobs' results (kept in Redis) and land here, whatever the workers' storage.
  const collected = new ExperimentStore(out, config);
  const collect = (outcome: JobOutcome) => {
    if (outcome.status !== 'completed') return;
    const r = (outcome.result ?? {}) as Partial<ExperimentJobResult>;
    for (const [k, unit] of Object.entries(r.values ?? {})) collected.put(k, unit);
    for (const [k, lines] of Object.entries(r.logs ?? {})) collected.putLog(k, lines);
  };
  const shares = gridShares(config);
  const plan = config.methods.map((m) => ({ method: m, first: trainsNetwork(m) ? [job(m)] : [], then: shares.map((s) => job(m, s)) }));
  const total = plan.reduce((n, p) => n + p.first.length + p.then.length, 0);
  const progress = new Map<string, SubmitProgress>();
  const report = () => {
    const sum = (f: keyof SubmitProgress) => [...progress.values()].reduce((n, p) => n + p[f], 0);
    const completed = sum('completed');
    const failed = sum('failed');
    const running = sum('running');
    o.onProgress({ total, completed, failed, running, waiting: total - completed - failed - running });
  };
  const failures: JobOutcome[] = [];
  const stage = async (name: string, jobs: readonly JobSpec[]) => {
    if (jobs.length === 0) return true;
    const outcomes = await submitJobs(url, jobs, { attempts: 2, onNotice: o.onNotice, onProgress: (p) => (progress.set(name, p), report()) });
    outcomes.forEach(collect);
    failures.push(...outcomes.filter((x) => x.status === 'failed'));
    return outcomes.every((x) => x.status === 'completed');
  };
  await Promise.all(plan.map(async (p) => (await stage(`${p.method}/pretrain`, p.first)) && stage(`${p.method}/shares`, p.then)));
  if (failures.length > 0) {
    throw new CliError(`${failures.length} experiment jobs failed (the report is not written; fix and run again, finished units are kept):\n${failures.map((f) => `  ${f.id}: ${f.status === 'failed' ? f.reason : ''}`).join('\n')}`);
  }
}
