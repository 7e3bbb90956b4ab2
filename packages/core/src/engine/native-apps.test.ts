import { describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
import { CLIENT_KINDS, checkClients, NATIVE_APP_USER_AGENTS } from './native-apps.js';
import { nativeAppStackOf } from './user-agent.js';

describe('NATIVE_APP_USER_AGENTS', () => {
  it('every entry recognises its own example, and names a stack', () => {
    for (const stack of NATIVE_APP_USER_AGENTS) {
      expect(nativeAppStackOf(stack.example), stack.example).toBe(stack.name);
      expect(stack.platforms.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['okhttp/4.12.0', 'okhttp'],
    ['okhttp/3.14.9', 'okhttp'],
    ['MyApp/2.3 (com.example.app; build:41; iOS 17.4.0) Alamofire/5.8.0', 'Alamofire'],
    ['MyApp/41 CFNetwork/1494.0.7 Darwin/23.4.0', 'CFNetwork'],
    ['Expo/2.29.8 CFNetwork/1410.0.3 Darwin/22.6.0', 'CFNetwork'],
    ['Dart/3.3 (dart:io)', 'Dart'],
    ['Dart/2.19 (dart:io)', 'Dart'],
    ['Ktor client', 'Ktor'],
    ['Ktor http-client', 'Ktor'],
    ['Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)', 'Dalvik'],
  ])('%s → %s', (ua, name) => {
    expect(nativeAppStackOf(ua)).toBe(name);
  });

  it.each([
    // Scripts and tools stay what they are, even when they mention a native stack.
    'curl/8.4.0',
    'python-requests/2.31.0',
    'Go-http-client/1.1',
    'axios/1.6.2',
    'node-fetch',
    'okhttp/4.12.0 curl/8.4.0',
    'python-requests/2.31 okhttp/4.12.0',
    'Dart/3.3 (dart:io) Go-http-client/1.1',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36 CFNetwork/1494',
    // Browsers and look-alikes are not native stacks.
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36',
    'myokhttp/1.0',
    'Dartmouth/1.0',
    '',
  ])('%s → not a native-app stack', (ua) => {
    expect(nativeAppStackOf(ua)).toBeUndefined();
  });
});

describe('checkClients', () => {
  it.each(CLIENT_KINDS)('accepts %s', (kind) => {
    expect(checkClients(kind, 'clients')).toBe(kind);
  });

  it('reports a route option with the route code', () => {
    expect(() => checkClients('apps', 'routes[2].clients', 'VIGIL_E_ROUTE')).toThrow(expect.objectContaining({ code: 'VIGIL_E_ROUTE', option: 'routes[2].clients' }));
  });

  it('accepts undefined (the default applies)', () => {
    expect(checkClients(undefined, 'clients')).toBeUndefined();
  });

  it.each([['apps'], ['mobile'], [true], [null], [['app']]])('refuses %j with the option, the value and the fix', (value) => {
    let error: unknown;
    try {
      checkClients(value, 'clients');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(VigilConfigError);
    expect(error).toMatchObject({ code: 'VIGIL_E_OPTION_VALUE', option: 'clients' });
    expect((error as Error).message).toMatch(/"browser".*"app".*"any"/);
  });
});
