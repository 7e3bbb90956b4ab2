/**
 * `@vigil/core/testing`: suites that check third-party implementations of Vigil's
 * interfaces. Not needed at run time.
 */
export { runStoreContract, type ContractRunner } from './store-contract.js';
export { startFakeCastle, startFakeCheq, type FakeVendor } from './fake-vendors.js';
