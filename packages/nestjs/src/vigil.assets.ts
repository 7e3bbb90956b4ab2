import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Vigil } from '@vigil/core';
import { VIGIL_INSTANCE } from './vigil.constants.js';

/**
 * Serves the built-in challenge page's scripts and styles under `challenge.assetsPath`
 * (`/_vigil/challenge` by default), on Express and Fastify alike: one route on the HTTP
 * adapter itself, added once Nest's own routes are (before its not-found handler), so
 * that no guard, pipe or global prefix stands between a challenged browser and them.
 */
@Injectable()
export class VigilChallengeAssets implements OnModuleInit {
  constructor(
    @Inject(VIGIL_INSTANCE) private readonly vigil: Vigil,
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const path = this.vigil.challengeAssetsPath;
    const adapter = this.host?.httpAdapter;
    if (path === undefined || adapter === undefined) return;
    adapter.get(`${path}/:name`, (request: { params?: { name?: string } }, response: object) => {
      const asset = this.vigil.challengeAsset('GET', `${path}/${request.params?.name ?? ''}`);
      if (asset === undefined) {
        adapter.setHeader(response, 'content-type', 'text/plain; charset=utf-8');
        adapter.reply(response, 'Not Found', 404);
        return;
      }
      for (const [name, value] of Object.entries(asset.headers)) adapter.setHeader(response, name, value);
      adapter.reply(response, asset.body, asset.status);
    });
  }
}
