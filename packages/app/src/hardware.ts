/**
 * What hardware this node has, for `app_getCapabilitiesV1` (and so for heartbeats and placement plans):
 * its GPUs as `nvidia-smi` lists them, with total and free memory. Never throws: a node without
 * `nvidia-smi` (or one that does not answer in time) has no GPUs.
 */
import { execFile } from 'node:child_process';
import { type GpuInfo, MAX_REPORTED_GPUS } from '@subnet/engine-api';

const MIB = 1024 * 1024;
const NVIDIA_SMI_TIMEOUT_MS = 3000;

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits` (MiB).
 * The name is everything before the last two fields (a name may hold a comma); lines that do not end in
 * two non-negative numbers are skipped, and at most {@link MAX_REPORTED_GPUS} GPUs are kept.
 */
export function parseNvidiaSmiGpus(stdout: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of stdout.split('\n')) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 3) continue;
    const free = Number(fields.pop());
    const total = Number(fields.pop());
    const name = fields.join(', ').slice(0, 256);
    const ok = (n: number) => Number.isFinite(n) && n >= 0 && n < 2 ** 32;
    if (name === '' || !ok(total) || !ok(free)) continue;
    gpus.push({ name, memoryBytes: Math.round(total * MIB), freeMemoryBytes: Math.round(free * MIB) });
    if (gpus.length === MAX_REPORTED_GPUS) break;
  }
  return gpus;
}

/** The GPUs `nvidia-smi` lists with their memory; empty when there is none (or it does not answer in 3 s). */
export function nvidiaGpus(): Promise<GpuInfo[]> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=name,memory.total,memory.free', '--format=csv,noheader,nounits'],
      { timeout: NVIDIA_SMI_TIMEOUT_MS },
      (err, stdout) => resolve(err === null ? parseNvidiaSmiGpus(stdout) : []),
    );
  });
}

/** The GPU name `nvidia-smi` reports, or null when there is none (or it does not answer in 3 s). */
export async function nvidiaGpu(): Promise<string | null> {
  return (await nvidiaGpus())[0]?.name ?? null;
}
