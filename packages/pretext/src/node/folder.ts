import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { readNifti, readSeriesAsync } from '@tomosort/dicom';
import { groupDicomFiles, listFiles } from '@tomosort/dicom/node';
import type { VolumeSource } from '../sources';

const isNifti = (p: string) => /\.nii(\.gz)?$/i.test(p);

/**
 * Training volumes from a folder: every NIfTI file, and every DICOM series (files grouped by
 * SeriesInstanceUID, read and validated up front by readSeriesAsync, compressed syntaxes too).
 */
export async function folderSources(dir: string, warn?: (message: string) => void): Promise<VolumeSource[]> {
  if (!statSync(dir).isDirectory()) return [fileSource(dir)];
  const files = listFiles(dir);
  const nifti = files.filter(isNifti).map(fileSource);
  const dicomPaths = files.filter((p) => !isNifti(p));
  const dicom: VolumeSource[] = [];
  for (const inputs of dicomPaths.length ? groupDicomFiles(dicomPaths, dir, warn) : []) {
    const series = await readSeriesAsync(inputs);
    dicom.push({ id: `${dir}:${series.seriesInstanceUID}`, load: async () => series.volume });
  }
  return [...nifti, ...dicom];
}

function fileSource(path: string): VolumeSource {
  return {
    id: path,
    load: async () => (isNifti(path) ? readNifti(new Uint8Array(readFileSync(path)), basename(path)) : (await readSeriesAsync([{ name: basename(path), bytes: new Uint8Array(readFileSync(path)) }])).volume),
  };
}
