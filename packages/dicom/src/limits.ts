/** Largest |coordinate| (mm) accepted for a volume's position (DICOM ImagePositionPatient, NIfTI origin): 1 km, far beyond any scanner's field. */
export const MAX_POSITION_MM = 1e6;
/** Largest voxel size (mm) accepted (DICOM PixelSpacing, NIfTI pixdim, .inv3 spacing): 10 m. */
export const MAX_SPACING_MM = 1e4;
