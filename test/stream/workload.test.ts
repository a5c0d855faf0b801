// The no-cluster resolver: owners from k8sattributes, else from the names Kubernetes controllers give.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NamePatternResolver, resolveByName } from '../../src/stream/workload.ts';

describe('workload: name patterns', () => {
  it('reads <deployment>-<pod-template-hash>-<suffix> only in Kubernetes safe alphabet', () => {
    assert.deepEqual(resolveByName('Pod', 'checkout-66b6c48dd5-4jw2p'), {
      kind: 'Deployment',
      name: 'checkout',
    });
    assert.deepEqual(resolveByName('Pod', 'checkout-canary-7d9f8c6b5-x2kqz'), {
      kind: 'Deployment',
      name: 'checkout-canary',
    });
    assert.deepEqual(resolveByName('ReplicaSet', 'checkout-66b6c48dd5'), {
      kind: 'Deployment',
      name: 'checkout',
    });
    // "agent" has vowels: not a hash, so this is a DaemonSet pod, not one of Deployment "otel".
    assert.deepEqual(resolveByName('Pod', 'otel-agent-47h76'), { kind: 'DaemonSet', name: 'otel-agent' });
    assert.deepEqual(resolveByName('ReplicaSet', 'my-replicas'), { kind: 'ReplicaSet', name: 'my-replicas' });
  });

  it('reads StatefulSet ordinals and leaves hand-named pods alone', () => {
    assert.deepEqual(resolveByName('Pod', 'kafka-2'), { kind: 'StatefulSet', name: 'kafka' });
    assert.deepEqual(resolveByName('Pod', 'debug-shell'), { kind: 'Pod', name: 'debug-shell' });
    assert.deepEqual(resolveByName('Pod', 'toolbox'), { kind: 'Pod', name: 'toolbox' });
    assert.equal(resolveByName('Pod', ''), undefined);
  });

  it('prefers k8sattributes owners over names', () => {
    const attrs = [{ key: 'k8s.daemonset.name', value: 'node-exporter' }];
    assert.deepEqual(
      new NamePatternResolver().resolve('monitoring', 'Pod', 'node-exporter-66b6c48dd5-4jw2p', attrs),
      { kind: 'DaemonSet', name: 'node-exporter' },
    );
  });
});
