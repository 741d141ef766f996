/**
 * Hardware reporting: the nvidia-smi parser on real and hostile output, the app stack's capabilities
 * (free memory, GPUs, a refresh window on nvidia-smi), and heartbeats of older nodes still parsing.
 */
import assert from 'node:assert/strict';
import { freemem } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigSchema } from '@subnet/config';
import { HardwareSchema } from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import { Registry } from 'prom-client';
import { createAppHandlers, parseNvidiaSmiGpus } from '../src/index.js';

const MIB = 1024 * 1024;

describe('hardware', () => {
  it('parses nvidia-smi output, names with commas included, and skips lines that are not GPUs', () => {
    const out = [
      'NVIDIA H100 80GB HBM3, 81559, 81000',
      'Tesla V100, PCIe, 16384, 100',
      'garbage',
      'Broken, -1, 5',
      'NaN GPU, x, 5',
      '',
    ].join('\n');
    assert.deepEqual(parseNvidiaSmiGpus(out), [
      { name: 'NVIDIA H100 80GB HBM3', memoryBytes: 81559 * MIB, freeMemoryBytes: 81000 * MIB },
      { name: 'Tesla V100, PCIe', memoryBytes: 16384 * MIB, freeMemoryBytes: 100 * MIB },
    ]);
    assert.deepEqual(parseNvidiaSmiGpus(''), []);
    const many = Array.from({ length: 40 }, (_, i) => `gpu${i}, 10, 5`).join('\n');
    assert.equal(parseNvidiaSmiGpus(many).length, 16);
  });

  it('reports free memory and GPUs in capabilities, asking nvidia-smi at most once per refresh window', async () => {
    const opts = ConfigSchema.parse({ app: { models: [] } }).app;
    let asked = 0;
    const app = createAppHandlers(opts, {
      logger: silentLogger(),
      registry: new Registry(),
      detectGpus: async () => {
        asked += 1;
        return [
          { name: 'GPU A', memoryBytes: 8 * 1024 * MIB, freeMemoryBytes: 6 * 1024 * MIB },
          { name: 'GPU B', memoryBytes: 8 * 1024 * MIB, freeMemoryBytes: 2 * 1024 * MIB },
        ];
      },
    });
    try {
      const ctx = { signal: new AbortController().signal } as never;
      const a = await app.handlers.app_getCapabilitiesV1({}, ctx);
      const b = await app.handlers.app_getCapabilitiesV1({}, ctx);
      assert.equal(a.hardware.gpu, 'GPU A');
      assert.equal(a.hardware.gpus?.length, 2);
      assert.equal(a.hardware.gpus?.[1]?.freeMemoryBytes, 2 * 1024 * MIB);
      assert.ok((a.hardware.freeMemoryBytes ?? 0) > 0 && (a.hardware.freeMemoryBytes ?? 0) <= 2 * freemem());
      assert.deepEqual(b.hardware.gpus, a.hardware.gpus);
      assert.equal(asked, 1);
      HardwareSchema.parse(a.hardware);
    } finally {
      await app.close();
    }
  });

  it('parses the hardware of older nodes (no free memory, no GPU list) and refuses hostile figures', () => {
    const old = HardwareSchema.parse({ cpus: 2, memoryBytes: 1 << 30, gpu: null });
    assert.equal(old.freeMemoryBytes, undefined);
    assert.equal(old.gpus, undefined);
    assert.equal(
      HardwareSchema.safeParse({ cpus: 2, memoryBytes: 1, gpu: null, freeMemoryBytes: -1 }).success,
      false,
    );
    const gpu = { name: 'g', memoryBytes: 1, freeMemoryBytes: 1 };
    assert.equal(
      HardwareSchema.safeParse({ cpus: 2, memoryBytes: 1, gpu: 'g', gpus: Array(17).fill(gpu) }).success,
      false,
    );
    assert.equal(
      HardwareSchema.safeParse({
        cpus: 2,
        memoryBytes: 1,
        gpu: 'g',
        gpus: [{ ...gpu, freeMemoryBytes: 0.5 }],
      }).success,
      false,
    );
  });
});
