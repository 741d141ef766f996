/**
 * llama.cpp's own tools, built offline: `ggml-rpc-server` (a member of a pipeline group lends its memory and
 * compute to a lead over llama.cpp's RPC protocol) and `llama-server` built with the RPC backend (the lead,
 * which places a model's layers on those members). The source is the llama.cpp release that node-llama-cpp
 * ships inside its npm tarball (`llama/gitRelease.bundle`, a git bundle), so nothing is downloaded; Debian's
 * cmake and g++ build it. The result is cached outside the clone, keyed by the source's version and the build
 * options, so only the first run on a machine pays for the build (minutes on 2 cores: README). Two processes
 * asking at once build it once: the second waits on a lock directory. A half-built tree is never used: the
 * binaries move into place with one rename after the build succeeds.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { errorMessage, type Logger, sleep } from '@subnet/utils';
import { AppError, AppErrorCode } from './module.js';

const run = promisify(execFile);

/** The tools this module builds, by cmake target. */
export const LLAMA_TOOL_TARGETS = ['ggml-rpc-server', 'llama-server'] as const;

/** Config of {@link ensureLlamaTools}. */
export interface LlamaToolsOpts {
  /**
   * Cache root (default: `$XDG_CACHE_HOME/subnet`, else `~/.cache/subnet`; the node's `app.toolsCacheDir`).
   * No `SUBNET_*` variable: those name config keys, and an unknown one stops the node (a typo guard).
   */
  cacheDir?: string;
  /** Parallel compile jobs (default: the number of CPUs). */
  jobs?: number;
  /** Build for this CPU's instruction set (default true; the CPU's model is then part of the cache key). */
  native?: boolean;
  /** How long to wait for another process's build of the same key (default 30 minutes). */
  waitMs?: number;
}

/** Collaborators of {@link ensureLlamaTools}. */
export interface LlamaToolsModules {
  logger: Logger;
}

/** Where the built tools are. */
export interface LlamaTools {
  /** The `ggml-rpc-server` binary. */
  rpcServer: string;
  /** The `llama-server` binary (RPC backend enabled). */
  server: string;
  /** The cache directory of this build. */
  dir: string;
  /** The llama.cpp release the source is (node-llama-cpp's `llama.cpp.info.json` tag). */
  release: string;
  /** Whether this call built them (false: found in the cache). */
  built: boolean;
  /** Seconds the build took (0 when found). */
  buildSeconds: number;
}

/** The default cache root. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'subnet');
  return join(homedir(), '.cache', 'subnet');
}

interface Source {
  bundle: string;
  release: string;
  nodeLlamaCpp: string;
}

/** node-llama-cpp's package directory, found from its resolved entry point. */
function nodeLlamaCppDir(): string {
  let dir = dirname(fileURLToPath(import.meta.resolve('node-llama-cpp')));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'llama'))) {
    const up = dirname(dir);
    if (up === dir) throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'node-llama-cpp is not installed');
    dir = up;
  }
  return dir;
}

function locateSource(): Source {
  const dir = nodeLlamaCppDir();
  const bundle = join(dir, 'llama', 'gitRelease.bundle');
  if (!existsSync(bundle)) {
    throw new AppError(
      AppErrorCode.BACKEND_UNAVAILABLE,
      `node-llama-cpp ships no llama.cpp source bundle at ${bundle}: reinstall it (npm ci)`,
    );
  }
  const info = JSON.parse(readFileSync(join(dir, 'llama', 'llama.cpp.info.json'), 'utf8')) as {
    tag?: string;
  };
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string };
  return { bundle, release: info.tag ?? 'unknown', nodeLlamaCpp: pkg.version ?? 'unknown' };
}

/** The cmake options of the build (also part of the cache key). */
function cmakeOptions(native: boolean): string[] {
  return [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DBUILD_SHARED_LIBS=OFF',
    '-DGGML_RPC=ON',
    `-DGGML_NATIVE=${native ? 'ON' : 'OFF'}`,
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_OPENSSL=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
  ];
}

/** The cache key: the source (version, bundle size) and every option that changes the binaries. */
export function llamaToolsKey(src: Source, options: string[], cpuModel: string | null): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      release: src.release,
      nodeLlamaCpp: src.nodeLlamaCpp,
      bundleBytes: statSync(src.bundle).size,
      options,
      targets: LLAMA_TOOL_TARGETS,
      cpuModel,
    }),
  );
  return `${src.release}-${h.digest('hex').slice(0, 16)}`;
}

function binaries(dir: string): { rpcServer: string; server: string } {
  return { rpcServer: join(dir, 'bin', 'ggml-rpc-server'), server: join(dir, 'bin', 'llama-server') };
}

function complete(dir: string): boolean {
  const b = binaries(dir);
  return existsSync(join(dir, 'ok')) && existsSync(b.rpcServer) && existsSync(b.server);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the build lock (a directory holding the owner's pid); false when a live process holds it. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // Just created, pid not written yet: treat as held.
      return false;
    }
    if (Number.isInteger(owner) && pidAlive(owner)) return false;
    rmSync(lock, { recursive: true, force: true });
    return tryLock(lock);
  }
}

/** Runs one build step, its output appended to the build log; the signal kills it. */
function step(cmd: string, args: string[], cwd: string, log: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(log, { flags: 'a' });
    out.write(`$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], signal });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', (err) => {
      out.end();
      reject(err);
    });
    child.on('close', (code, sig) => {
      out.end();
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args[0] ?? ''} exited ${code ?? sig}`));
    });
  });
}

function logTail(log: string, lines = 20): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * The built tools, from the cache or built now (cloning node-llama-cpp's bundled source, cmake, the two
 * targets). Fails with BACKEND_UNAVAILABLE naming what is missing (cmake, a compiler) or the build log's tail.
 */
export async function ensureLlamaTools(
  opts: LlamaToolsOpts,
  modules: LlamaToolsModules,
  signal: AbortSignal,
): Promise<LlamaTools> {
  const src = locateSource();
  const native = opts.native ?? true;
  const options = cmakeOptions(native);
  const key = llamaToolsKey(src, options, native ? (cpus()[0]?.model ?? null) : null);
  const root = join(opts.cacheDir ?? defaultCacheDir(), 'llama-tools');
  const dir = join(root, key);
  const found = (built: boolean, buildSeconds: number): LlamaTools => ({
    ...binaries(dir),
    dir,
    release: src.release,
    built,
    buildSeconds,
  });
  if (complete(dir)) return found(false, 0);
  mkdirSync(root, { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + (opts.waitMs ?? 30 * 60_000);
  let waited = false;
  while (!tryLock(lock)) {
    if (!waited) modules.logger.info({ dir }, 'waiting for another process building the llama.cpp tools');
    waited = true;
    if (Date.now() > deadline) {
      throw new AppError(
        AppErrorCode.BACKEND_UNAVAILABLE,
        `timed out waiting for the llama.cpp build at ${lock}`,
      );
    }
    await sleep(1000, { signal });
  }
  try {
    if (complete(dir)) return found(false, 0);
    for (const tool of ['cmake', 'g++', 'git']) {
      try {
        await run(tool, ['--version'], { signal });
      } catch {
        throw new AppError(
          AppErrorCode.BACKEND_UNAVAILABLE,
          `building llama.cpp's RPC tools needs ${tool} (Debian: apt-get install cmake g++ git)`,
        );
      }
    }
    const started = Date.now();
    const work = `${dir}.build-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const log = join(work, 'build.log');
    modules.logger.info(
      { release: src.release, dir },
      "building llama.cpp's ggml-rpc-server and llama-server from node-llama-cpp's source (first run only)",
    );
    try {
      await step(
        'git',
        ['-c', 'advice.detachedHead=false', 'clone', '-q', src.bundle, 'src'],
        work,
        log,
        signal,
      );
      // Ninja when present (it schedules the two targets' objects better than make); the binaries are the same.
      const ninja = await run('ninja', ['--version'], { signal }).then(
        () => ['-G', 'Ninja'],
        () => [],
      );
      await step('cmake', ['-S', 'src', '-B', 'build', ...ninja, ...options], work, log, signal);
      const jobs = String(opts.jobs ?? Math.max(1, cpus().length));
      await step(
        'cmake',
        ['--build', 'build', '--config', 'Release', '-j', jobs, '--target', ...LLAMA_TOOL_TARGETS],
        work,
        log,
        signal,
      );
    } catch (err) {
      if (signal.aborted) {
        rmSync(work, { recursive: true, force: true });
        throw new AppError(AppErrorCode.CANCELLED, 'llama.cpp build cancelled');
      }
      throw new AppError(
        AppErrorCode.BACKEND_UNAVAILABLE,
        `building llama.cpp's RPC tools failed (${errorMessage(err)}); log ${log}:\n${logTail(log)}`,
      );
    }
    const staged = `${dir}.staged-${process.pid}`;
    rmSync(staged, { recursive: true, force: true });
    mkdirSync(join(staged, 'bin'), { recursive: true });
    for (const t of LLAMA_TOOL_TARGETS) renameSync(join(work, 'build', 'bin', t), join(staged, 'bin', t));
    renameSync(log, join(staged, 'build.log'));
    const seconds = Math.round((Date.now() - started) / 1000);
    writeFileSync(join(staged, 'ok'), JSON.stringify({ ...src, options, seconds }));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staged, dir);
    rmSync(work, { recursive: true, force: true });
    modules.logger.info({ dir, seconds }, "built llama.cpp's RPC tools");
    return found(true, seconds);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
