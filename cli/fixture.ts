/**
 * Tests, benchmarks and command lines: locate the stories260K fixture (PRECIS_MODELS_DIR or ../shared/models beside the
 * checkout) and load it. Tests skip, with a note on the console, when it is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReferenceEngine, type ReferenceEngineOptions } from '../workers/engines/reference/engine';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURE_DIR = path.join(
  process.env.PRECIS_MODELS_DIR ?? path.resolve(repoRoot, '../shared/models'),
  'stories260K',
);
export const fixturePresent =
  existsSync(path.join(FIXTURE_DIR, 'stories260K.bin')) && existsSync(path.join(FIXTURE_DIR, 'tok512.bin'));

/** cli/fixtures/stories.jsonl: short stories for tests and benchmarks, one `{"text": ...}` line each. */
export const STORIES_FILE = path.join(repoRoot, 'cli', 'fixtures', 'stories.jsonl');

/** The non-empty lines of STORIES_FILE (each a JSON object). */
export function storyLines(): string[] {
  return readFileSync(STORIES_FILE, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

/** The stories' texts. */
export function storyTexts(): string[] {
  return storyLines().map((l) => (JSON.parse(l) as { text: string }).text);
}

/** Print the skip note once per test file that needs the fixture. */
export function noteIfFixtureMissing(suite: string): void {
  if (!fixturePresent) {
    console.warn(`[${suite}] SKIPPED: stories260K fixture not found at ${FIXTURE_DIR} (set PRECIS_MODELS_DIR).`);
  }
}

export function fixtureBytes(file: 'stories260K.bin' | 'tok512.bin'): ArrayBuffer {
  const b = readFileSync(path.join(FIXTURE_DIR, file));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function loadFixture(options?: ReferenceEngineOptions): ReferenceEngine {
  return ReferenceEngine.fromBytes('stories260K', fixtureBytes('stories260K.bin'), fixtureBytes('tok512.bin'), options);
}

export const README_TEXT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n' +
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."\n' +
  'Lily was sad and didn\'t know what to do. She said, "I\'m sorry, Lily. I didn\'t know what to do."\n' +
  "Lily didn't want to help her mom, so she";

export const PROMPT_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
export const CONTINUATION_IDS = [338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426];
