import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseItemsJsonl } from './eval-items';
import { harbourItems, patientItems, toJsonl } from './sample-sets';

const samples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../samples/eval');

describe('sample evaluation sets', () => {
  it('are exactly what the seeded generators write (npx tsx scripts/make-eval-sets.ts)', () => {
    expect(readFileSync(path.join(samples, 'patients.jsonl'), 'utf8')).toBe(toJsonl(patientItems()));
    expect(readFileSync(path.join(samples, 'harbour.jsonl'), 'utf8')).toBe(toJsonl(harbourItems()));
  });

  it('validate, with five options per patient question and the right option named in the record', () => {
    const patients = parseItemsJsonl(toJsonl(patientItems()), 'patients.jsonl');
    expect(patients).toHaveLength(24);
    expect(new Set(patients.map((p) => p.context)).size).toBe(8);
    for (const p of patients) {
      expect(p.options).toHaveLength(5);
      const right = p.options![p.answer.charCodeAt(0) - 65];
      expect(p.context).toContain(right);
    }
    const harbour = parseItemsJsonl(toJsonl(harbourItems()), 'harbour.jsonl');
    expect(harbour).toHaveLength(16);
    for (const h of harbour) expect(h.context).toContain(h.answer);
    expect(patientItems(5)).not.toEqual(patientItems(6));
  });
});
