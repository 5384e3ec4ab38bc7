import { tokenRevocationPublisherHandler } from '#wiring/tokenRevocationPublisher.js';

/** Lambda entry point of the TokenRevocationPublisher, run by its EventBridge rule. */
export const handler = tokenRevocationPublisherHandler();
