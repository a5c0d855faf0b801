// Node ip-10-42-3-91 runs out of memory. A recommendations pod on it (request 1 GiB, limit 12 GiB:
// overcommitted) reloads its model and its working set climbs to ~11 GiB. When memory.available drops
// under the 100Mi hard threshold the kubelet reports NodeHasInsufficientMemory (Normal) and
// EvictionThresholdMet (Warning, on the Node), taints the node and evicts pods over their requests
// one housekeeping round at a time while memory is slow to come back: recommendations, then search,
// then cart (Warning Evicted "The node was low on resource: memory. …" on each pod). Under the strain
// the kubelet's PLEG stalls and the node goes NotReady for ~2.5 min (NodeNotReady on the Node; the
// node controller's Warning NodeNotReady "Node is not ready" on every pod still there), then recovers.
// Evicted pods stay in the API as Failed/Evicted; their ReplicaSets replace them on other nodes.
//
// Ground truth: ONE incident for the cause, on the Node (namespace "" — Node events carry no
// namespace). The pipeline will also open per-workload incidents from the pods' Evicted and
// NodeNotReady events; those are symptoms of the node incident and are listed as tolerated, not
// expected (an ideal triage links them to the node incident instead of paging four teams).
import type { NodeModel, PodModel } from '../cluster.ts';
import { GiB, MiB } from '../cluster.ts';
import { MIN, SEC } from '../engine.ts';
import { defineScenario } from './define.ts';
import { CLUSTER, type ToleratedIncident } from './types.ts';
import { dep, go, NODE_NAMES, shopWorld } from './world.ts';

const NODE = NODE_NAMES[2];
const LOAD_FROM = 5 * MIN;
const LOAD_MS = 4 * MIN;
const THRESHOLD = 100 * MiB;

const symptom = (namespace: string, kind: string, name: string): ToleratedIncident => ({
  cluster: CLUSTER,
  namespace,
  workload: { kind, name },
  why: `symptom of the node incident: ${kind} ${name} had pods evicted from or stranded on ${NODE}`,
});

export const nodePressure = defineScenario({
  name: 'node-pressure',
  description: `node ${NODE.split('.')[0]} hits MemoryPressure: pods of three workloads evicted, node NotReady`,
  durationMs: 20 * MIN,
  truth: {
    incidents: [
      {
        cluster: CLUSTER,
        namespace: '',
        workload: { kind: 'Node', name: NODE },
        role: 'primary',
        severity: ['SEV2', 'SEV3'],
        team: 'platform',
        cause: 'node_pressure',
        alsoAcceptable: [],
        proposal: null,
        why:
          'One node ran out of memory (an overcommitted recommendations pod), evicting pods of several ' +
          'workloads and going NotReady for a while; every Deployment recovered elsewhere. The actions are ' +
          'node-level (cordon/drain, fix the pod’s limits), not a Deployment scale.',
      },
    ],
    tolerated: [
      symptom('shop', 'Deployment', 'recommendations'),
      symptom('shop', 'Deployment', 'search'),
      symptom('shop', 'Deployment', 'cart'),
      symptom('shop', 'Deployment', 'catalog'),
      symptom('shop', 'Deployment', 'frontend'),
      symptom('shop', 'StatefulSet', 'cart-redis'),
      symptom('observability', 'DaemonSet', 'otel-agent'),
    ],
  },
  build(sim) {
    const w = shopWorld(sim, {
      apps: ['frontend', 'catalog', 'search', 'recommendations', 'cart'],
      container: {
        recommendations: { memRequest: 1 * GiB, memLimit: 12 * GiB, memFraction: 0.11 },
        search: { memFraction: 0.62 },
        cart: { memFraction: 0.58 },
      },
    });
    const c = sim.cluster;
    const node = c.node(NODE);
    // The hog and the next eviction candidates run on the node (as the scheduler happened to place them).
    const hog = dep(w, 'recommendations').livePods()[0]!;
    const searchPod = dep(w, 'search').livePods()[0]!;
    const cartPod = dep(w, 'cart').livePods()[0]!;
    for (const p of [hog, searchPod, cartPod]) c.schedule(p, node, p.scheduledAt);
    node.systemMemory = Math.round(1.4 * GiB);

    const onNode = () => c.pods().filter((p) => p.node === NODE && p.phase === 'Running');
    const available = () => {
      let used = node.systemMemory;
      for (const p of onNode())
        for (const ct of p.containers)
          if (ct.state.kind === 'running')
            used += ct.memWorkingSet ?? Math.round(ct.spec.memLimit * (ct.spec.memFraction ?? 0.42));
      return node.memory - used;
    };
    const kubelet = (reason: string, message: string, type: 'Normal' | 'Warning') =>
      sim.event({ object: sim.nodeRef(node), reason, message, type, component: 'kubelet', host: NODE });

    // The model reload: working set from ~1.3 GiB to ~11 GiB over four minutes.
    sim.every(LOAD_FROM, 10 * SEC, (now) => {
      const ct = hog.app;
      if (hog.phase !== 'Running') return;
      const f = Math.min(1, (now - sim.t(LOAD_FROM)) / LOAD_MS);
      ct.memWorkingSet = Math.round((1.3 + 9.8 * f) * GiB);
    });

    // Kubelet housekeeping every 10 s: signal, condition, taint, one eviction per round.
    const queue: PodModel[] = [hog, searchPod, cartPod];
    let pressure = false;
    let reclaiming = 0;
    sim.every(LOAD_FROM, 10 * SEC, (now) => {
      if (node.conditions.Ready !== true && !pressure) return;
      const avail = available() + reclaiming;
      if (!pressure && avail < THRESHOLD) {
        pressure = true;
        setCondition(node, 'MemoryPressure', true, now);
        node.taints.push({ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule', timeAdded: now });
        kubelet(
          'NodeHasInsufficientMemory',
          `Node ${NODE} status is now: NodeHasInsufficientMemory`,
          'Normal',
        );
      }
      if (!pressure) return;
      const victim = queue.shift();
      if (victim && victim.phase === 'Running') {
        kubelet('EvictionThresholdMet', 'Attempting to reclaim memory', 'Warning');
        const ct = victim.app;
        const using = ct.memWorkingSet ?? Math.round(ct.spec.memLimit * (ct.spec.memFraction ?? 0.42));
        const availKi = Math.max(1, Math.round(Math.max(avail, 40 * MiB) / 1024));
        sim.event({
          object: sim.podRef(victim),
          reason: 'Evicted',
          message:
            `The node was low on resource: memory. Threshold quantity: 100Mi, available: ${availKi}Ki. ` +
            `Container ${ct.spec.name} was using ${Math.round(using / 1024)}Ki, request is ${fmtMem(ct.spec.memRequest)}, has larger consumption of request. `,
          type: 'Warning',
          component: 'kubelet',
          host: NODE,
        });
        sim.event({
          object: sim.podRef(victim, ct.spec.name),
          reason: 'Killing',
          message: `Stopping container ${ct.spec.name}`,
          type: 'Normal',
          component: 'kubelet',
          host: NODE,
        });
        sim.loseUnexported(victim, now);
        c.evict(
          victim,
          `The node was low on resource: memory. Threshold quantity: 100Mi, available: ${availKi}Ki. `,
          now,
        );
        // Freed memory comes back slowly (page cache, cgroup teardown): the next round may evict again.
        reclaiming = -Math.round(using * 0.9);
        sim.after(25 * SEC, () => {
          reclaiming = 0;
        });
        const rs = victim.owner.kind === 'ReplicaSet' ? victim.workload.name : '';
        const d = w.deployments[rs];
        if (d) {
          const owner = d.replicaSets.find((r) => r.name === victim.owner.name);
          if (owner) {
            sim.after(sim.noise.int(1500, 4000), () => {
              for (const p of sim.scaleRs(owner, owner.replicas))
                sim.after(sim.noise.int(200, 900), () => sim.startPod(p));
            });
          }
        }
        return;
      }
      if (
        avail >= THRESHOLD &&
        !queue.length &&
        node.conditions.MemoryPressure &&
        node.conditions.Ready === true
      ) {
        // Recovered (after the NotReady spell below).
        pressure = false;
        setCondition(node, 'MemoryPressure', false, now);
        node.taints = node.taints.filter((t) => t.key !== 'node.kubernetes.io/memory-pressure');
        kubelet('NodeHasSufficientMemory', `Node ${NODE} status is now: NodeHasSufficientMemory`, 'Normal');
      }
    });

    // PLEG stalls after the evictions: the kubelet reports NotReady, the node controller marks pods.
    sim.at(LOAD_FROM + LOAD_MS + 95 * SEC, () => {
      setCondition(node, 'Ready', false, sim.now);
      node.taints.push({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule', timeAdded: sim.now });
      kubelet('NodeNotReady', `Node ${NODE} status is now: NodeNotReady`, 'Normal');
      sim.after(sim.noise.int(3, 8) * SEC, () => {
        for (const p of onNode()) {
          sim.event({
            object: sim.podRef(p),
            reason: 'NodeNotReady',
            message: 'Node is not ready',
            type: 'Warning',
            component: 'node-controller',
          });
          for (const ct of p.containers) c.setReady(p, ct, false, sim.now);
        }
      });
    });
    sim.at(LOAD_FROM + LOAD_MS + 95 * SEC + 150 * SEC, () => {
      setCondition(node, 'Ready', true, sim.now);
      node.taints = node.taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready');
      kubelet('NodeReady', `Node ${NODE} status is now: NodeReady`, 'Normal');
      for (const p of onNode())
        for (const ct of p.containers) if (ct.state.kind === 'running') c.setReady(p, ct, true, sim.now);
    });
    go(w);
  },
});

function setCondition(n: NodeModel, k: 'Ready' | 'MemoryPressure', v: boolean, at: number): void {
  n.conditions[k] = v;
  n.conditionSince[k] = at;
}

function fmtMem(bytes: number): string {
  return bytes % GiB === 0 ? `${bytes / GiB}Gi` : `${Math.round(bytes / MiB)}Mi`;
}
