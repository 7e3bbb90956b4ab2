/**
 * `@vigil/core/testing`: suites that check third-party implementations of Vigil's
 * interfaces. Not needed at run time.
 */

export { type ChallengeToSolve, challengeFlow, challengeFlowProblems, type FlowReport, type FlowRequest, type FlowResponse, type SupertestLike, type SupertestRequest, solveChallenge, supertestSend } from './challenge-flow.js';
export { type FakeAnswer, type FakeCastle, type FakeCheq, type FakeSwitches, type FakeVendor, type RecordedRequest, startFakeCastle, startFakeCheq, startFakeVendor } from './fake-vendors.js';
export { type Attempt, bruteForce, type LoginForm, outcomesLogged, postLogin, type RunResult, reachedApp, stuffing, typoThenLogin } from './login-attacks.js';
export { deviceTrail, type RecordedOp, RecordingStore, recordingProvider } from './recording.js';
export { type DifferentialApp, type DifferentialOptions, type DifferentialReport, type DifferentialStats, type FastCheckApi, openRawHttpClient, type RawHttpClient, type RawResponse, type RequestTarget, type RequestTargetOptions, ROUTED_BASE_PATHS, requestTargetArbitrary, runRoutingDifferential, sampleRouting, sendOnce, usefulnessProblems } from './request-targets.js';
export { type ContractRunner, runStoreContract } from './store-contract.js';
