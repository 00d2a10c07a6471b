/** Tags read by this package, in dicom-parser's `xGGGGEEEE` form, named after the DICOM dictionary. */
export const TAG = {
  TransferSyntaxUID: 'x00020010',
  SOPClassUID: 'x00080016',
  SOPInstanceUID: 'x00080018',
  Modality: 'x00080060',
  SeriesDescription: 'x0008103e',
  StudyDescription: 'x00081030',
  PatientName: 'x00100010',
  PatientID: 'x00100020',
  SliceThickness: 'x00180050',
  SpacingBetweenSlices: 'x00180088',
  StudyInstanceUID: 'x0020000d',
  SeriesInstanceUID: 'x0020000e',
  InstanceNumber: 'x00200013',
  ImagePositionPatient: 'x00200032',
  ImageOrientationPatient: 'x00200037',
  FrameOfReferenceUID: 'x00200052',
  SamplesPerPixel: 'x00280002',
  PhotometricInterpretation: 'x00280004',
  NumberOfFrames: 'x00280008',
  Rows: 'x00280010',
  Columns: 'x00280011',
  PixelSpacing: 'x00280030',
  BitsAllocated: 'x00280100',
  BitsStored: 'x00280101',
  HighBit: 'x00280102',
  PixelRepresentation: 'x00280103',
  RescaleIntercept: 'x00281052',
  RescaleSlope: 'x00281053',
  PixelData: 'x7fe00010',
} as const;

/** Transfer syntaxes by UID, with the ones readSeries decodes marked (the compressed ones through decode/, see its codecs). */
export const TRANSFER_SYNTAXES: Readonly<Record<string, { name: string; decoded: boolean; bigEndian?: boolean }>> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', decoded: true },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', decoded: true },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', decoded: true, bigEndian: true },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', decoded: true },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline', decoded: true },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended', decoded: true },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless', decoded: true },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless SV1', decoded: true },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', decoded: true },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', decoded: true },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Lossless', decoded: true },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', decoded: true },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', decoded: true },
  '1.2.840.10008.1.2.4.100': { name: 'MPEG2 Main Profile / Main Level', decoded: false },
  '1.2.840.10008.1.2.4.102': { name: 'MPEG-4 AVC/H.264 High Profile', decoded: false },
  '1.2.840.10008.1.2.4.110': { name: 'JPEG XL Lossless', decoded: false },
  '1.2.840.10008.1.2.4.111': { name: 'JPEG XL JPEG Recompression', decoded: false },
  '1.2.840.10008.1.2.4.112': { name: 'JPEG XL', decoded: false },
  '1.2.840.10008.1.2.4.201': { name: 'High-Throughput JPEG 2000 Lossless', decoded: false },
  '1.2.840.10008.1.2.4.202': { name: 'High-Throughput JPEG 2000 with RPCL Options Lossless', decoded: false },
  '1.2.840.10008.1.2.4.203': { name: 'High-Throughput JPEG 2000', decoded: false },
};

/** SOP classes that hold no pixel volume even when they look like images. */
export const NON_VOLUME_SOP_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.66.4': 'Segmentation',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT Structure Set',
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.11.1': 'Grayscale Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF',
};

/** SOP Class UIDs used when writing. */
export const SOP_CLASS = {
  CTImage: '1.2.840.10008.5.1.4.1.1.2',
  MRImage: '1.2.840.10008.5.1.4.1.1.4',
  SecondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
  Segmentation: '1.2.840.10008.5.1.4.1.1.66.4',
} as const;
