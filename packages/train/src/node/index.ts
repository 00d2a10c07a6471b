export { FileCheckpointStore } from './checkpoint';
