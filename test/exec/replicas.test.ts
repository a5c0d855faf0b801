// Approvals on any replica (exec.replicated), with REAL separate `kubetriage run` processes on a real
// Kafka broker and a real kube-apiserver; Slack is the FAKE of test/exec/slack-fake.ts. Proposals are
// put on the commands topic as any replica's triage would forward them (a `propose` command); the
// replica that owns the proposal's partition posts it to Slack and decides every click, wherever the
// click arrived. Exactly once is checked on the cluster itself: the Deployment's metadata.generation
// grows by one per spec change, so a second scale write (or a scale back) would show.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { type AuditEntry, GENESIS, sealEntry } from '../../src/exec/audit.ts';
import { COMMAND_SCHEMA, encodeCommand } from '../../src/exec/commands.ts';
import { partitionOf } from '../../src/exec/partitioner.ts';
import {
  decodeProposalRecord,
  encodeProposalRecord,
  verifyProposalRecords,
} from '../../src/exec/proposal-record.ts';
import { ACTION_APPROVE, ACTION_ROLLBACK } from '../../src/exec/slack-message.ts';
import { watchEnd } from '../harness/child.ts';
import { type KubeApiServer, requireKubeBinaries, startKubeApiServer } from '../harness/kube-apiserver.ts';
import { freePort } from '../harness/ports.ts';
import { brokers, consumeAll, createTopics, produce, testTopics, unique, waitFor } from '../helpers/kafka.ts';
import { reportWith } from './helpers.ts';
import {
  applyRbac,
  bindApprover,
  createDeployment,
  replicasOf,
  scalerToken,
  serviceAccountToken,
  tolerateTextReadyz,
  uniqueNs,
} from './kube-world.ts';
import { interaction, type SlackFake, startSlackFake } from './slack-fake.ts';

// Never skips: throws (failing this file with the build command) when the part is missing.
requireKubeBinaries();

const BIN = new URL('../../bin/kubetriage.js', import.meta.url).pathname;
const SECRET = 'replicas-signing-secret-5d2b';
const APPROVER = { id: 'U0APPROVER', username: 'alice' };
const BOB = { id: 'U0BOB', username: 'bob' };
const PARTITIONS = 2;

interface Replica {
  child: ChildProcess;
  base: string;
  /** As the replica names itself in commands and entries (hostname-pid). */
  pid: number;
  stderr: string[];
  ended: ReturnType<typeof watchEnd>;
  metrics(): Promise<string>;
  owned(): Promise<number[]>;
  stop(): Promise<void>;
}

describe('approvals on any replica (real kubetriage run processes, real broker, real kube-apiserver)', () => {
  let kube: KubeApiServer;
  let slack: SlackFake;
  let dir: string;
  let kubeconfig: string;
  const scaler = scalerToken();
  const running: Replica[] = [];

  before(async () => {
    tolerateTextReadyz();
    kube = await startKubeApiServer({ tokens: [scaler] });
    await applyRbac(kube.client);
    slack = await startSlackFake();
    dir = mkdtempSync(join(tmpdir(), 'kt-replicas-'));
    // The scale-only identity, as a kubeconfig file (exec.kube.kubeconfig).
    const kc = structuredClone(kube.kubeconfig) as { users: { user: { token: string } }[] };
    kc.users[0]!.user.token = scaler.token;
    kubeconfig = join(dir, 'scaler.kubeconfig');
    writeFileSync(kubeconfig, stringify(kc), { mode: 0o600 });
  });
  after(async () => {
    for (const r of running) await r.stop().catch(() => {});
    await slack?.close();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One world: input topics for `run`, a fresh commands/proposals pair, one config file. */
  async function world() {
    const t = await testTopics(1);
    const commands = unique('approval-commands');
    const proposals = unique('proposals');
    const cfg = join(dir, `${unique('cfg')}.yaml`);
    writeFileSync(
      cfg,
      stringify({
        kafka: {
          groupId: t.group,
          topics: {
            logs: [t.logs],
            metrics: [t.metrics],
            traces: [t.traces],
            contexts: t.contexts,
            dlq: t.dlq,
          },
        },
        exec: {
          mode: 'execute',
          approvers: [APPROVER.id, BOB.id],
          policy: { cooldown: '0s' },
          kube: { kubeconfig },
          audit: { file: join(dir, `${unique('audit')}.jsonl`) },
          replicated: {
            commandsTopic: commands,
            proposalsTopic: proposals,
            partitions: PARTITIONS,
            replicationFactor: 1,
            // Failover within seconds in a test (the broker's group.min.session.timeout.ms is 6 s).
            sessionTimeout: '6s',
          },
        },
      }),
    );

    async function startReplica(env: Record<string, string> = {}): Promise<Replica> {
      const port = await freePort();
      const stderr: string[] = [];
      const child = spawn(process.execPath, [BIN, 'run', '--config', cfg, '--port', String(port)], {
        env: {
          ...process.env,
          KAFKA_BROKERS: brokers(),
          SLACK_WEBHOOK_URL: slack.webhookUrl,
          SLACK_SIGNING_SECRET: SECRET,
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      const ended = watchEnd(child);
      const base = `http://127.0.0.1:${port}`;
      const metrics = () => fetch(`${base}/metrics`).then((r) => r.text());
      const r: Replica = {
        child,
        base,
        pid: child.pid!,
        stderr,
        ended,
        metrics,
        async owned() {
          const text = await metrics();
          return [...text.matchAll(/kubetriage_exec_owned_partitions\{partition="(\d+)"\} 1\b/g)].map((m) =>
            Number(m[1]),
          );
        },
        async stop() {
          if (ended.reason() === undefined) child.kill('SIGTERM');
          await Promise.race([ended.done, new Promise((res) => setTimeout(res, 20_000))]);
          if (ended.reason() === undefined) child.kill('SIGKILL');
          await ended.done;
        },
      };
      running.push(r);
      // Ready, or ended: waitFor would take a throwing condition for "not yet" and wait it out.
      await waitFor(
        async () =>
          ended.reason() !== undefined ||
          (await fetch(`${base}/healthz`).then(
            (res) => res.status === 200,
            () => false,
          )),
        90_000,
        'the replica to answer /healthz',
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${stderr.join('').slice(-3000)}`);
      });
      if (ended.reason() !== undefined)
        throw new Error(`run ended (${ended.reason()}): ${stderr.join('').slice(-3000)}`);
      return r;
    }

    /** What any replica's triage forwards: the proposal, on its partition of the commands topic. */
    async function propose(ns: string, name: string, from: number, to: number) {
      const report = reportWith({ incident: `inc-${ns}`, namespace: ns, name, from, to });
      const id = report.proposal.id;
      const posted = slack.messages.length;
      await produce(commands, [
        {
          key: id,
          partition: partitionOf(id, PARTITIONS),
          value: encodeCommand({
            schema: COMMAND_SCHEMA,
            id: unique('cmd'),
            receivedBy: 'test-triage',
            at: new Date().toISOString(),
            type: 'propose',
            proposalId: id,
            report,
          }),
        },
      ]);
      await waitFor(
        () => slack.messages.slice(posted).some((m) => JSON.stringify(m).includes(id)),
        60_000,
        `proposal ${id} posted to Slack by its owner`,
      );
      return id;
    }

    async function click(
      r: Replica,
      id: string,
      o: { user?: typeof APPROVER; signWith?: string; actionTs?: string } = {},
    ) {
      const u = o.user ?? APPROVER;
      const req = interaction({
        secret: SECRET,
        userId: u.id,
        username: u.username,
        actionId: ACTION_APPROVE,
        value: id,
        responseUrl: slack.responseUrl,
        ...(o.signWith ? { signWith: o.signWith } : {}),
        ...(o.actionTs ? { actionTs: o.actionTs } : {}),
      });
      const t0 = performance.now();
      const res = await fetch(`${r.base}/slack/interactions`, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
      });
      await res.text();
      return { status: res.status, ms: performance.now() - t0 };
    }

    /** Everything on the proposals topic so far, and each proposal's latest chain. */
    async function ledger(expect: (chains: Map<string, AuditEntry[]>) => boolean) {
      let records: Awaited<ReturnType<typeof consumeAll>> = [];
      const chains = new Map<string, AuditEntry[]>();
      await waitFor(
        async () => {
          // All the topic holds: a 1.5 s read could be partial and break a chain that is whole.
          records = await consumeAll(proposals);
          chains.clear();
          for (const rec of records) {
            const d = decodeProposalRecord(rec.key, rec.value);
            if (d.ok) chains.set(d.record.proposal, d.record.entries);
          }
          return expect(chains);
        },
        60_000,
        'the proposals topic',
      );
      const verified = verifyProposalRecords(
        records.map((r) => ({ partition: r.partition, offset: r.offset, key: r.key, value: r.value })),
      );
      return { chains, verified, records };
    }

    // All the topic holds: a partial 1.5 s read as the count before a step made the step look like it produced.
    const commandRecords = () => consumeAll(commands);
    /** `kubetriage audit verify --kafka` on this world's proposals topic. */
    const verifyCli = () =>
      spawnSync(process.execPath, [BIN, 'audit', 'verify', '--kafka', '--config', cfg], {
        env: { ...process.env, KAFKA_BROKERS: brokers() },
        encoding: 'utf8',
        timeout: 60_000,
      });
    return { startReplica, propose, click, ledger, commandRecords, verifyCli, commands, proposals };
  }

  const generation = async (ns: string, name: string) =>
    (
      await kube.client.get<{ metadata: { generation: number } }>(
        `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
      )
    ).metadata.generation;
  const events = (chain: AuditEntry[] | undefined) => (chain ?? []).map((e) => e.event);
  const replicaName = (chain: AuditEntry[], event: string) =>
    chain.find((e) => e.event === event)?.detail.replica as string | undefined;

  test('a click at the replica that does not own the proposal executes once; racing clicks on two replicas execute once; a forged click at a non-owner is refused there and never forwarded; an API approval at a non-owner is authorised by the owner; a clean hand-over keeps the state', {
    timeout: 300_000,
  }, async (t) => {
    const w = await world();
    const a = await w.startReplica();
    const b = await w.startReplica();
    // Two members, two partitions: one each.
    await waitFor(
      async () => {
        const [oa, ob] = [await a.owned(), await b.owned()];
        return oa.length === 1 && ob.length === 1 && oa[0] !== ob[0];
      },
      90_000,
      'one partition owned by each replica',
    );
    const ownerOf = async (id: string) => ((await a.owned()).includes(partitionOf(id, PARTITIONS)) ? a : b);

    // 1. A click that reaches the replica that does not own the proposal.
    const ns = uniqueNs('rep');
    await createDeployment(kube.client, ns, 'checkout', 6);
    const gen0 = await generation(ns, 'checkout');
    const id = await w.propose(ns, 'checkout', 6, 2);
    const owner = await ownerOf(id);
    const other = owner === a ? b : a;
    const c = await w.click(other, id);
    assert.equal(c.status, 200, 'acknowledged by the non-owner once its command is on the topic');
    assert.ok(c.ms < 3000, `answered in ${c.ms.toFixed(0)} ms: within Slack's 3 s`);
    t.diagnostic(
      `click at the non-owner answered in ${c.ms.toFixed(0)} ms (its command acknowledged by the broker)`,
    );
    await waitFor(async () => (await replicasOf(kube.client, ns, 'checkout')) === 2, 60_000, 'the scale');
    const one = await w.ledger((ch) => events(ch.get(id)).includes('verified'));
    const chain = one.chains.get(id)!;
    assert.deepEqual(events(chain), ['proposed', 'posted', 'approved', 'executing', 'executed', 'verified']);
    const approved = chain.find((e) => e.event === 'approved')!;
    assert.equal(approved.detail.receivedBy, `${hostname()}-${other.pid}`, 'received by the non-owner');
    assert.equal(replicaName(chain, 'executed'), `${hostname()}-${owner.pid}`, 'decided by the owner');
    assert.equal(await generation(ns, 'checkout'), gen0 + 1, 'one spec change: exactly one scale write');
    assert.match(
      await other.metrics(),
      /kubetriage_exec_commands_forwarded_total\{type="approve",result="acked"\} 1\b/,
    );
    assert.match(
      await owner.metrics(),
      /kubetriage_exec_commands_decided_total\{type="approve",result="done"\} 1\b/,
    );
    await waitFor(
      () => slack.responses.some((r) => JSON.stringify(r).includes('6 → 2')),
      30_000,
      'the outcome at response_url',
    );

    // 2. Racing clicks, one at each replica, by two approvers.
    const ns2 = uniqueNs('race');
    await createDeployment(kube.client, ns2, 'cart', 5);
    const gen2 = await generation(ns2, 'cart');
    const id2 = await w.propose(ns2, 'cart', 5, 3);
    const [ca, cb] = await Promise.all([w.click(a, id2), w.click(b, id2, { user: BOB })]);
    assert.deepEqual([ca.status, cb.status], [200, 200]);
    const two = await w.ledger((ch) => {
      const ev = events(ch.get(id2));
      return ev.includes('verified') && ev.includes('ignored');
    });
    const chain2 = two.chains.get(id2)!;
    assert.equal(events(chain2).filter((e) => e === 'executed').length, 1, 'one execution');
    assert.equal(
      events(chain2).filter((e) => e === 'approved').length,
      1,
      'one approval; the other click is a duplicate',
    );
    assert.match(
      JSON.stringify(chain2.find((e) => e.event === 'ignored')!.detail),
      /already (approved|executed)/,
    );
    assert.equal(await replicasOf(kube.client, ns2, 'cart'), 3);
    assert.equal(await generation(ns2, 'cart'), gen2 + 1, 'one spec change');

    // 3. A forged click at a non-owner: 401 there, nothing forwarded.
    const ns3 = uniqueNs('forge');
    await createDeployment(kube.client, ns3, 'api', 4);
    const id3 = await w.propose(ns3, 'api', 4, 1);
    const nonOwner = (await ownerOf(id3)) === a ? b : a;
    const before = (await w.commandRecords()).length;
    const f = await w.click(nonOwner, id3, { signWith: 'not-the-secret', actionTs: '4242.4242' });
    assert.equal(f.status, 401);
    assert.match(await nonOwner.metrics(), /kubetriage_exec_forged_requests_total\{reason="mismatch"\} 1\b/);
    const after = await w.commandRecords();
    assert.equal(after.length, before, 'no command produced for a forged click');
    assert.ok(!after.some((r) => r.value?.toString().includes('4242.4242')));
    assert.equal(await replicasOf(kube.client, ns3, 'api'), 4);

    // 4. `kubetriage approve` at a non-owner: authenticated there (TokenReview), forwarded (202), and
    // authorised by the owner (SubjectAccessReview in the target namespace): a caller without the
    // binding is refused there, one with it approves; one execution.
    const ns4 = uniqueNs('api');
    await createDeployment(kube.client, ns4, 'search', 7);
    const gen4 = await generation(ns4, 'search');
    const allowed = await serviceAccountToken(kube.client, ns4, 'oncall');
    await bindApprover(kube.client, ns4, { namespace: ns4, name: 'oncall' });
    const denied = await serviceAccountToken(kube.client, ns4, 'intern');
    const id4 = await w.propose(ns4, 'search', 7, 4);
    const notOwner4 = (await ownerOf(id4)) === a ? b : a;
    const api = (token: string) =>
      fetch(`${notOwner4.base}/api/proposals/${id4}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { code: string } }));
    const refused = await api(denied.token);
    assert.equal(refused.status, 202);
    assert.equal(refused.body.code, 'forwarded');
    await w.ledger((ch) => events(ch.get(id4)).includes('refused'));
    assert.equal((await api(allowed.token)).status, 202);
    await waitFor(
      async () => (await replicasOf(kube.client, ns4, 'search')) === 4,
      60_000,
      'the API approval',
    );
    const four = await w.ledger((ch) => events(ch.get(id4)).includes('verified'));
    const chain4 = four.chains.get(id4)!;
    assert.deepEqual(events(chain4), [
      'proposed',
      'posted',
      'refused',
      'approved',
      'executing',
      'executed',
      'verified',
    ]);
    assert.match(
      String(chain4[2]!.detail.reason),
      /not allowed to approve proposals.kubetriage.io in namespace/,
    );
    assert.equal(chain4[3]!.actor, `k8s:${allowed.username}`);
    assert.equal(chain4[3]!.detail.receivedBy, `${hostname()}-${notOwner4.pid}`);
    assert.equal(await generation(ns4, 'search'), gen4 + 1);

    // 5. A clean hand-over: the owner of the first proposal stops (SIGTERM); the other replica gets its
    // partition, restores it, and a rollback of that proposal (state from the topic) runs there.
    const stopAt = performance.now();
    await owner.stop();
    assert.equal(owner.ended.reason(), 'exit 0', owner.stderr.join('').slice(-2000));
    t.diagnostic(`SIGTERM → exit 0 of the owner in ${((performance.now() - stopAt) / 1000).toFixed(1)} s`);
    await waitFor(
      async () => (await other.owned()).length === PARTITIONS,
      90_000,
      'the survivor owns every partition',
    );
    const rb = interaction({
      secret: SECRET,
      userId: APPROVER.id,
      username: APPROVER.username,
      actionId: ACTION_ROLLBACK,
      value: id,
      responseUrl: slack.responseUrl,
    });
    const rbRes = await fetch(`${other.base}/slack/interactions`, {
      method: 'POST',
      headers: rb.headers,
      body: rb.body,
    });
    assert.equal(rbRes.status, 200);
    await waitFor(async () => (await replicasOf(kube.client, ns, 'checkout')) === 6, 60_000, 'the rollback');
    const back = await w.ledger((ch) => events(ch.get(id)).includes('rolled_back'));
    assert.deepEqual(events(back.chains.get(id)).slice(-2), ['rollback_requested', 'rolled_back']);
    assert.equal(await generation(ns, 'checkout'), gen0 + 2, 'the scale and its rollback, nothing else');

    const all = await w.ledger(() => true);
    assert.deepEqual(all.verified.problems, [], 'every proposal chain on the topic verifies');
    assert.ok(all.verified.ok);
    const cli = w.verifyCli();
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^ok: .*: 4 proposals, \d+ entries/);
    assert.equal(
      other.ended.reason(),
      undefined,
      `replica still running: ${other.stderr.join('').slice(-2000)}`,
    );
  });

  test('topics that are not co-partitioned stop start-up with the fix', { timeout: 120_000 }, async () => {
    const w = await world();
    await createTopics([w.commands], PARTITIONS);
    await createTopics([w.proposals], PARTITIONS + 1);
    await assert.rejects(w.startReplica(), (err: Error) => {
      assert.match(err.message, /run ended \(exit [1-9]/);
      assert.match(
        err.message,
        new RegExp(
          `${w.commands} has ${PARTITIONS} partitions but ${w.proposals} has ${PARTITIONS + 1}: they must be co-partitioned`,
        ),
      );
      return true;
    });
  });

  for (const hook of ['crash-before-scale-write', 'crash-after-scale-write'] as const)
    test(`a replica killed between approval and execution (${hook}): the replica that takes over completes it exactly once, skips foreign records, and the chains verify`, {
      timeout: 300_000,
    }, async (t) => {
      const w = await world();
      // This one kills itself (SIGKILL) right before / right after its scale write; its `executing`
      // intent is on the topic either way, its outcome never is.
      const doomed = await w.startReplica({ KUBETRIAGE_TEST_HOOK: hook });
      await waitFor(async () => (await doomed.owned()).length === PARTITIONS, 90_000, 'all partitions owned');
      const ns = uniqueNs('fail');
      await createDeployment(kube.client, ns, 'payments', 8);
      const gen0 = await generation(ns, 'payments');
      const t0 = performance.now();
      const id = await w.propose(ns, 'payments', 8, 3);
      assert.equal((await w.click(doomed, id)).status, 200);
      await doomed.ended.done;
      assert.equal(doomed.ended.reason(), 'signal SIGKILL');
      const wrote = hook === 'crash-after-scale-write';
      assert.equal(await replicasOf(kube.client, ns, 'payments'), wrote ? 3 : 8);
      const left = await w.ledger((ch) => events(ch.get(id)).includes('executing'));
      assert.deepEqual(events(left.chains.get(id)), ['proposed', 'posted', 'approved', 'executing']);

      // Foreign and damaged records on both topics: skipped (counted), never a crash loop.
      const p = partitionOf(id, PARTITIONS);
      const real = left.records.filter((r) => r.key?.toString() === id).at(-1)!;
      const tampered = JSON.parse(real.value!.toString()) as { proposal: string; entries: AuditEntry[] };
      tampered.proposal = 'forged-proposal';
      for (const e of tampered.entries) e.proposal = 'forged-proposal';
      await produce(w.proposals, [
        { key: 'junk', partition: p, value: Buffer.from('not json {') },
        {
          key: 'foreign',
          partition: p,
          value: Buffer.from(JSON.stringify({ schema: 'someone-else/v9', x: 1 })),
        },
        { key: 'forged-proposal', partition: p, value: Buffer.from(JSON.stringify(tampered)) },
        // Hashes that hold around a proposal the state machine cannot use (no target): this one used
        // to throw inside the restore, which then retried forever.
        { key: 'hollow', partition: p, value: hollowRecord() },
      ]);
      await produce(w.commands, [{ key: id, partition: p, value: Buffer.from('not a command') }]);

      // The survivor takes the partitions over (after the dead member's session times out), restores
      // the proposal from the topic and completes the approval.
      const next = await w.startReplica();
      const done = await w.ledger((ch) => events(ch.get(id)).includes('verified'));
      const chain = done.chains.get(id)!;
      // The click's command was never committed by the dead owner: the survivor reads it again and,
      // the proposal being approved already, ignores it (idempotent), in whatever order with the resume.
      const ignored = chain.filter((e) => e.event === 'ignored');
      assert.equal(ignored.length, 1);
      assert.match(String(ignored[0]!.detail.reason), /already (approved|executed)/);
      assert.deepEqual(
        events(chain).filter((e) => e !== 'ignored'),
        [
          'proposed',
          'posted',
          'approved',
          'executing',
          ...(wrote ? [] : ['executing']),
          'executed',
          'verified',
        ],
      );
      t.diagnostic(
        `${hook}: click → executed after failover in ${((performance.now() - t0) / 1000).toFixed(1)} s (session timeout 6 s)`,
      );
      const executed = chain.find((e) => e.event === 'executed')!;
      assert.equal(executed.detail.replica, `${hostname()}-${next.pid}`);
      assert.equal(replicaName(chain, 'approved'), `${hostname()}-${doomed.pid}`);
      // After the write: found applied, recorded, not written again.
      assert.equal(typeof executed.detail.recovered === 'string', wrote);
      assert.equal(await replicasOf(kube.client, ns, 'payments'), 3);
      const m = await next.metrics();
      assert.match(m, /kubetriage_exec_resumed_total 1\b/);
      const restoreSum = Number(/kubetriage_exec_restore_seconds_sum (\S+)/.exec(m)?.[1]);
      const restoreCount = Number(/kubetriage_exec_restore_seconds_count (\S+)/.exec(m)?.[1]);
      const restoreRecords = Number(/^kubetriage_exec_restore_records_total (\S+)$/m.exec(m)?.[1]);
      t.diagnostic(
        `${hook}: ${restoreCount} restore(s), ${restoreRecords} records, ${((restoreSum / restoreCount) * 1000).toFixed(0)} ms each on average`,
      );
      assert.match(m, /kubetriage_exec_restore_records_total [1-9]/);
      assert.match(m, /kubetriage_exec_proposal_records_skipped_total\{reason="not_json"\} 1\b/);
      assert.match(m, /kubetriage_exec_proposal_records_skipped_total\{reason="foreign"\} 1\b/);
      assert.match(m, /kubetriage_exec_proposal_records_skipped_total\{reason="broken_chain"\} 2\b/);
      assert.match(
        m,
        /kubetriage_exec_commands_decided_total\{type="unknown",result="skipped_not_json"\} 1\b/,
      );
      // A replica joining later (a rebalance, another restore) changes nothing.
      const late = await w.startReplica();
      await waitFor(
        async () => (await late.owned()).length === 1,
        90_000,
        'the third replica gets a partition',
      );
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(await replicasOf(kube.client, ns, 'payments'), 3);
      assert.equal(
        await generation(ns, 'payments'),
        gen0 + 1,
        'one spec change across the crash and two takeovers',
      );
      const final = await w.ledger(() => true);
      assert.equal(
        events(final.chains.get(id)).filter((e) => e === 'executed').length,
        1,
        'executed exactly once',
      );
      // The verifier names exactly the four records that are not ours, tampered with or unusable.
      assert.deepEqual(final.verified.problems.map((x) => x.reason.split(':')[0]).sort(), [
        'broken_chain',
        'broken_chain',
        'foreign',
        'not_json',
      ]);
      const cli = w.verifyCli();
      assert.equal(cli.status, 1);
      assert.match(cli.stderr, /4 bad records; 1 proposals verify/);
      assert.match(cli.stderr, /does not hold this proposal/);
      assert.match(cli.stderr, /broken_chain: entry 1: hash does not match/);
      for (const r of [next, late]) assert.equal(r.ended.reason(), undefined, r.stderr.join('').slice(-2000));
    });
});

/** A chain whose hashes verify around a `proposed` entry without a usable proposal, then `executed`. */
function hollowRecord(): Buffer {
  const at = new Date().toISOString();
  const e1 = sealEntry(
    {
      actor: 'kubetriage',
      event: 'proposed',
      incident: 'inc-x',
      proposal: 'hollow',
      detail: { proposal: { id: 'hollow' } },
    },
    1,
    GENESIS,
    at,
  );
  const e2 = sealEntry(
    {
      actor: 'kubetriage',
      event: 'executed',
      incident: 'inc-x',
      proposal: 'hollow',
      detail: { dryRun: false },
    },
    2,
    e1.hash,
    at,
  );
  return encodeProposalRecord('hollow', [e1, e2]);
}
