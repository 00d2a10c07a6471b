// dcmjs ships no type declarations; these cover the part of its API this package uses.
declare module 'dcmjs' {
  type Naturalized = Record<string, unknown>;
  type Denaturalized = Record<string, { vr: string; Value: unknown[] }>;
  namespace data {
    class DicomDict {
      constructor(meta: Denaturalized);
      meta: Denaturalized;
      dict: Denaturalized;
      write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
    }
    const DicomMetaDictionary: {
      naturalizeDataset(dataset: Denaturalized): Naturalized;
      denaturalizeDataset(dataset: Naturalized): Denaturalized;
      uid(): string;
    };
    const Colors: {
      /** sRGB in [0, 1] → DICOM scaled CIELab (0–65535 each). */
      rgb2DICOMLAB(rgb: readonly number[]): number[];
      dicomlab2RGB(lab: readonly number[]): number[];
    };
    const DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string }): DicomDict;
    };
  }
  const dcmjs: { data: typeof data };
  export default dcmjs;
}
