// The rotation's view of Stytch (StytchPort), kept apart from the client's own surface in index.ts.
export { StytchRotationAdapter, type StytchRotationAdapterProps } from './StytchRotationAdapter.js';
