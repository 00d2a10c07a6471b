/// <reference path="../dcmjs.d.ts" />
import dcmjs from 'dcmjs';
import type { DicomInput } from '../parseImage';

/** A new value for one attribute (`vr` and its values, as dcmjs denaturalises them), or `null` to delete it. */
export type AttributeEdit = { readonly vr: string; readonly Value: readonly unknown[] } | null;

/** Attribute edits keyed by tag as `GGGGEEEE` hex (e.g. `00280101` for BitsStored). */
export type AttributeEdits = Readonly<Record<string, AttributeEdit>>;

/** A string attribute's edit (DS, IS, CS, UI…): `values` joined by DICOM's backslash. */
export const text = (vr: string, ...values: string[]): AttributeEdit => ({ vr, Value: values });
/** A US attribute's edit. */
export const us = (value: number): AttributeEdit => ({ vr: 'US', Value: [value] });
/** A PixelData edit (OW) holding these bytes. */
export const pixelData = (bytes: Uint8Array): AttributeEdit => ({ vr: 'OW', Value: [bytes.slice().buffer] });

/**
 * A real DICOM file with some attributes replaced or deleted, written back as explicit VR little
 * endian by dcmjs: for tests that need a real file carrying one unusual or wrong value.
 */
export function editDicom(input: DicomInput, edits: AttributeEdits, name = input.name): DicomInput {
  const bytes = input.bytes;
  const dict = dcmjs.data.DicomMessage.readFile(bytes.slice().buffer, { ignoreErrors: true });
  dict.meta['00020010'] = { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] };
  for (const [tag, edit] of Object.entries(edits)) {
    const target = tag.startsWith('0002') ? dict.meta : dict.dict;
    if (edit === null) delete target[tag.toUpperCase()];
    else target[tag.toUpperCase()] = { vr: edit.vr, Value: [...edit.Value] };
  }
  return { name, bytes: new Uint8Array(dict.write({ allowInvalidVRLength: true })) };
}
