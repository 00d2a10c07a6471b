import * as tf from '@tensorflow/tfjs-core';
import { ModelIOError } from './errors';

/** A chosen file: a browser `File`, or Node's (`node:buffer` File) in tests. */
export interface NamedBlob {
  readonly name: string;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A tf.io load handler over files the user picked (model.json and its weight files). tfjs'
 * `tf.io.browserFiles` does the same through FileReader, which Node lacks; this one reads with
 * `Blob.text()` / `arrayBuffer()`, so it works in pages, Web Workers and Node alike.
 */
export function filesHandler(files: readonly NamedBlob[]): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const json = files.filter((f) => f.name.endsWith('.json'));
      if (json.length !== 1) {
        throw new ModelIOError(`choose one model.json and its weight files (got ${json.length} .json file(s) among ${files.map((f) => f.name).join(', ') || 'none'})`);
      }
      const file = json[0]!;
      let parsed: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string; generatedBy?: string; convertedBy?: string | null };
      try {
        parsed = JSON.parse(await file.text()) as typeof parsed;
      } catch (e) {
        throw new ModelIOError(`${file.name} is not JSON: ${(e as Error).message}`, file.name);
      }
      if (!parsed.weightsManifest) throw new ModelIOError(`${file.name} has no weightsManifest: it is not a tfjs model.json`, file.name);
      const byName = new Map(files.map((f) => [f.name, f]));
      const chunks: ArrayBuffer[] = [];
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      for (const group of parsed.weightsManifest) {
        for (const path of group.paths) {
          // Only the base name: a picker gives no folders.
          const base = path.split('/').pop()!;
          const weights = byName.get(base);
          if (!weights) throw new ModelIOError(`${file.name} lists the weight file ${base}, which was not chosen with it`, file.name);
          chunks.push(await weights.arrayBuffer());
        }
        weightSpecs.push(...group.weights);
      }
      return {
        modelTopology: parsed.modelTopology as {},
        weightSpecs,
        weightData: tf.io.CompositeArrayBuffer.join(chunks),
        ...(parsed.format ? { format: parsed.format } : {}),
        ...(parsed.generatedBy ? { generatedBy: parsed.generatedBy } : {}),
      };
    },
  };
}
