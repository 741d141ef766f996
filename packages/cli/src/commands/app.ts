/**
 * `subnet app models list|load|unload`: hot swap of the models a running node's app stack serves, over
 * the Engine API (`app_listModelsV1`, `app_loadModelV1`, `app_unloadModelV1`). Loading or unloading one
 * model leaves requests to the others untouched.
 */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { askNode, type GlobalOpts, output } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

const hint = 'is a node with the app stack running?';

export function registerApp(program: Command): void {
  const models = program
    .command('app')
    .description("Manage the running node's app stack")
    .command('models')
    .description('List, load and unload the models the app stack serves');

  models
    .command('list')
    .description('Models loaded now, with task types, context length and model type')
    .action(async (_o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { models: list } = await askNode(
        global,
        { label: 'asking the node…', failure: 'cannot list models', hint },
        (c) => c.call('app_listModelsV1', {}),
      );
      output(global, list, () =>
        list.length === 0
          ? 'no models loaded'
          : list
              .map(
                (m) =>
                  `${m.id.padEnd(24)} ${m.backend.padEnd(10)} ${m.modelType.padEnd(10)} context ${m.contextLength}  ${m.taskTypes.join(', ')}`,
              )
              .join('\n'),
      );
    });

  models
    .command('load')
    .description('Load a model under an id (replacing one with that id); others keep serving')
    .requiredOption('--id <id>', 'model id clients will ask for')
    .addOption(
      new Option('--backend <backend>', 'where it runs')
        .choices(['llama.cpp', 'ollama', 'openai', 'use'])
        .default('llama.cpp'),
    )
    .option('--path <file>', 'GGUF file (llama.cpp)')
    .option('--base-url <url>', 'server root (ollama, openai)')
    .option('--model <name>', 'model name on that server (ollama, openai)')
    .option('--context-length <n>', 'context length')
    .action(
      async (
        f: {
          id: string;
          backend: 'llama.cpp' | 'ollama' | 'openai' | 'use';
          path?: string;
          baseUrl?: string;
          model?: string;
          contextLength?: string;
        },
        cmd: Command,
      ) => {
        const global = cmd.optsWithGlobals<GlobalOpts>();
        if (f.backend === 'llama.cpp' && f.path === undefined)
          throw new CliError(ExitCode.USAGE, 'llama.cpp needs --path');
        if (f.backend === 'use' && (f.path ?? f.baseUrl ?? f.model) !== undefined)
          throw new CliError(
            ExitCode.USAGE,
            'use (the packaged sentence encoder) takes no --path, --base-url or --model',
          );
        if (
          (f.backend === 'ollama' || f.backend === 'openai') &&
          (f.baseUrl === undefined || f.model === undefined)
        ) {
          throw new CliError(ExitCode.USAGE, `${f.backend} needs --base-url and --model`);
        }
        const r = await askNode(
          global,
          { label: `loading ${f.id}…`, failure: `cannot load ${f.id}`, hint },
          (c) =>
            c.call(
              'app_loadModelV1',
              {
                id: f.id,
                backend: f.backend,
                ...(f.path === undefined ? {} : { path: resolve(f.path) }),
                ...(f.baseUrl === undefined ? {} : { baseUrl: f.baseUrl }),
                ...(f.model === undefined ? {} : { model: f.model }),
                ...(f.contextLength === undefined ? {} : { contextLength: Number(f.contextLength) }),
              },
              { timeoutMs: 120_000 },
            ),
        );
        output(global, r, () => `${r.replaced ? 'replaced' : 'loaded'} ${r.model.id}`);
      },
    );

  models
    .command('unload')
    .description('Unload a model; its running requests finish, requests to other models are untouched')
    .argument('<id>', 'model id')
    .action(async (id: string, _o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const r = await askNode(
        global,
        { label: `unloading ${id}…`, failure: `cannot unload ${id}`, hint },
        (c) => c.call('app_unloadModelV1', { id }),
      );
      output(global, r, () => (r.unloaded ? `unloaded ${id}` : `${id} was not loaded`));
    });
}
