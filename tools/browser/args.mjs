// Chromium's flags for headless runs here, shared by the tests and the solve-time script.
export const CHROMIUM_ARGS_LIST = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
