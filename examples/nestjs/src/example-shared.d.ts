// Types of @vigil/example-shared, which is plain ESM with JSDoc (only what this example uses).
declare module '@vigil/example-shared' {
  type Env = Record<string, string | undefined>;

  export interface UserStore {
    register(email: unknown, password: unknown): 'created' | 'taken' | 'invalid';
    login(email: unknown, password: unknown): boolean;
    readonly size: number;
  }
  export interface ApiAnswer {
    status: number;
    body: { ok: boolean; error?: string };
  }

  export const PAGE_HTML: string;
  export function loginPage(error?: boolean): string;
  export function accountPage(user: { email?: unknown } | undefined): string | undefined;
  export function sessionSecretFromEnv(env?: Env): string;
  export function createUserStore(seed?: readonly { email: string; password: string }[]): UserStore;
  export function handleApi(users: UserStore, path: string, body: unknown): ApiAnswer;
  export function vigilOptionsFromEnv(env?: Env): Pick<import('@vigil/core').VigilConfig, 'mode' | 'redirectUrl' | 'ip'>;
  export const DEV_ONLY_SECRET: string;
  export function providerFromEnv(
    localProvider: typeof import('@vigil/core').localProvider,
    env?: Env,
  ): Promise<import('@vigil/core').Provider | undefined>;
}
