/** @module cli/bin — the process entry of `autointerp`: runs the command line and sets the process's exit code. */
import { runCli } from './main.ts';

process.exitCode = await runCli(process.argv.slice(2));
