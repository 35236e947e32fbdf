/** Key/value settings: the only code that touches the `settings` store. */
import { getDb } from './db';
import { mapQuota } from './errors';

/**
 * Keys that hold secrets. They may be stored on this device (when the user opts in) but are
 * never exported.
 */
export function isSecretKey(key: string): boolean {
  return /api[-_.]?key|secret|password|authorization|bearer|credential/i.test(key);
}

export async function getSetting<T>(key: string): Promise<T | undefined> {
  const rec = await (await getDb()).get('settings', key);
  return rec?.value as T | undefined;
}

export async function setSetting(key: string, value: unknown): Promise<void> {
  const db = await getDb();
  await mapQuota('The setting', () => db.put('settings', { key, value }));
}

export async function deleteSetting(key: string): Promise<void> {
  await (await getDb()).delete('settings', key);
}

export async function listSettings(): Promise<{ key: string; value: unknown }[]> {
  return (await getDb()).getAll('settings');
}
