export { folderSources } from './folder';
export type { ShardHeader, ShardParams } from './shards';
export { SHARD_EXTENSION, SHARD_FORMAT, decodeShard, describeParams, encodeShard, hasShard, listShards, readShardStore, shardKey, shardPath, writeShard } from './shards';
