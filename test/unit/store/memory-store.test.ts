import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { defineStoreSuite } from '../../support/store-suite.js';

defineStoreSuite('memory', async () => {
  const store = new MemorySubscriptionStore();
  return { store, cleanup: () => store.close() };
});
