export { ReplicaError, ReplicaGroup, createReplicaShared } from './group';
export type { ReplicaGroupOptions, ReplicaShared } from './group';
export { activeReplicas, onReplicas, replicaSum, replicaSumEach, sumAcrossReplicas } from './context';
