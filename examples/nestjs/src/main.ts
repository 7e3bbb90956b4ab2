import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VigilService } from '@vigil/nestjs';
import { createApp } from './app.js';

async function main(): Promise<void> {
  const app = await createApp(process.env);
  app.enableShutdownHooks();
  const server: Server = app.getHttpServer();
  // Longer than the keep-alive of clients and load balancers (the simulator's agent).
  server.keepAliveTimeout = 65_000;
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  const { port } = server.address() as AddressInfo;
  // One line on stdout, parsed by the simulator when it spawns this server.
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${port}`, mode: app.get(VigilService).vigil.mode }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
