import { defineConfig } from '@playwright/test';
import base from './playwright.config';

/** `npm run screenshots`: the README's pictures of each view, taken from the built app. */
export default defineConfig({ ...base, testDir: './scripts', testMatch: 'screenshots.ts' });
