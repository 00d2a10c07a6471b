import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { TrainEvent } from '@tomosort/train';
import type { FileCheckpointStore } from '@tomosort/train/node';
import { writeFileAtomic } from './files';

interface Line {
  readonly type?: string;
  readonly step?: number;
  readonly phase?: string;
}

/**
 * `DIR/train-log.jsonl`: one JSON line per training event. A resumed run first drops the lines
 * after the checkpoint it resumes from, which would otherwise repeat the redone steps.
 */
export class TrainLog {
  constructor(readonly path: string) {}

  append(e: TrainEvent, phase?: string): void {
    if (e.type === 'start') this.#rewind(e.fromStep, phase);
    appendFileSync(this.path, `${JSON.stringify({ time: new Date().toISOString(), ...(phase === undefined ? {} : { phase }), ...e })}\n`);
  }

  /** Keeps the lines up to the checkpoint at `step` of `phase` (at step 0: up to the phase's first line). */
  #rewind(step: number, phase: string | undefined): void {
    if (!existsSync(this.path)) return;
    const lines = readFileSync(this.path, 'utf8').split('\n').filter(Boolean);
    const parsed = lines.map((l): Line => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        return {}; // a line cut by a kill: dropped with what follows it below
      }
    });
    const at = step > 0 ? parsed.findLastIndex((l) => l.type === 'checkpoint' && l.step === step && l.phase === phase) : parsed.findIndex((l) => l.phase === phase && l.type !== undefined);
    let keep = at < 0 ? lines.length : step > 0 ? at + 1 : at;
    const broken = parsed.findIndex((l) => l.type === undefined);
    if (broken >= 0 && broken < keep) keep = broken;
    if (keep < lines.length) writeFileAtomic(this.path, lines.slice(0, keep).map((l) => `${l}\n`).join(''));
  }
}

/**
 * What a run's start says about resuming, on stderr: each damaged checkpoint it passed over
 * (always), and, when `--resume` found nothing to resume, that it starts from step 0.
 */
export function reportResume(resume: boolean, start: Extract<TrainEvent, { type: 'start' }>, stores: readonly FileCheckpointStore[], where: string): void {
  for (const s of stores) for (const n of s.notes) process.stderr.write(`resume: ${n}\n`);
  if (resume && !start.resumed) process.stderr.write(`resume: no checkpoint in ${where} yet: starting from step 0\n`);
}
