export { groupDicomFiles, listFiles } from './folder';
