// The no-cluster resolver: owners from k8sattributes, else from the names Kubernetes controllers give.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  K8S_NAME_ALPHABET,
  NamePatternResolver,
  podOwnerByName,
  resolveByName,
} from '../../src/stream/workload.ts';

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

describe('workload: pod owner by name, scanned by hand', () => {
  // The patterns it replaced, in their order: it must answer exactly as they did.
  const GEN = `[${K8S_NAME_ALPHABET}]`;
  const PATTERNS: [RegExp, string][] = [
    [new RegExp(`^(.+)-(${GEN}{5,10})-(${GEN}{5})$`), 'Deployment'],
    [/^(.+)-(\d+)$/, 'StatefulSet'],
    [new RegExp(`^(.+)-(${GEN}{5})$`), 'DaemonSet'],
  ];
  const byRegex = (name: string) => {
    for (const [re, kind] of PATTERNS) {
      const m = re.exec(name);
      if (m) return { kind, name: m[1]! };
    }
    return { kind: 'Pod', name };
  };

  it('answers as the regexes did for random names (dashes, safe alphabet, digits, vowels, line terminators)', () => {
    const pieces = [
      '-',
      '-',
      '-',
      'b',
      'x',
      'k',
      '2',
      '7',
      '0',
      '1',
      'a',
      'e',
      'Z',
      '\n',
      '\u2028',
      'é',
      'x2kqz',
      '7d9f8c6b5',
    ];
    let s = 0x2545f491;
    const next = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    };
    const kinds = new Set<string>();
    for (let i = 0; i < 60_000; i++) {
      let name = '';
      const len = Math.floor(next() * 14);
      for (let j = 0; j < len; j++) name += pieces[Math.floor(next() * pieces.length)];
      const want = byRegex(name);
      kinds.add(want.kind);
      assert.deepEqual(podOwnerByName(name), want, JSON.stringify(name));
    }
    for (const name of [
      'app-7d9f8c6b5-x2kqz',
      'a-bcdfg-bcdfg',
      'a-bcdf-bcdfg',
      'a-bcdfghjklmn-bcdfg',
      '-bcdfg-x2kqz',
      'db-0',
      'db-',
      '-0',
      'x\n-0',
      'agent-24567',
    ])
      assert.deepEqual(podOwnerByName(name), byRegex(name), name);
    assert.deepEqual([...kinds].sort(), ['DaemonSet', 'Deployment', 'Pod', 'StatefulSet']);
  });
});
