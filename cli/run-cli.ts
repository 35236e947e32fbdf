/**
 * Tests only: run one of the command lines (cli/<script>) as a user would, in its own Node
 * process with tsx, from the repository root, and collect its exit code and output.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `script` is a file in cli/ (e.g. `mi.ts`); `env` is added to this process's environment. */
export function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join('cli', script), ...args],
      { cwd: repoRoot, maxBuffer: 1 << 27, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
