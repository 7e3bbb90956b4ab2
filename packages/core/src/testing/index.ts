/**
 * `@vigil/core/testing`: suites that check third-party implementations of Vigil's
 * interfaces. Not needed at run time.
 */
export { runStoreContract, type ContractRunner } from './store-contract.js';
export { startFakeCastle, startFakeCheq, startFakeVendor, type FakeVendor, type FakeCastle, type FakeCheq, type RecordedRequest, type FakeAnswer, type FakeSwitches } from './fake-vendors.js';
export { deviceTrail, RecordingStore, recordingProvider, type RecordedOp } from './recording.js';
export { requestTargetArbitrary, ROUTED_BASE_PATHS, openRawHttpClient, runRoutingDifferential, sampleRouting, sendOnce, usefulnessProblems, type FastCheckApi, type RequestTarget, type RequestTargetOptions, type RawHttpClient, type RawResponse, type DifferentialApp, type DifferentialOptions, type DifferentialStats, type DifferentialReport } from './request-targets.js';
export { bruteForce, outcomesLogged, postLogin, reachedApp, stuffing, typoThenLogin, type Attempt, type LoginForm, type RunResult } from './login-attacks.js';
export { challengeFlow, solveChallenge, type ChallengeToSolve, type FlowReport, type FlowRequest, type FlowResponse } from './challenge-flow.js';
