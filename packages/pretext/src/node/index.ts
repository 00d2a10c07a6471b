export { folderSources } from './folder';
