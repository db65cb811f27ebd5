/**
 * @module cli/serve — `autointerp serve`: the read-only local viewer over a results database (src/serve): runs,
 * leaderboards, search, feature pages, compare and steering in the browser, on 127.0.0.1 until SIGINT or SIGTERM.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { resolveDatabasePath } from '../store/database.ts';
import { collect } from './compare.ts';
import { defaultModelDir } from './extract.ts';
import { databaseOption } from './shared-options.ts';
import { untilStopSignal } from './until-stop-signal.ts';

interface ServeFlags {
  db?: string;
  port: number;
  host: string;
  model: string[];
  models: boolean;
}

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535)
    throw new InvalidArgumentError('--port must be an integer from 0 to 65535');
  return number;
}

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

export function registerServeCommand(program: Command): Command {
  return program
    .command('serve')
    .description(
      'browse the database in a web browser: runs, per-layer leaderboards, search, feature pages with heat maps, compare, steer (read-only; binds 127.0.0.1)',
    )
    .addOption(databaseOption())
    .option('--port <n>', 'TCP port (0 picks a free one)', port, 8321)
    .option(
      '--host <address>',
      'address to listen on (anything but loopback exposes the results to the network)',
      '127.0.0.1',
    )
    .addOption(
      new Option('--model <dir>', 'subject model folder whose features get output tokens and steering (repeatable)')
        .argParser(collect)
        .default([], 'the embedded brown-1l'),
    )
    .option('--no-models', 'no output tokens or steering (never loads a model)')
    .action(async (flags: ServeFlags) => {
      const { startViewer } = await import('../serve/viewer-server.ts');
      const databasePath = resolveDatabasePath(flags.db);
      const viewer = await startViewer({
        databasePath,
        host: flags.host,
        port: flags.port,
        modelDirectories: flags.models ? (flags.model.length ? flags.model : [defaultModelDir]) : [],
      });
      if (!loopbackHosts.has(flags.host))
        process.stderr.write(`warning: listening on ${flags.host}: anyone who can reach it can read the results\n`);
      process.stdout.write(`autointerp viewer (read-only) on ${viewer.url}/ for ${databasePath}; Ctrl+C stops\n`);
      await untilStopSignal();
      await viewer.close();
      process.stdout.write('viewer stopped\n');
    });
}
