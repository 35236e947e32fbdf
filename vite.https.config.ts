/**
 * `npm run preview:https`: the built app over HTTPS with a self-signed certificate, listening on
 * every address of this machine so other devices on the LAN can open it (a booth). Only this
 * script uses @vitejs/plugin-basic-ssl; dev, build and the tests stay on the plain config.
 *
 * Why: WebGPU and service workers exist only in secure contexts. http://localhost and
 * http://127.0.0.1 count as secure, but http://<LAN address> does not, so a visitor on the LAN
 * needs HTTPS. The certificate is made on first use and kept under node_modules/.vite/basic-ssl;
 * browsers do not trust it and warn once (README, "HTTPS for a booth on a LAN").
 */
import basicSsl from '@vitejs/plugin-basic-ssl';
import { defineConfig, mergeConfig } from 'vite';
import base from './vite.config.ts';

export default mergeConfig(
  base,
  defineConfig({
    plugins: [basicSsl({ name: 'precis-preview' })],
    preview: { host: true, port: 4443, strictPort: true },
  }),
);
