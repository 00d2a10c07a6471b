import { expectKind } from '@tomosort/models';
import { loadModelFromDir } from '@tomosort/models/node';
import { writeSegmentation } from '@tomosort/dicom';
import { predictVolume } from '@tomosort/segment';
import type { Command } from '../cli';
import { BACKEND_OPTIONS, BACKEND_USAGE, startBackend } from '../backendOption';
import { userPath } from '../env';
import { CliError, UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { JSON_OPTION, PACS_OPTION, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { progressBar } from '../progress';
import { loadSeriesSpec } from '../seriesSource';

const USAGE = `usage: pnpm tomosort predict --model DIR --series S [--out FILE.dcm] [--upload] [options]

  --model DIR     a fine-tuned model folder (from \`finetune\`)
  --series S      a series UID in the PACS (or pacs:UID) or a DICOM folder
  --out FILE      write the DICOM SEG there
  --upload        store the SEG in the PACS as a new series of the same study
${BACKEND_USAGE}
  --json          print {"seriesInstanceUID","sopInstanceUID","frames","counts","out","uploaded"}

Labels every slice and writes a DICOM Segmentation that references the source series; the
source series is never modified. At least one of --out and --upload is needed.`;

export const predictCommand: Command = {
  summary: 'segment every slice of a series and write a DICOM SEG (file and/or PACS)',
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      { model: { type: 'string' }, series: { type: 'string' }, out: { type: 'string' }, upload: { type: 'boolean', default: false }, ...BACKEND_OPTIONS, ...PACS_OPTION, ...JSON_OPTION },
      USAGE,
      false,
    );
    if (!values.model || !values.series) throw new UsageError(`--model and --series are required\n\n${USAGE}`);
    if (!values.out && !values.upload) throw new UsageError(`say where the SEG goes: --out FILE.dcm and/or --upload\n\n${USAGE}`);
    const quiet = values.json || !process.stderr.isTTY;
    await startBackend(values, quiet);
    const { model, manifest } = await loadModelFromDir(userPath(values.model));
    if (model.spec.kind !== 'unet' || !manifest.classes) {
      throw new CliError(`${values.model} is a ${model.spec.kind} model (${manifest.method}); predict needs a segmentation model from \`tomosort finetune\``);
    }
    const unet = expectKind(model, 'unet');
    const pacs = () => connectPacs(values.pacs);
    const series = await loadSeriesSpec(values.series, { pacs, seed: 0 });
    if (!series.dicom) {
      throw new UsageError(`${series.id} is not a DICOM series; a SEG must reference DICOM images (import it first: pnpm tomosort import …, then pass its series UID)`);
    }
    const bar = progressBar('predict', !quiet);
    const labels = await predictVolume({ apply: (x, training) => unet.apply(x, { training }) }, series.volume, {
      size: manifest.inputSize,
      window: manifest.huWindow,
      mmPerPixel: manifest.mmPerPixel,
      intensity: manifest.intensity,
      classes: manifest.classes,
      onProgress: (d, t) => bar.update(d, t),
    });
    unet.dispose();
    const counts: Record<string, number> = {};
    for (const c of manifest.classes) counts[c.name] = 0;
    const nameOf = new Map(manifest.classes.map((c) => [c.value, c.name]));
    for (const v of labels.data) if (v) counts[nameOf.get(v)!]! += 1;
    bar.done(`${series.volume.dims[2]} slices labelled`);
    const seg = writeSegmentation({
      source: series.dicom.series,
      sourceInstances: series.dicom.files,
      labelmap: labels,
      segments: manifest.classes.map((c) => ({ labelValue: c.value, label: c.name, algorithmType: 'AUTOMATIC', algorithmName: `tomosort ${manifest.method}` })),
      seriesDescription: `tomosort prediction (${manifest.classes.map((c) => c.name).join(', ')})`,
    });
    let out: string | undefined;
    if (values.out) {
      out = userPath(values.out);
      writeFileAtomic(out, new Uint8Array(seg.bytes));
    }
    if (values.upload) await pacs().storeInstances([new Uint8Array(seg.bytes)]);
    const summary = { seriesInstanceUID: seg.seriesInstanceUID, sopInstanceUID: seg.sopInstanceUID, frames: seg.frames, counts, out: out ?? null, uploaded: values.upload };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(`SEG ${seg.seriesInstanceUID}: ${seg.frames} frames (${Object.entries(counts).map(([k, n]) => `${k} ${n} voxels`).join(', ')})\n`);
      if (out) process.stdout.write(`written to ${out}\n`);
      if (values.upload) process.stdout.write('stored in the PACS as a new series\n');
    }
    return 0;
  },
};
