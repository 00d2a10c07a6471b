import { expectKind } from '@tomosort/models';
import { writeNifti, writeSegmentation } from '@tomosort/dicom';
import { slicePlane } from '@tomosort/volume';
import { predictVolume } from '@tomosort/segment';
import type { Command } from '../cli';
import { BACKEND_OPTIONS, BACKEND_USAGE, startBackend } from '../backendOption';
import { userPath } from '../env';
import { CliError, UsageError } from '../errors';
import { writeFileAtomic } from '../files';
import { JSON_OPTION, PACS_OPTION, intOption, parse } from '../parse';
import { connectPacs } from '../pacsConnection';
import { progressBar } from '../progress';
import { loadSeriesSpec } from '../seriesSource';
import { loadModelFolder, modelPlane, warnLine } from '../modelFolder';

const USAGE = `usage: pnpm tomosort predict --model DIR --series S [--out FILE.dcm] [--nifti FILE.nii.gz] [--upload] [options]

  --model DIR     a fine-tuned model: its folder, or the --out folder of \`finetune\`
  --series S      a series UID in the PACS (or pacs:UID) or a DICOM folder; with --nifti alone also
                  a NIfTI file, sample:cranium or sample:phantom:N
  --out FILE      write the DICOM SEG there
  --nifti FILE    write the label map as NIfTI-1 there (.nii, or gzip'd .nii.gz), on the series' grid
  --upload        store the SEG in the PACS as a new series of the same study
  --seed N        phantom cohort seed for sample:phantom:N (default 0)
${BACKEND_USAGE}
  --json          print {"seriesInstanceUID","sopInstanceUID","frames","counts","plane","out","nifti","uploaded"}
                  (the SEG's fields are null without a SEG)

Labels every slice across the plane the model was fine-tuned on (its manifest says; the series is
reoriented when its own slices are another plane's) and maps the labels back onto the series'
grid. Writes a DICOM Segmentation that references the source series and/or a NIfTI label map
(written atomically); the source series is never modified. At least one of --out, --nifti and
--upload is needed.`;

export const predictCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values } = parse(
      args,
      { model: { type: 'string' }, series: { type: 'string' }, out: { type: 'string' }, nifti: { type: 'string' }, seed: { type: 'string' }, upload: { type: 'boolean', default: false }, ...BACKEND_OPTIONS, ...PACS_OPTION, ...JSON_OPTION },
      USAGE,
      false,
    );
    if (!values.model || !values.series) throw new UsageError(`--model and --series are required\n\n${USAGE}`);
    if (!values.out && !values.nifti && !values.upload) throw new UsageError(`say where the labels go: --out FILE.dcm, --nifti FILE.nii.gz and/or --upload\n\n${USAGE}`);
    if (values.out && /\.nii(\.gz)?$/i.test(values.out)) throw new UsageError(`--out writes a DICOM SEG; for a NIfTI label map pass --nifti ${values.out}`);
    if (values.nifti && !/\.nii(\.gz)?$/i.test(values.nifti)) throw new UsageError(`--nifti ${values.nifti}: name the file .nii or .nii.gz (gzip'd)`);
    const seed = intOption('seed', values.seed, 0);
    const quiet = values.json || !process.stderr.isTTY;
    await startBackend(values, quiet);
    const { model, manifest, dir } = await loadModelFolder(values.model);
    if (model.spec.kind !== 'unet' || !manifest.classes) {
      throw new CliError(`${values.model} is a ${model.spec.kind} model (${manifest.method}); predict needs a segmentation model from \`tomosort finetune\``);
    }
    const unet = expectKind(model, 'unet');
    const pacs = () => connectPacs(values.pacs);
    const series = await loadSeriesSpec(values.series, { pacs, seed });
    const wantsSeg = values.out !== undefined || values.upload;
    if (wantsSeg && !series.dicom) {
      throw new UsageError(`${series.id} is not a DICOM series; a SEG must reference DICOM images (import it first: pnpm tomosort import …, then pass its series UID), or write a NIfTI label map with --nifti FILE.nii.gz`);
    }
    // An old U-Net without a recorded plane was trained along its series' own slice axis: do the same.
    const plane = modelPlane(manifest, dir, warnLine) ?? slicePlane(series.volume);
    const bar = progressBar('predict', !quiet);
    const labels = await predictVolume({ apply: (x, training) => unet.apply(x, { training }) }, series.volume, {
      size: manifest.inputSize,
      window: manifest.huWindow,
      mmPerPixel: manifest.mmPerPixel,
      intensity: manifest.intensity,
      classes: manifest.classes,
      plane,
      // A 3D U-Net labels the stack in crops of the depth it was trained on.
      ...(manifest.cropDepth === undefined ? {} : { depth: manifest.cropDepth }),
      onProgress: (d, t) => bar.update(d, t),
    });
    unet.dispose();
    const counts: Record<string, number> = {};
    for (const c of manifest.classes) counts[c.name] = 0;
    const nameOf = new Map(manifest.classes.map((c) => [c.value, c.name]));
    for (const v of labels.data) if (v) counts[nameOf.get(v)!]! += 1;
    bar.done(`${series.volume.dims[2]} slices labelled across ${plane} slices`);
    const description = `tomosort prediction (${manifest.classes.map((c) => c.name).join(', ')})`;
    let nifti: string | undefined;
    if (values.nifti) {
      nifti = userPath(values.nifti);
      writeFileAtomic(nifti, writeNifti(labels, { gzip: /\.gz$/i.test(nifti), intent: 'label', description, name: nifti }));
    }
    const seg =
      wantsSeg && series.dicom
        ? writeSegmentation({
            source: series.dicom.series,
            sourceInstances: series.dicom.files,
            labelmap: labels,
            segments: manifest.classes.map((c) => ({ labelValue: c.value, label: c.name, algorithmType: 'AUTOMATIC', algorithmName: `tomosort ${manifest.method}` })),
            seriesDescription: description,
          })
        : undefined;
    let out: string | undefined;
    if (seg && values.out) {
      out = userPath(values.out);
      writeFileAtomic(out, new Uint8Array(seg.bytes));
    }
    if (seg && values.upload) await pacs().storeInstances([new Uint8Array(seg.bytes)]);
    const summary = {
      seriesInstanceUID: seg?.seriesInstanceUID ?? null,
      sopInstanceUID: seg?.sopInstanceUID ?? null,
      frames: seg?.frames ?? null,
      counts,
      plane,
      out: out ?? null,
      nifti: nifti ?? null,
      uploaded: values.upload,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const voxels = Object.entries(counts).map(([k, n]) => `${k} ${n} voxels`).join(', ');
      process.stdout.write(seg ? `SEG ${seg.seriesInstanceUID}: ${seg.frames} frames (${voxels})\n` : `labels: ${voxels}\n`);
      if (out) process.stdout.write(`written to ${out}\n`);
      if (nifti) process.stdout.write(`label map written to ${nifti}\n`);
      if (values.upload) process.stdout.write('stored in the PACS as a new series\n');
    }
    return 0;
  },
};
