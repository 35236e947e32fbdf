/**
 * Validation of a run's optional `engineReport` (the engine's load report, see
 * `EngineLoadReport` in core/engine.ts) for imports. Pure. Returns a copy rebuilt from the known
 * fields, or the problems found, each with the path of the bad field.
 */
import type { EngineLoadReport } from '../core/engine';

const NOTE_MAX_CHARS = 2000;

export function checkEngineReport(v: unknown, path: string): { report: EngineLoadReport; problems: [] } | { report: null; problems: string[] } {
  const problems: string[] = [];
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { report: null, problems: [`${path} should be an object`] };
  const o = v as Record<string, unknown>;
  const bool = (k: string) => {
    if (typeof o[k] !== 'boolean') problems.push(`${path}.${k} ${o[k] === undefined ? 'is missing' : 'should be true or false'}`);
  };
  const note = (k: string) => {
    if (typeof o[k] !== 'string') problems.push(`${path}.${k} ${o[k] === undefined ? 'is missing' : 'should be a string'}`);
    else if ((o[k] as string).length > NOTE_MAX_CHARS) problems.push(`${path}.${k} is longer than ${NOTE_MAX_CHARS} characters`);
  };
  const nats = (k: string, nullable: boolean) => {
    const x = o[k];
    if (nullable && x === null) return;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) problems.push(`${path}.${k} should be a number of nats, 0 or more${nullable ? ', or null' : ''}`);
  };
  bool('promptReuse');
  note('promptReuseNote');
  bool('fastPath');
  note('fastPathNote');
  nats('fastPathMaxDiffNats', true);
  nats('fastPathToleranceNats', false);
  if (o.fastPathRmsDiffNats !== undefined) nats('fastPathRmsDiffNats', true);
  if (o.fastPathRmsToleranceNats !== undefined) nats('fastPathRmsToleranceNats', false);
  if (problems.length > 0) return { report: null, problems };
  return {
    report: {
      promptReuse: o.promptReuse as boolean,
      promptReuseNote: o.promptReuseNote as string,
      fastPath: o.fastPath as boolean,
      fastPathNote: o.fastPathNote as string,
      fastPathMaxDiffNats: o.fastPathMaxDiffNats as number | null,
      fastPathToleranceNats: o.fastPathToleranceNats as number,
      ...(o.fastPathRmsDiffNats !== undefined ? { fastPathRmsDiffNats: o.fastPathRmsDiffNats as number | null } : {}),
      ...(o.fastPathRmsToleranceNats !== undefined ? { fastPathRmsToleranceNats: o.fastPathRmsToleranceNats as number } : {}),
    },
    problems: [],
  };
}
